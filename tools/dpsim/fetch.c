/*
 * fetch.c - downloading a weights file with libcurl into a temporary file
 * next to the destination, checking its sha256 prefix, then renaming it.
 * libcurl is loaded when a download starts (dlopen), not linked: it pulls in
 * some 30 libraries whose loading cost every dpsim run about 6 ms. Built
 * without libcurl's header, fetch_available() says so and nothing downloads.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifdef DPSIM_HAVE_CURL
#include <curl/curl.h>

int fetch_available(void) { return 1; }

/* The libcurl functions fetch_url calls (the soname of libcurl4's ABI). */
typedef struct curl_api {
    void *lib;
    CURL *(*init)(void);
    CURLcode (*setopt)(CURL *, CURLoption, ...);
    CURLcode (*perform)(CURL *);
    void (*cleanup)(CURL *);
    const char *(*strerror)(CURLcode);
} curl_api;

/* Load libcurl once; it stays loaded for the process, as a linked library would. */
static const curl_api *curl_get(char *err, size_t err_len)
{
    static curl_api loaded, *api;
    if (api)
        return api;
    loaded.lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!loaded.lib) {
        snprintf(err, err_len, "cannot download: libcurl is not installed (%s); install "
                 "libcurl4 or put the weights files in $DPSIM_WEIGHTS by hand", dlerror());
        return NULL;
    }
    /* POSIX: a data pointer from dlsym converts to a function pointer through memcpy */
    void *sym[5];
    static const char *const names[5] = {"curl_easy_init", "curl_easy_setopt",
                                         "curl_easy_perform", "curl_easy_cleanup",
                                         "curl_easy_strerror"};
    for (int i = 0; i < 5; i++)
        if (!(sym[i] = dlsym(loaded.lib, names[i]))) {
            snprintf(err, err_len, "cannot download: libcurl.so.4 lacks %s", names[i]);
            dlclose(loaded.lib);
            return NULL;
        }
    memcpy(&loaded.init, &sym[0], sizeof sym[0]);
    memcpy(&loaded.setopt, &sym[1], sizeof sym[1]);
    memcpy(&loaded.perform, &sym[2], sizeof sym[2]);
    memcpy(&loaded.cleanup, &sym[3], sizeof sym[3]);
    memcpy(&loaded.strerror, &sym[4], sizeof sym[4]);
    return api = &loaded;
}

int fetch_url(const char *url, const char *path, const char *sha256_prefix, char *err,
              size_t err_len)
{
    const curl_api *api = curl_get(err, err_len);
    if (!api)
        return -1;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.part-XXXXXX", path) >= (int)sizeof tmp) {
        snprintf(err, err_len, "'%s': path too long", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, err_len, "'%s': cannot create a file there: %s", path, strerror(errno));
        return -1;
    }
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        close(fd);
        unlink(tmp);
        snprintf(err, err_len, "'%s': %s", path, strerror(errno));
        return -1;
    }
    CURL *curl = api->init();
    CURLcode rc = CURLE_FAILED_INIT;
    char curl_err[CURL_ERROR_SIZE] = "";
    if (curl) {
        api->setopt(curl, CURLOPT_URL, url);
        api->setopt(curl, CURLOPT_WRITEDATA, fp);
        api->setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
        api->setopt(curl, CURLOPT_FAILONERROR, 1L);
        api->setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
        api->setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
        api->setopt(curl, CURLOPT_USERAGENT, "dpsim");
        rc = api->perform(curl);
        api->cleanup(curl);
    }
    int write_failed = fclose(fp) != 0;
    if (rc != CURLE_OK || write_failed) {
        unlink(tmp);
        snprintf(err, err_len, "cannot download %s: %s", url,
                 rc != CURLE_OK ? (curl_err[0] ? curl_err : api->strerror(rc))
                                : "write failed");
        return -1;
    }
    dpsim_ctx *ctx = NULL;
    char hex[65];
    int ok = dpsim_ctx_create(&ctx, NULL) == DPSIM_OK &&
             dpsim_file_sha256(ctx, tmp, hex) == DPSIM_OK;
    dpsim_ctx_free(ctx);
    if (!ok || strncmp(hex, sha256_prefix, strlen(sha256_prefix)) != 0) {
        unlink(tmp);
        snprintf(err, err_len, "%s: downloaded file has sha256 %.16s..., expected %s...; not kept",
                 url, ok ? hex : "(unreadable)", sha256_prefix);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        snprintf(err, err_len, "'%s': cannot rename the download: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
#else
int fetch_available(void) { return 0; }

int fetch_url(const char *url, const char *path, const char *sha256_prefix, char *err,
              size_t err_len)
{
    (void)path;
    (void)sha256_prefix;
    snprintf(err, err_len, "cannot download %s: this dpsim was built without libcurl", url);
    return -1;
}
#endif
