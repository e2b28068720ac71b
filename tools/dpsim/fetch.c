/*
 * fetch.c - downloading a weights file with libcurl into a temporary file
 * next to the destination, checking its sha256 prefix, then renaming it.
 * Built without libcurl, fetch_available() says so and nothing downloads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifdef DPSIM_HAVE_CURL
#include <curl/curl.h>

int fetch_available(void) { return 1; }

int fetch_url(const char *url, const char *path, const char *sha256_prefix, char *err,
              size_t err_len)
{
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
    CURL *curl = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;
    char curl_err[CURL_ERROR_SIZE] = "";
    if (curl) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, fp);
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 20L);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "dpsim");
        rc = curl_easy_perform(curl);
        curl_easy_cleanup(curl);
    }
    int write_failed = fclose(fp) != 0;
    if (rc != CURLE_OK || write_failed) {
        unlink(tmp);
        snprintf(err, err_len, "cannot download %s: %s", url,
                 rc != CURLE_OK ? (curl_err[0] ? curl_err : curl_easy_strerror(rc))
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
