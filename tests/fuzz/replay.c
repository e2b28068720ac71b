/*
 * replay.c - a main() for the fuzz targets in ordinary builds: runs
 * LLVMFuzzerTestOneInput on every file of the folders or files given, so the
 * seed corpora (and every crash input added to them) are regression tests.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *bigger = realloc(buf, cap);
            if (!bigger)
                abort();
            buf = bigger;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int n = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *ent;
            while (d && (ent = readdir(d))) {
                if (ent->d_name[0] == '.')
                    continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], ent->d_name);
                failed |= run_file(path);
                n++;
            }
            if (d)
                closedir(d);
        } else {
            failed |= run_file(argv[i]);
            n++;
        }
    }
    printf("%d inputs replayed\n", n);
    return failed || n == 0;
}
