/*
 * dataset.c - list a BAPPS 2AFC or JND folder (SPEC section 6): categories
 * found at depth 0, 1 or 2, files sorted by name (never directory order),
 * each item's partner files checked and its judgment read up front.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "eval/evalint.h"

struct dpsim_dataset {
    dpsim_dataset_kind kind;
    size_t n, cap;
    char **path;       /* (n, 3): ref (NULL for JND), p0, p1 */
    double *judge;     /* (n) */
    int *category;     /* (n) */
    int n_cat;
    char **cat_name;   /* (n_cat) */
};

static const char *judge_dir(dpsim_dataset_kind k) { return k == DPSIM_DATASET_2AFC ? "judge" : "same"; }

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *s = dp_malloc(n);
    if (s)
        snprintf(s, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dp_free(names[i]);
    dp_free(names);
}

/* Sorted entry names of dir (no "." entries); dirs_only keeps folders, else regular files. */
static dpsim_status list_dir(const char *dir, int dirs_only, char ***out, size_t *count,
                             errbuf *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_set(e, DPSIM_E_IO, "folder '%s': cannot open it", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    dpsim_status s = DPSIM_OK;
    for (struct dirent *ent; s == DPSIM_OK && (ent = readdir(d));) {
        if (ent->d_name[0] == '.')
            continue;
        char *full = join(dir, ent->d_name, NULL);
        if (!full) {
            s = err_set(e, DPSIM_E_NOMEM, "out of memory");
            break;
        }
        int keep = dirs_only ? is_dir(full) : is_file(full);
        dp_free(full);
        if (!keep)
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **grown = dp_realloc(names, ncap * sizeof *names);
            if (!grown) {
                s = err_set(e, DPSIM_E_NOMEM, "out of memory");
                break;
            }
            names = grown;
            cap = ncap;
        }
        if (!(names[n] = dp_strdup(ent->d_name)))
            s = err_set(e, DPSIM_E_NOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (s != DPSIM_OK) {
        free_names(names, n);
        return s;
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    *count = n;
    return DPSIM_OK;
}

static int is_category(const char *dir, dpsim_dataset_kind kind)
{
    char *p0 = join(dir, "p0", NULL), *j = join(dir, judge_dir(kind), NULL);
    int yes = p0 && j && is_dir(p0) && is_dir(j);
    dp_free(p0);
    dp_free(j);
    return yes;
}

static int has_image_ext(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0)
            return 1;
    return 0;
}

static dpsim_status add_category_name(dpsim_dataset *ds, const char *name, errbuf *e)
{
    char **grown = dp_realloc(ds->cat_name, (size_t)(ds->n_cat + 1) * sizeof *grown);
    if (!grown)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    ds->cat_name = grown;
    if (!(grown[ds->n_cat] = dp_strdup(name)))
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    ds->n_cat++;
    return DPSIM_OK;
}

static dpsim_status read_judgment(const char *path, double *out, errbuf *e)
{
    double v[2];
    size_t n;
    dpsim_ctx tmp = {0};
    dpsim_status s = dpsim_npy_read(&tmp, path, v, 2, &n);
    if (s != DPSIM_OK)
        return err_set(e, s, "%s", dpsim_ctx_last_error(&tmp));
    if (n != 1 || !(v[0] >= 0.0 && v[0] <= 1.0))
        return err_set(e, DPSIM_E_FORMAT, "judgment '%s': %s, expected one value in [0, 1]",
                       path, n != 1 ? "not exactly one value" : "value outside [0, 1]");
    *out = v[0];
    return DPSIM_OK;
}

static dpsim_status add_item(dpsim_dataset *ds, char *paths[3], double judge, errbuf *e)
{
    if (ds->n == ds->cap) {
        size_t cap = ds->cap ? 2 * ds->cap : 256;
        char **p = dp_realloc(ds->path, 3 * cap * sizeof *p);
        if (p)
            ds->path = p;
        double *j = p ? dp_realloc(ds->judge, cap * sizeof *j) : NULL;
        if (j)
            ds->judge = j;
        int *c = j ? dp_realloc(ds->category, cap * sizeof *c) : NULL;
        if (!c)
            return err_set(e, DPSIM_E_NOMEM, "out of memory");
        ds->category = c;
        ds->cap = cap;
    }
    memcpy(ds->path + 3 * ds->n, paths, 3 * sizeof *paths);
    ds->judge[ds->n] = judge;
    ds->category[ds->n] = ds->n_cat - 1;
    ds->n++;
    return DPSIM_OK;
}

/* The items of one category folder. */
static dpsim_status scan_category(dpsim_dataset *ds, const char *dir, const char *name,
                                  errbuf *e)
{
    dpsim_status s = add_category_name(ds, name, e);
    char *p0dir = s == DPSIM_OK ? join(dir, "p0", NULL) : NULL;
    char **files = NULL;
    size_t n = 0;
    if (s == DPSIM_OK)
        s = p0dir ? list_dir(p0dir, 0, &files, &n, e) : err_set(e, DPSIM_E_NOMEM, "out of memory");
    dp_free(p0dir);
    size_t before = ds->n;
    for (size_t i = 0; s == DPSIM_OK && i < n; i++) {
        if (!has_image_ext(files[i]))
            continue;
        char stem[1024];
        snprintf(stem, sizeof stem, "%.*s", (int)(strrchr(files[i], '.') - files[i]), files[i]);
        char *paths[3] = {NULL, NULL, NULL};
        static const char *const sub[3] = {"ref", "p0", "p1"};
        for (int k = ds->kind == DPSIM_DATASET_2AFC ? 0 : 1; k < 3 && s == DPSIM_OK; k++) {
            char *sd = join(dir, sub[k], NULL);
            paths[k] = sd ? join(sd, files[i], NULL) : NULL;
            dp_free(sd);
            if (!paths[k])
                s = err_set(e, DPSIM_E_NOMEM, "out of memory");
            else if (!is_file(paths[k]))
                s = err_set(e, DPSIM_E_NOT_FOUND, "dataset '%s': '%s' has no partner '%s'",
                            dir, files[i], paths[k]);
        }
        char npy[1100];
        snprintf(npy, sizeof npy, "%s.npy", stem);
        char *jpath = s == DPSIM_OK ? join(dir, judge_dir(ds->kind), npy) : NULL;
        double judge = 0.0;
        if (s == DPSIM_OK && !jpath)
            s = err_set(e, DPSIM_E_NOMEM, "out of memory");
        else if (s == DPSIM_OK && !is_file(jpath))
            s = err_set(e, DPSIM_E_NOT_FOUND, "dataset '%s': '%s' has no judgment '%s'", dir,
                        files[i], jpath);
        if (s == DPSIM_OK)
            s = read_judgment(jpath, &judge, e);
        dp_free(jpath);
        if (s == DPSIM_OK)
            s = add_item(ds, paths, judge, e);
        if (s != DPSIM_OK)
            for (int k = 0; k < 3; k++)
                dp_free(paths[k]);
    }
    free_names(files, n);
    if (s == DPSIM_OK && ds->n == before)
        s = err_set(e, DPSIM_E_NOT_FOUND, "dataset '%s': no images in '%s/p0', expected "
                    "p0/NAME.png with partners and a judgment", dir, dir);
    return s;
}

/* Categories under dir at depth 1 and 2 (prefix: the name so far). */
static dpsim_status scan_tree(dpsim_dataset *ds, const char *dir, const char *prefix, int depth,
                              errbuf *e)
{
    if (is_category(dir, ds->kind))
        return scan_category(ds, dir, prefix[0] ? prefix : ".", e);
    if (depth == 2)
        return DPSIM_OK;
    char **subs = NULL;
    size_t n = 0;
    dpsim_status s = list_dir(dir, 1, &subs, &n, e);
    for (size_t i = 0; s == DPSIM_OK && i < n; i++) {
        char *full = join(dir, subs[i], NULL), name[1024];
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "/" : "", subs[i]);
        s = full ? scan_tree(ds, full, name, depth + 1, e) : err_set(e, DPSIM_E_NOMEM, "out of memory");
        dp_free(full);
    }
    free_names(subs, n);
    return s;
}

void dpsim_dataset_free(dpsim_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < 3 * ds->n; i++)
        dp_free(ds->path[i]);
    free_names(ds->cat_name, (size_t)ds->n_cat);
    dp_free(ds->path);
    dp_free(ds->judge);
    dp_free(ds->category);
    dp_free(ds);
}

dpsim_status dpsim_dataset_open(dpsim_ctx *ctx, dpsim_dataset_kind kind, const char *dir,
                                dpsim_dataset **out)
{
    ctx_clear(ctx);
    if (!dir || !out || (kind != DPSIM_DATASET_2AFC && kind != DPSIM_DATASET_JND))
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_dataset_open: invalid argument");
    if (!is_dir(dir))
        return ctx_fail(ctx, DPSIM_E_IO, "dataset '%s': not a folder", dir);
    dpsim_dataset *ds = dp_calloc(1, sizeof *ds);
    if (!ds)
        return ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory");
    ds->kind = kind;
    errbuf e = {{0}};
    dpsim_status s = scan_tree(ds, dir, "", 0, &e);
    if (s == DPSIM_OK && ds->n_cat == 0)
        s = err_set(&e, DPSIM_E_NOT_FOUND,
                    "dataset '%s': no %s category, expected p0/ and %s/ in it or in its "
                    "subfolders (BAPPS layout: %s)",
                    dir, kind == DPSIM_DATASET_2AFC ? "2AFC" : "JND", judge_dir(kind),
                    kind == DPSIM_DATASET_2AFC ? "CAT/{ref,p0,p1}/NAME.png, CAT/judge/NAME.npy"
                                               : "CAT/{p0,p1}/NAME.png, CAT/same/NAME.npy");
    if (s != DPSIM_OK) {
        dpsim_dataset_free(ds);
        return ctx_fail_err(ctx, s, &e);
    }
    *out = ds;
    return DPSIM_OK;
}

dpsim_dataset_kind dpsim_dataset_get_kind(const dpsim_dataset *ds) { return ds->kind; }
size_t dpsim_dataset_size(const dpsim_dataset *ds) { return ds ? ds->n : 0; }
int dpsim_dataset_n_categories(const dpsim_dataset *ds) { return ds ? ds->n_cat : 0; }

const char *dpsim_dataset_category(const dpsim_dataset *ds, int i)
{
    return ds && i >= 0 && i < ds->n_cat ? ds->cat_name[i] : NULL;
}

dpsim_status dpsim_dataset_item_get(const dpsim_dataset *ds, size_t i, dpsim_dataset_item *out)
{
    if (!ds || !out || i >= ds->n)
        return DPSIM_E_INVAL;
    out->category = ds->category[i];
    out->ref = ds->path[3 * i];
    out->p0 = ds->path[3 * i + 1];
    out->p1 = ds->path[3 * i + 2];
    out->judge = ds->judge[i];
    return DPSIM_OK;
}
