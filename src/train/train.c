/*
 * train.c - training the per-channel weights on 2AFC triplets (SPEC
 * section 7): features extracted once per image, the pair differences
 * cached (or, past the memory limit, recomputed per batch and epoch), then
 * the trainer's epochs with the LPIPS schedule.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "train/trainint.h"

void dpsim_train_options_init(dpsim_train_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->epochs = 5;
    opt->decay_epochs = 5;
    opt->batch = 50;
    opt->lr = 1e-4;
    opt->beta1 = 0.5;
    opt->beta2 = 0.999;
    opt->dropout = 0.5;
    opt->max_cache_gib = 16.0;
    opt->val_fraction = 0.1;
}

dpsim_status train_check_options(const dpsim_train_options *o, errbuf *e)
{
    if (!o || o->epochs < 0 || o->decay_epochs < 0 || o->epochs + o->decay_epochs < 1 ||
        o->epochs + o->decay_epochs > 100000 || o->batch < 1 || !(o->lr >= 0.0) ||
        !(o->beta1 >= 0.0 && o->beta1 < 1.0) || !(o->beta2 >= 0.0 && o->beta2 < 1.0) ||
        !(o->dropout >= 0.0 && o->dropout < 1.0) || !(o->max_cache_gib > 0.0) ||
        !(o->val_fraction >= 0.0 && o->val_fraction < 1.0))
        return err_set(e, DPSIM_E_INVAL, "training options out of range (epochs >= 0 with at "
                       "least one in all, batch >= 1, lr >= 0, betas and dropout in [0, 1), "
                       "cache > 0, validation fraction in [0, 1))");
    return DPSIM_OK;
}

// ---- caches ----

dpsim_status cache_add_triplet(const dpsim_model *m, const weight_layout *l,
                               const dpsim_features *x, const dpsim_features *x0,
                               const dpsim_features *x1, double h, int keep, double max_gib,
                               triplet_cache *c, errbuf *e)
{
    if (keep) {
        double bytes = 2.0 * (double)pair_diffs_elements(l, x) * sizeof(float) * (double)(c->n + 1);
        if (bytes > max_gib * 1073741824.0)
            return err_set(e, DPSIM_E_LIMIT, "training: the cached differences of %zu triplets "
                           "need more than the limit of %g GiB; raise the limit, use fewer "
                           "triplets or smaller images, or train without dropout", c->n + 1,
                           max_gib);
    }
    pair_diffs p0, p1;
    dpsim_status s = pair_diffs_compute(m, l, x, x0, keep, &p0, e);
    if (s != DPSIM_OK)
        return s;
    if ((s = pair_diffs_compute(m, l, x, x1, keep, &p1, e)) != DPSIM_OK) {
        pair_diffs_free(&p0);
        return s;
    }
    if ((s = triplet_cache_add(c, &p0, &p1, h, e)) != DPSIM_OK) {
        pair_diffs_free(&p0);
        pair_diffs_free(&p1);
    }
    return s;
}

/* read an image file and extract its features; errors name the file */
static dpsim_status file_features(dpsim_ctx *ctx, const dpsim_model *m, const char *path,
                                  dpsim_features **out)
{
    dpsim_image *img;
    dpsim_status s = dpsim_image_read(ctx, path, &img);
    if (s != DPSIM_OK)
        return s;
    s = dpsim_extract(ctx, m, img->pixels, img->width, img->height, out);
    if (s != DPSIM_OK) {
        char detail[ERRBUF_LEN];
        snprintf(detail, sizeof detail, "%s", dpsim_ctx_last_error(ctx));
        s = ctx_fail(ctx, s, "image '%s': %s", path, detail);
    }
    dpsim_image_free(img);
    return s;
}

/* One dataset item into c: its three images extracted once, its two pairs' differences. */
static dpsim_status cache_item(dpsim_ctx *ctx, const dpsim_model *m, const weight_layout *l,
                               const dpsim_dataset *ds, size_t i, int keep, double max_gib,
                               triplet_cache *c)
{
    dpsim_dataset_item it;
    dpsim_dataset_item_get(ds, i, &it);
    const char *paths[3] = {it.ref, it.p0, it.p1};
    dpsim_features *f[3] = {NULL, NULL, NULL};
    dpsim_status s = DPSIM_OK;
    for (int k = 0; k < 3 && s == DPSIM_OK; k++)
        s = file_features(ctx, m, paths[k], &f[k]);
    if (s == DPSIM_OK && (f[1]->width != f[0]->width || f[1]->height != f[0]->height ||
                          f[2]->width != f[0]->width || f[2]->height != f[0]->height))
        s = ctx_fail(ctx, DPSIM_E_SHAPE, "triplet '%s': images of different sizes, expected "
                     "equal sizes", it.ref);
    errbuf e = {{0}};
    if (s == DPSIM_OK &&
        (s = cache_add_triplet(m, l, f[0], f[1], f[2], it.judge, keep, max_gib, c, &e)) &&
        s != DPSIM_E_LIMIT)
        ctx_fail_err(ctx, s, &e);
    for (int k = 0; k < 3; k++)
        dpsim_features_free(f[k]);
    return s;
}

/* A training set read from a dataset; items[k] is the dataset index of cached triplet k. */
typedef struct dataset_cache {
    dpsim_ctx *ctx;
    const dpsim_model *m;
    const weight_layout *l;
    const dpsim_dataset *ds;
    triplet_cache c;
    size_t *items;
    int keep;   /* elements kept for dropout; 0 once they do not fit (streaming) */
    int stream; /* 1: every epoch refills its batches from the images */
} dataset_cache;

/*
 * Items of ds with pick[i] == want (all when pick is NULL) into dc. When the
 * elements would pass max_gib, those kept so far are dropped and the epochs
 * recompute each batch's elements from the images instead (streaming).
 */
static dpsim_status cache_dataset(dataset_cache *dc, const unsigned char *pick, int want,
                                  double max_gib, dpsim_progress_fn progress, void *user,
                                  size_t *done, size_t total)
{
    const size_t n = dpsim_dataset_size(dc->ds);
    dc->items = dp_malloc((n ? n : 1) * sizeof *dc->items);
    if (!dc->items)
        return ctx_fail(dc->ctx, DPSIM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (pick && pick[i] != want)
            continue;
        dpsim_status s = cache_item(dc->ctx, dc->m, dc->l, dc->ds, i, dc->keep, max_gib, &dc->c);
        if (s == DPSIM_E_LIMIT) {
            for (size_t k = 0; k < dc->c.n; k++) {
                dp_free(dc->c.p0[k].d);
                dp_free(dc->c.p1[k].d);
                dc->c.p0[k].d = dc->c.p1[k].d = NULL;
            }
            dc->keep = 0;
            dc->stream = 1;
            s = cache_item(dc->ctx, dc->m, dc->l, dc->ds, i, 0, max_gib, &dc->c);
        }
        if (s != DPSIM_OK)
            return s;
        dc->items[dc->c.n - 1] = i;
        if (progress)
            progress(user, ++*done, total);
    }
    return DPSIM_OK;
}

/* batch_source: a batch's items read again, elements included */
static dpsim_status refill(void *user, const size_t *idx, size_t n, triplet_cache *batch)
{
    dataset_cache *dc = user;
    dpsim_status s = DPSIM_OK;
    for (size_t k = 0; k < n && s == DPSIM_OK; k++)
        s = cache_item(dc->ctx, dc->m, dc->l, dc->ds, dc->items[idx[k]], 1, INFINITY, batch);
    return s;
}

int sync_wanted(const trainer *t, const triplet_cache *val, int *reached)
{
    if (!*reached && val && trainer_score(t, val) > 0.5)
        *reached = 1;
    return !*reached;
}

dpsim_status train_run(dpsim_ctx *ctx, trainer *t, const triplet_cache *train,
                       const batch_source *src, const triplet_cache *val, int sync,
                       dpsim_train_log_fn log, void *user)
{
    const int total = t->opt.epochs + t->opt.decay_epochs;
    int reached = !sync;
    for (int ep = 1; ep <= total; ep++) {
        dpsim_train_epoch rec = {ep, trainer_lr(&t->opt, ep), 0.0, 0.0, NAN, 0};
        rec.sync = sync_wanted(t, val, &reached);
        errbuf e = {{0}};
        dpsim_status s = trainer_epoch(t, train, src, rec.lr, rec.sync, &rec.loss, &e);
        if (s != DPSIM_OK)
            return src && !e.msg[0] ? s : ctx_fail_err(ctx, s, &e);
        rec.train_2afc = trainer_score(t, train);
        if (val)
            rec.val_2afc = trainer_score(t, val);
        if (log)
            log(user, &rec);
    }
    return DPSIM_OK;
}

dpsim_status dpsim_train_2afc(dpsim_ctx *ctx, const dpsim_model *model,
                              const dpsim_dataset *train, const dpsim_dataset *val,
                              const dpsim_train_options *opt, dpsim_train_log_fn log,
                              dpsim_progress_fn progress, void *user, dpsim_weights **out)
{
    ctx_clear(ctx);
    errbuf e = {{0}};
    if (!model || !train || !opt || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_train_2afc: NULL argument");
    if (dpsim_dataset_get_kind(train) != DPSIM_DATASET_2AFC ||
        (val && dpsim_dataset_get_kind(val) != DPSIM_DATASET_2AFC))
        return ctx_fail(ctx, DPSIM_E_INVAL, "training needs 2AFC datasets");
    dpsim_status s = train_check_options(opt, &e);
    trainer t;
    if (s == DPSIM_OK)
        s = trainer_init(&t, model, opt, opt->init_from_model, &e);
    if (s != DPSIM_OK)
        return ctx_fail_err(ctx, s, &e);
    const size_t n = dpsim_dataset_size(train);
    unsigned char *pick = NULL; /* 1 = held out for validation */
    if (!val && opt->val_fraction > 0.0) {
        size_t *order = dp_malloc(n * sizeof *order);
        pick = dp_calloc(n, 1);
        if (order && pick) {
            dpsim_rng rng;
            dpsim_rng_seed(&rng, opt->seed + 1);
            shuffle_indices(&rng, order, n);
            for (size_t i = 0; i < (size_t)floor(opt->val_fraction * (double)n); i++)
                pick[order[i]] = 1;
        }
        dp_free(order);
        if (!pick) {
            trainer_free(&t);
            return ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory");
        }
    }
    dataset_cache tc = {ctx, model, &t.layout, train, {0}, NULL, opt->dropout > 0.0, 0};
    dataset_cache vc = {ctx, model, &t.layout, val ? val : train, {0}, NULL, 0, 0};
    size_t done = 0, total = n + (val ? dpsim_dataset_size(val) : 0);
    s = cache_dataset(&tc, pick, 0, opt->max_cache_gib, progress, user, &done, total);
    if (s == DPSIM_OK)
        s = cache_dataset(&vc, val ? NULL : pick, 1, INFINITY, progress, user, &done, total);
    if (s == DPSIM_OK && tc.c.n == 0)
        s = ctx_fail(ctx, DPSIM_E_INVAL, "training: no training triplets left after holding "
                     "out the validation part");
    const batch_source src = {refill, &tc};
    if (s == DPSIM_OK)
        s = train_run(ctx, &t, &tc.c, tc.stream ? &src : NULL, (val || pick) ? &vc.c : NULL, 0,
                      log, user);
    if (s == DPSIM_OK && (s = weights_from_trainer(&t, model, out, &e)) != DPSIM_OK)
        ctx_fail_err(ctx, s, &e);
    dp_free(pick);
    triplet_cache_free(&tc.c);
    triplet_cache_free(&vc.c);
    dp_free(tc.items);
    dp_free(vc.items);
    trainer_free(&t);
    return s;
}

dpsim_status images_features(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_image_set *set,
                             dpsim_features ***out)
{
    dpsim_features **f = dp_calloc(set->n ? set->n : 1, sizeof *f);
    if (!f)
        return ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < set->n; i++) {
        dpsim_status s = dpsim_extract(ctx, m, set->pixels[i], set->width[i], set->height[i],
                                       &f[i]);
        if (s != DPSIM_OK) {
            features_free_all(f, set->n);
            return s;
        }
    }
    *out = f;
    return DPSIM_OK;
}

void features_free_all(dpsim_features **f, size_t n)
{
    for (size_t i = 0; f && i < n; i++)
        dpsim_features_free(f[i]);
    dp_free(f);
}

dpsim_status dpsim_train_triplets(dpsim_ctx *ctx, const dpsim_model *model,
                                  const dpsim_image_set *images, const size_t *triplets,
                                  const double *h, size_t n, const dpsim_train_options *opt,
                                  int sync, dpsim_train_log_fn log, void *user,
                                  dpsim_weights **out)
{
    ctx_clear(ctx);
    errbuf e = {{0}};
    if (!model || !images || !triplets || !h || !opt || !out || n == 0)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_train_triplets: NULL argument or no triplets");
    for (size_t i = 0; i < 3 * n; i++)
        if (triplets[i] >= images->n)
            return ctx_fail(ctx, DPSIM_E_INVAL, "triplet %zu: image index %zu, expected < %zu",
                            i / 3, triplets[i], images->n);
    for (size_t i = 0; i < n; i++)
        if (!(h[i] >= 0.0 && h[i] <= 1.0))
            return ctx_fail(ctx, DPSIM_E_INVAL, "triplet %zu: label %g, expected [0, 1]", i, h[i]);
    dpsim_status s = train_check_options(opt, &e);
    trainer t;
    if (s == DPSIM_OK)
        s = trainer_init(&t, model, opt, opt->init_from_model, &e);
    if (s != DPSIM_OK)
        return ctx_fail_err(ctx, s, &e);
    dpsim_features **f;
    if ((s = images_features(ctx, model, images, &f)) != DPSIM_OK) {
        trainer_free(&t);
        return s;
    }
    /* every k-th triplet (k = 1 / val_fraction) is held out, in order */
    const size_t every = opt->val_fraction > 0.0 ? (size_t)ceil(1.0 / opt->val_fraction) : 0;
    triplet_cache tc = {0}, vc = {0};
    for (size_t i = 0; i < n && s == DPSIM_OK; i++) {
        const dpsim_features *x = f[triplets[3 * i]], *x0 = f[triplets[3 * i + 1]],
                             *x1 = f[triplets[3 * i + 2]];
        if (x0->width != x->width || x1->width != x->width || x0->height != x->height ||
            x1->height != x->height) {
            s = ctx_fail(ctx, DPSIM_E_SHAPE, "triplet %zu: images of different sizes", i);
            break;
        }
        const int held = every && i % every == every - 1;
        s = cache_add_triplet(model, &t.layout, x, x0, x1, h[i], !held && opt->dropout > 0.0,
                              opt->max_cache_gib, held ? &vc : &tc, &e);
        if (s != DPSIM_OK)
            ctx_fail_err(ctx, s, &e);
    }
    features_free_all(f, images->n);
    if (s == DPSIM_OK && tc.n == 0)
        s = ctx_fail(ctx, DPSIM_E_INVAL, "training: no training triplets");
    if (s == DPSIM_OK)
        s = train_run(ctx, &t, &tc, NULL, every ? &vc : NULL, sync, log, user);
    if (s == DPSIM_OK && (s = weights_from_trainer(&t, model, out, &e)) != DPSIM_OK)
        ctx_fail_err(ctx, s, &e);
    triplet_cache_free(&tc);
    triplet_cache_free(&vc);
    trainer_free(&t);
    return s;
}
