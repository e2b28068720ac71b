/*
 * manifest.c - a CSV manifest of pairs as batch items and pairs (see
 * manifest.h): each distinct entry becomes one item, extracted once, or
 * taken from a feature file when the entry is FILE:NAME.
 */
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "sources.h"

/* One CSV field starting at *p (RFC 4180); advances *p past it and its comma. */
static char *csv_field(const char **p)
{
    const char *s = *p;
    size_t cap = strlen(s) + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    if (*s == '"') {
        for (s++; *s; s++) {
            if (*s == '"' && s[1] == '"')
                out[n++] = *s++;
            else if (*s == '"') {
                s++;
                break;
            } else
                out[n++] = *s;
        }
    } else {
        while (*s && *s != ',')
            out[n++] = *s++;
    }
    if (*s == ',')
        s++;
    out[n] = '\0';
    *p = s;
    return out;
}

static char *resolve(const char *dir, const char *path)
{
    return path[0] == '/' || !*dir ? strdup(path) : path_join(dir, path);
}

typedef struct manifest_row {
    char *a, *b;
} manifest_row;

/* Item index of path in the sorted unique list (items were added in that order). */
static size_t find_item(char **unique, size_t n, size_t first, const char *path)
{
    char **hit = bsearch(&path, unique, n, sizeof *unique, compare_strings);
    return first + (size_t)(hit - unique);
}

static int read_rows(const char *path, manifest_row **rows_out, size_t *n_out)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        cli_error("manifest '%s': %s", path, strerror(errno));
        return EXIT_DATA;
    }
    char dir[4096] = "";
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    manifest_row *rows = NULL;
    size_t n = 0, cap = 0, line_no = 0;
    char line[8192];
    int rc = EXIT_OK;
    while (rc == EXIT_OK && fgets(line, sizeof line, fp)) {
        line_no++;
        if (!strchr(line, '\n') && !feof(fp)) {
            cli_error("manifest '%s' line %zu: longer than %zu bytes", path, line_no,
                      sizeof line - 2);
            rc = EXIT_DATA;
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line || (line_no == 1 && strcasecmp(line, "a,b") == 0))
            continue;
        const char *p = line;
        char *a = csv_field(&p), *bb = a ? csv_field(&p) : NULL;
        if (!a || !bb || !*a || !*bb || *p) {
            cli_error("manifest '%s' line %zu: '%s', expected two columns: image A,image B",
                      path, line_no, line);
            rc = EXIT_DATA;
        } else if (n == cap) {
            cap = cap ? 2 * cap : 64;
            manifest_row *r = realloc(rows, cap * sizeof *r);
            if (r) {
                rows = r;
            } else {
                cli_error("out of memory reading manifest '%s'", path);
                rc = EXIT_DATA;
            }
        }
        if (rc == EXIT_OK) {
            rows[n].a = resolve(dir, a);
            rows[n].b = resolve(dir, bb);
            n++;
        }
        free(a);
        free(bb);
    }
    fclose(fp);
    if (rc == EXIT_OK && n == 0) {
        cli_error("manifest '%s': no pairs, expected lines 'image A,image B'", path);
        rc = EXIT_DATA;
    }
    *rows_out = rows;
    *n_out = n;
    return rc;
}

typedef struct loaded_file {
    char *path;
    dpsim_featfile *ff;
} loaded_file;

/* The feature file at path, loaded once per manifest; NULL if it fails (reported). */
static dpsim_featfile *feature_file(batch *b, dpsim_ctx *ctx, const char *path,
                                    loaded_file **files, size_t *n_files)
{
    for (size_t i = 0; i < *n_files; i++)
        if (strcmp((*files)[i].path, path) == 0)
            return (*files)[i].ff;
    loaded_file *grown = realloc(*files, (*n_files + 1) * sizeof *grown);
    char *copy = strdup(path);
    dpsim_featfile *ff = NULL;
    if (grown)
        *files = grown;
    if (!grown || !copy) {
        free(copy);
        cli_error("out of memory");
        return NULL;
    }
    if (load_feature_file(b, ctx, path, &ff) != EXIT_OK) {
        free(copy);
        return NULL;
    }
    (*files)[(*n_files)++] = (loaded_file){copy, ff};
    return ff;
}

/*
 * One manifest entry as an item: an image file, or "FILE:NAME", the record
 * NAME of feature file FILE (tried when no file has the whole name).
 */
static int add_entry(batch *b, dpsim_ctx *ctx, const char *entry, loaded_file **files,
                     size_t *n_files)
{
    struct stat st;
    const char *colon = stat(entry, &st) == 0 ? NULL : strchr(entry, ':');
    for (; colon; colon = strchr(colon + 1, ':')) {
        char *file = strndup(entry, (size_t)(colon - entry));
        int is_ff = file && is_feature_file(file);
        dpsim_featfile *ff = is_ff ? feature_file(b, ctx, file, files, n_files) : NULL;
        free(file);
        if (!is_ff)
            continue;
        if (!ff)
            return EXIT_DATA;
        for (size_t i = 0; i < dpsim_featfile_count(ff); i++)
            if (strcmp(dpsim_featfile_name(ff, i), colon + 1) == 0)
                return batch_add_features(b, entry, dpsim_featfile_features(ff, i)) ==
                               (size_t)-1
                           ? cli_fail(NULL, DPSIM_E_NOMEM, "manifest")
                           : EXIT_OK;
        cli_error("manifest entry '%s': feature file has no record '%s'", entry, colon + 1);
        return EXIT_DATA;
    }
    return batch_add_image(b, entry, entry) == (size_t)-1 ? cli_fail(NULL, DPSIM_E_NOMEM,
                                                                      "manifest")
                                                          : EXIT_OK;
}

int manifest_add(batch *b, dpsim_ctx *ctx, const char *path)
{
    manifest_row *rows = NULL;
    size_t n = 0;
    int rc = read_rows(path, &rows, &n);
    char **unique = rc == EXIT_OK ? malloc(2 * n * sizeof *unique) : NULL;
    size_t n_unique = 0;
    for (size_t i = 0; unique && i < n; i++) {
        if (!rows[i].a || !rows[i].b) {
            free(unique);
            unique = NULL;
            break;
        }
        unique[n_unique++] = rows[i].a;
        unique[n_unique++] = rows[i].b;
    }
    if (rc == EXIT_OK && !unique) {
        cli_error("out of memory reading manifest '%s'", path);
        rc = EXIT_DATA;
    }
    if (rc == EXIT_OK) {
        qsort(unique, n_unique, sizeof *unique, compare_strings);
        size_t k = 0;
        for (size_t i = 0; i < n_unique; i++)
            if (k == 0 || strcmp(unique[i], unique[k - 1]) != 0)
                unique[k++] = unique[i];
        n_unique = k;
        size_t first = b->n_items, n_files = 0;
        loaded_file *files = NULL;
        for (size_t i = 0; rc == EXIT_OK && i < n_unique; i++)
            rc = add_entry(b, ctx, unique[i], &files, &n_files);
        for (size_t i = 0; i < n_files; i++)
            free(files[i].path);
        free(files);
        for (size_t i = 0; rc == EXIT_OK && i < n; i++)
            if (!batch_add_pair(b, find_item(unique, n_unique, first, rows[i].a),
                                find_item(unique, n_unique, first, rows[i].b)))
                rc = cli_fail(NULL, DPSIM_E_NOMEM, "manifest");
    }
    free(unique);
    for (size_t i = 0; i < n; i++) {
        free(rows[i].a);
        free(rows[i].b);
    }
    free(rows);
    return rc;
}
