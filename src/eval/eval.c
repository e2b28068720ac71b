/*
 * eval.c - distances and scores of a BAPPS dataset: every image decoded and
 * its features extracted once per item (2AFC: the reference is shared by
 * p0 and p1), then scored per category with the SPEC section 6 scorers.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"

/* Decode and extract one image; *size_of is the size the item's images must share. */
static dpsim_status load_features(dpsim_ctx *ctx, const dpsim_model *m, const char *path,
                                  const char *first, int *w, int *h, dpsim_features **out)
{
    dpsim_image *img;
    dpsim_status s = dpsim_image_read(ctx, path, &img);
    if (s != DPSIM_OK)
        return s;
    if (*w && (img->width != *w || img->height != *h)) {
        s = ctx_fail(ctx, DPSIM_E_SHAPE, "image '%s' is %dx%d but '%s' is %dx%d, expected "
                     "equal sizes within an item", path, img->width, img->height, first, *w, *h);
        dpsim_image_free(img);
        return s;
    }
    *w = img->width;
    *h = img->height;
    s = dpsim_extract(ctx, m, img->pixels, img->width, img->height, out);
    if (s != DPSIM_OK) {
        char detail[ERRBUF_LEN];
        snprintf(detail, sizeof detail, "%s", dpsim_ctx_last_error(ctx));
        s = ctx_fail(ctx, s, "image '%s': %s", path, detail);
    }
    dpsim_image_free(img);
    return s;
}

/* d[k] = distance(f[0], f[k + 1]) for k < n_pairs */
static dpsim_status item_distances(dpsim_ctx *ctx, const dpsim_model *m,
                                   const dpsim_dataset_item *it, double *d)
{
    const char *paths[3] = {it->ref, it->p0, it->p1};
    const int first = it->ref ? 0 : 1, n_pairs = it->ref ? 2 : 1;
    dpsim_features *f[3] = {NULL, NULL, NULL};
    int w = 0, h = 0;
    dpsim_status s = DPSIM_OK;
    for (int k = first; k < 3 && s == DPSIM_OK; k++)
        s = load_features(ctx, m, paths[k], paths[first], &w, &h, &f[k]);
    for (int k = 0; k < n_pairs && s == DPSIM_OK; k++)
        s = dpsim_compare(ctx, m, f[first], f[first + 1 + k], &d[k], NULL, NULL);
    for (int k = 0; k < 3; k++)
        dpsim_features_free(f[k]);
    return s;
}

dpsim_status dpsim_dataset_distances(dpsim_ctx *ctx, const dpsim_model *model,
                                     const dpsim_dataset *ds, double *distances,
                                     dpsim_progress_fn progress, void *user)
{
    ctx_clear(ctx);
    if (!model || !ds || !distances)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_dataset_distances: NULL argument");
    const size_t n = dpsim_dataset_size(ds);
    const int per = dpsim_dataset_get_kind(ds) == DPSIM_DATASET_2AFC ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        dpsim_dataset_item it;
        dpsim_dataset_item_get(ds, i, &it);
        dpsim_status s = item_distances(ctx, model, &it, distances + (size_t)per * i);
        if (s != DPSIM_OK)
            return s;
        if (progress)
            progress(user, i + 1, n);
    }
    return DPSIM_OK;
}

/* score of the items i with keep(i); d (n, per) */
static dpsim_status score_subset(const dpsim_dataset *ds, const double *d, int category,
                                 double *work, double *score)
{
    const size_t n = dpsim_dataset_size(ds);
    const int afc = dpsim_dataset_get_kind(ds) == DPSIM_DATASET_2AFC;
    double *d0 = work, *d1 = work + n, *judge = work + 2 * n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        dpsim_dataset_item it;
        dpsim_dataset_item_get(ds, i, &it);
        if (category >= 0 && it.category != category)
            continue;
        d0[m] = afc ? d[2 * i] : d[i];
        d1[m] = afc ? d[2 * i + 1] : 0.0;
        judge[m++] = it.judge;
    }
    return afc ? dpsim_score_2afc(d0, d1, judge, m, score) : dpsim_score_jnd(d0, judge, m, score);
}

dpsim_status dpsim_dataset_score(dpsim_ctx *ctx, const dpsim_dataset *ds, const double *distances,
                                 double *per_category, double *overall, double *pooled)
{
    ctx_clear(ctx);
    if (!ds || !distances || !per_category || !overall || !pooled)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_dataset_score: NULL argument");
    const size_t n = dpsim_dataset_size(ds);
    double *work = dp_malloc(3 * n * sizeof(double)); // (3, n): d0, d1, judge
    if (!work)
        return ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory");
    double sum = 0.0;
    dpsim_status s = DPSIM_OK;
    const int nc = dpsim_dataset_n_categories(ds);
    for (int c = 0; c < nc && s == DPSIM_OK; c++) {
        s = score_subset(ds, distances, c, work, &per_category[c]);
        if (s != DPSIM_OK)
            ctx_fail(ctx, s, "category '%s': cannot be scored (NaN distances, or no pair "
                     "judged the same for JND)", dpsim_dataset_category(ds, c));
        else
            sum += per_category[c];
    }
    if (s == DPSIM_OK && (s = score_subset(ds, distances, -1, work, pooled)) != DPSIM_OK)
        ctx_fail(ctx, s, "dataset: cannot be scored");
    dp_free(work);
    if (s == DPSIM_OK)
        *overall = sum / nc;
    return s;
}
