/*
 * sources.c - command-line inputs to batch items (see sources.h).
 */
#include "sources.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"

int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int is_feature_file(const char *path)
{
    char magic[DPSIM_FEATFILE_MAGIC_LEN];
    struct stat st; /* only regular files: opening a FIFO would block */
    FILE *fp = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    if (!fp)
        return 0;
    int yes = fread(magic, 1, sizeof magic, fp) == sizeof magic &&
              memcmp(magic, DPSIM_FEATFILE_MAGIC, sizeof magic) == 0;
    fclose(fp);
    return yes;
}

// ---- directories ----

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static int list_push(name_list *l, char *s)
{
    if (!s)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return 0;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 1;
}

static void list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int has_image_extension(const char *name)
{
    static const char *const exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return 1;
    return 0;
}

char *path_join(const char *a, const char *b)
{
    if (!*a)
        return strdup(b);
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (s) {
        memcpy(s, a, la);
        s[la] = '/';
        memcpy(s + la + 1, b, lb + 1);
    }
    return s;
}

/* Image files under root/rel (hidden entries skipped; symlinked folders not followed). */
static int walk(const char *root, const char *rel, name_list *out)
{
    char *dir_path = *rel ? path_join(root, rel) : strdup(root);
    DIR *d = dir_path ? opendir(dir_path) : NULL;
    if (!d) {
        cli_error("folder '%s': %s", dir_path ? dir_path : root,
                  dir_path ? strerror(errno) : "out of memory");
        free(dir_path);
        return EXIT_DATA;
    }
    int rc = EXIT_OK;
    struct dirent *e;
    while (rc == EXIT_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *full = path_join(dir_path, e->d_name), *sub = path_join(rel, e->d_name);
        struct stat st;
        if (!full || !sub) {
            cli_error("out of memory listing '%s'", dir_path);
            rc = EXIT_DATA;
        } else if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = walk(root, sub, out);
        } else if (has_image_extension(e->d_name)) {
            if (!list_push(out, sub)) {
                cli_error("out of memory listing '%s'", dir_path);
                rc = EXIT_DATA;
            }
            sub = NULL;
        }
        free(full);
        free(sub);
    }
    closedir(d);
    free(dir_path);
    return rc;
}

int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_directory(batch *b, const char *dir, int relative, size_t *count)
{
    name_list names = {0};
    int rc = walk(dir, "", &names);
    if (rc == EXIT_OK && names.n == 0) {
        cli_error("folder '%s': no image files (png, jpg, jpeg, bmp, gif, webp) found", dir);
        rc = EXIT_DATA;
    }
    if (rc == EXIT_OK)
        qsort(names.v, names.n, sizeof *names.v, compare_strings);
    for (size_t i = 0; rc == EXIT_OK && i < names.n; i++) {
        char *path = path_join(dir, names.v[i]);
        if (!path || batch_add_image(b, relative ? names.v[i] : path, path) == (size_t)-1) {
            cli_error("out of memory listing '%s'", dir);
            rc = EXIT_DATA;
        }
        free(path);
    }
    list_free(&names);
    *count = rc == EXIT_OK ? names.n : 0;
    return rc;
}

// ---- feature files ----

int load_feature_file(batch *b, dpsim_ctx *ctx, const char *path, dpsim_featfile **out)
{
    dpsim_featfile *ff;
    dpsim_status s = dpsim_featfile_read(ctx, path, &ff);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, "features");
    if ((s = dpsim_featfile_check(ctx, ff, b->model)) != DPSIM_OK) {
        cli_fail(ctx, s, "features");
        cli_hint("the file was made with: %s", dpsim_featfile_provenance(ff));
        dpsim_featfile_free(ff);
        return EXIT_DATA;
    }
    char prep[64];
    batch_prep(b, prep, sizeof prep);
    if (strcmp(prep, dpsim_featfile_prep(ff)) != 0) {
        cli_error("features '%s': made with %s, this run uses %s", path,
                  *dpsim_featfile_prep(ff) ? dpsim_featfile_prep(ff) : "images at their own size",
                  *prep ? prep : "images at their own size");
        cli_hint("--size WxH must match the one the features were made with");
        dpsim_featfile_free(ff);
        return EXIT_DATA;
    }
    if (!batch_adopt_file(b, ff)) {
        dpsim_featfile_free(ff);
        cli_error("out of memory");
        return EXIT_DATA;
    }
    *out = ff;
    return EXIT_OK;
}

static int add_feature_file(batch *b, dpsim_ctx *ctx, const char *path, int relative,
                            size_t *count)
{
    dpsim_featfile *ff;
    int rc = load_feature_file(b, ctx, path, &ff);
    if (rc != EXIT_OK)
        return rc;
    size_t n = dpsim_featfile_count(ff);
    for (size_t i = 0; i < n; i++) {
        const char *record = dpsim_featfile_name(ff, i);
        size_t len = strlen(path) + strlen(record) + 2;
        char *name = relative ? NULL : malloc(len);
        if (name)
            snprintf(name, len, "%s:%s", path, record);
        if ((!relative && !name) ||
            batch_add_features(b, relative ? record : name, dpsim_featfile_features(ff, i)) ==
                (size_t)-1) {
            free(name);
            cli_error("out of memory");
            return EXIT_DATA;
        }
        free(name);
    }
    *count = n;
    return EXIT_OK;
}

int source_add(batch *b, dpsim_ctx *ctx, const char *arg, int relative, size_t *first,
               size_t *count)
{
    *first = b->n_items;
    *count = 0;
    if (is_directory(arg))
        return add_directory(b, arg, relative, count);
    if (is_feature_file(arg))
        return add_feature_file(b, ctx, arg, relative, count);
    if (batch_add_image(b, arg, arg) == (size_t)-1) {
        cli_error("out of memory");
        return EXIT_DATA;
    }
    *count = 1;
    return EXIT_OK;
}

int source_add_one_vs_many(batch *b, dpsim_ctx *ctx, const char *what, const char *one,
                           char *const *inputs, int n_inputs)
{
    size_t first, count;
    int rc = source_add(b, ctx, one, 1, &first, &count);
    if (rc == EXIT_OK && (first != 0 || count != 1)) {
        cli_error("%s '%s': holds %zu images, expected one", what, one, count);
        rc = EXIT_DATA;
    }
    for (int i = 0; i < n_inputs && rc == EXIT_OK; i++)
        if ((rc = source_add(b, ctx, inputs[i], n_inputs == 1, &first, &count)) == EXIT_OK)
            for (size_t k = 0; k < count && rc == EXIT_OK; k++)
                if (!batch_add_pair(b, 0, first + k))
                    rc = cli_fail(NULL, DPSIM_E_NOMEM, "pairs");
    return rc;
}

// ---- pairing by name ----

static const batch *sort_batch; /* qsort has no user pointer in C11 */

static int by_item_name(const void *x, const void *y)
{
    return strcmp(sort_batch->items[*(const size_t *)x].name,
                  sort_batch->items[*(const size_t *)y].name);
}

/* Item indices first..first+n sorted by name; NULL on OOM or a duplicate (reported). */
static size_t *sorted_range(const batch *b, size_t first, size_t n)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) {
        cli_error("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = first + i;
    sort_batch = b;
    qsort(idx, n, sizeof *idx, by_item_name);
    for (size_t i = 1; i < n; i++)
        if (strcmp(b->items[idx[i]].name, b->items[idx[i - 1]].name) == 0) {
            cli_error("'%s' appears twice on one side; names must be unique to pair them",
                      b->items[idx[i]].name);
            free(idx);
            return NULL;
        }
    return idx;
}

int pair_by_name(batch *b, size_t a0, size_t na, size_t b0, size_t nb, int keep_going,
                 size_t *unmatched)
{
    size_t *ia = sorted_range(b, a0, na), *ib = ia ? sorted_range(b, b0, nb) : NULL;
    if (!ib) {
        free(ia);
        return EXIT_DATA;
    }
    size_t i = 0, j = 0, lost = 0;
    int rc = EXIT_OK;
    while (rc == EXIT_OK && (i < na || j < nb)) {
        int cmp = i == na ? 1 : j == nb ? -1 : strcmp(b->items[ia[i]].name, b->items[ib[j]].name);
        if (cmp == 0) {
            if (!batch_add_pair(b, ia[i++], ib[j++])) {
                cli_error("out of memory");
                rc = EXIT_DATA;
            }
            continue;
        }
        const char *name = b->items[cmp < 0 ? ia[i] : ib[j]].name;
        cli_error("'%s' is only in the %s input, it has no partner", name,
                  cmp < 0 ? "first" : "second");
        lost++;
        cmp < 0 ? i++ : j++;
    }
    free(ia);
    free(ib);
    *unmatched = lost;
    if (rc == EXIT_OK && lost && !keep_going) {
        cli_hint("--keep-going scores the pairs found and exits with status 1");
        return EXIT_DATA;
    }
    if (rc == EXIT_OK && b->n_pairs == 0) {
        cli_error("no pairs: no name is in both inputs");
        return EXIT_DATA;
    }
    return rc;
}
