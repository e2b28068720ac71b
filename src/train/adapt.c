/*
 * adapt.c - adapting the per-channel weights to a context given as a
 * ranking of distortions (SPEC section 8, thesis chapter 5). Images are
 * split into training and held-out ones by the seed; every epoch each
 * training image gets two different distortions drawn afresh -> a triplet
 * labelled by the ranking; the chapter 7 trainer runs with the sync loss
 * until the held-out 2AFC first exceeds 0.5. Held-out and second-set
 * triplets are drawn once, so baseline and adapted weights see the same.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "train/trainint.h"

void dpsim_adapt_options_init(dpsim_adapt_options *opt)
{
    memset(opt, 0, sizeof *opt);
    dpsim_train_options_init(&opt->train);
    opt->train.init_from_model = 1;
    opt->holdout = 0.2;
    opt->eval_draws = 4;
    opt->train_draws = 1;
}

typedef struct adapt_job {
    dpsim_ctx *ctx;
    const dpsim_model *m;
    const dpsim_adapt_options *opt;
    const weight_layout *layout;
    int rank[DPSIM_DISTORT_COUNT]; /* position of each kind in the ranking, -1 if absent */
    float *work;                   /* (3, h, w) of the largest image */
} adapt_job;

/* features of distortion kind (drawn parameters) of image i */
static dpsim_status distorted_features(adapt_job *j, const dpsim_image_set *set, size_t i,
                                       dpsim_distortion kind, dpsim_rng *rng,
                                       dpsim_features **out)
{
    dpsim_distort_params p;
    dpsim_distort_draw(kind, rng, &p);
    dpsim_status s = dpsim_distort_apply(j->ctx, kind, &p, set->pixels[i], set->width[i],
                                         set->height[i], j->work);
    return s == DPSIM_OK ? dpsim_extract(j->ctx, j->m, j->work, set->width[i], set->height[i],
                                         out)
                         : s;
}

/*
 * One triplet of image i: two different kinds from the ranking, label 1 if
 * x1's kind ranks earlier. fx: the features of image i.
 */
static dpsim_status add_ranked(adapt_job *j, const dpsim_image_set *set, size_t i,
                               const dpsim_features *fx, dpsim_rng *rng, int keep,
                               triplet_cache *c)
{
    const int n = j->opt->n_ranking;
    const int a = (int)dpsim_rng_below(rng, (uint64_t)n);
    int b = (int)dpsim_rng_below(rng, (uint64_t)n - 1);
    b += b >= a;
    dpsim_features *f0 = NULL, *f1 = NULL;
    dpsim_status s = distorted_features(j, set, i, j->opt->ranking[a], rng, &f0);
    if (s == DPSIM_OK)
        s = distorted_features(j, set, i, j->opt->ranking[b], rng, &f1);
    errbuf e = {{0}};
    if (s == DPSIM_OK && (s = cache_add_triplet(j->m, j->layout, fx, f0, f1, b < a ? 1.0 : 0.0,
                                                keep, j->opt->train.max_cache_gib, c, &e)))
        ctx_fail_err(j->ctx, s, &e);
    dpsim_features_free(f0);
    dpsim_features_free(f1);
    return s;
}

/* thesis 5.6: x0 a distortion of x, x1 a distortion of another image y of the same size */
static dpsim_status add_negative(adapt_job *j, const dpsim_image_set *set, const size_t *pool,
                                 size_t n_pool, size_t i, const dpsim_features *fx,
                                 dpsim_rng *rng, triplet_cache *c)
{
    const size_t y = pool[dpsim_rng_below(rng, n_pool)];
    if (y == i || set->width[y] != set->width[i] || set->height[y] != set->height[i])
        return DPSIM_OK;
    const int n = j->opt->n_ranking;
    dpsim_features *f0 = NULL, *f1 = NULL;
    dpsim_status s = distorted_features(j, set, i, j->opt->ranking[dpsim_rng_below(rng, (uint64_t)n)],
                                        rng, &f0);
    if (s == DPSIM_OK)
        s = distorted_features(j, set, y, j->opt->ranking[dpsim_rng_below(rng, (uint64_t)n)],
                               rng, &f1);
    errbuf e = {{0}};
    if (s == DPSIM_OK && (s = cache_add_triplet(j->m, j->layout, fx, f0, f1, 0.0,
                                                j->opt->train.dropout > 0.0,
                                                j->opt->train.max_cache_gib, c, &e)))
        ctx_fail_err(j->ctx, s, &e);
    dpsim_features_free(f0);
    dpsim_features_free(f1);
    return s;
}

/* fixed evaluation triplets: eval_draws per image of idx (n), drawn from seed */
static dpsim_status eval_cache(adapt_job *j, const dpsim_image_set *set, dpsim_features **f,
                               const size_t *idx, size_t n, uint64_t seed, triplet_cache *c)
{
    dpsim_rng rng;
    dpsim_rng_seed(&rng, seed);
    for (size_t k = 0; k < n; k++)
        for (int d = 0; d < j->opt->eval_draws; d++) {
            dpsim_status s = add_ranked(j, set, idx[k], f[idx[k]], &rng, 0, c);
            if (s != DPSIM_OK)
                return s;
        }
    return DPSIM_OK;
}

static dpsim_status check_options(dpsim_ctx *ctx, const dpsim_adapt_options *o,
                                  const dpsim_image_set *images, int rank[DPSIM_DISTORT_COUNT])
{
    errbuf e = {{0}};
    dpsim_status s = train_check_options(&o->train, &e);
    if (s != DPSIM_OK)
        return ctx_fail_err(ctx, s, &e);
    if (o->n_ranking < 2 || o->n_ranking > DPSIM_DISTORT_COUNT)
        return ctx_fail(ctx, DPSIM_E_INVAL, "ranking: %d distortions, expected 2 to 6",
                        o->n_ranking);
    for (int k = 0; k < DPSIM_DISTORT_COUNT; k++)
        rank[k] = -1;
    for (int i = 0; i < o->n_ranking; i++) {
        if ((unsigned)o->ranking[i] >= DPSIM_DISTORT_COUNT || rank[o->ranking[i]] >= 0)
            return ctx_fail(ctx, DPSIM_E_INVAL, "ranking: entry %d is unknown or repeated, "
                            "expected different distortions", i + 1);
        rank[o->ranking[i]] = i;
    }
    if (!(o->holdout > 0.0 && o->holdout < 1.0) || o->eval_draws < 1 || o->eval_draws > 1000 ||
        o->train_draws < 1 || o->train_draws > 1000)
        return ctx_fail(ctx, DPSIM_E_INVAL, "held-out fraction in (0, 1) and 1 to 1000 "
                        "training and evaluation draws expected");
    if (!images || images->n < 2)
        return ctx_fail(ctx, DPSIM_E_INVAL, "adaptation needs at least 2 images (some to "
                        "train on, some held out), got %zu", images ? images->n : 0);
    return DPSIM_OK;
}

static float *largest_buffer(const dpsim_image_set *a, const dpsim_image_set *b)
{
    size_t most = 1;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; k == 0 ? i < a->n : (b && i < b->n); i++) {
            const dpsim_image_set *s = k ? b : a;
            size_t px = (size_t)s->width[i] * s->height[i];
            most = px > most ? px : most;
        }
    return dp_malloc(3 * most * sizeof(float));
}

/* the weights' score on a cache under a fresh trainer from the model's weights */
static double baseline_score(const dpsim_model *m, const dpsim_train_options *o,
                             const triplet_cache *c)
{
    trainer b;
    errbuf e = {{0}};
    if (trainer_init(&b, m, o, 1, &e) != DPSIM_OK)
        return NAN;
    double s = trainer_score(&b, c);
    trainer_free(&b);
    return s;
}

static dpsim_status run_epochs(adapt_job *j, trainer *t, const dpsim_image_set *images,
                               dpsim_features **f, const size_t *train_idx, size_t n_train,
                               const triplet_cache *val, dpsim_train_log_fn log, void *user)
{
    const dpsim_adapt_options *o = j->opt;
    dpsim_rng draw;
    dpsim_rng_seed(&draw, o->train.seed + 4);
    int reached = 0;
    const int total = o->train.epochs + o->train.decay_epochs;
    for (int ep = 1; ep <= total; ep++) {
        triplet_cache tc = {0};
        dpsim_status s = DPSIM_OK;
        for (size_t k = 0; k < n_train * (size_t)o->train_draws && s == DPSIM_OK; k++) {
            const size_t i = train_idx[k % n_train];
            s = add_ranked(j, images, i, f[i], &draw, o->train.dropout > 0.0, &tc);
            if (s == DPSIM_OK && o->negatives)
                s = add_negative(j, images, train_idx, n_train, i, f[i], &draw, &tc);
        }
        dpsim_train_epoch rec = {ep, trainer_lr(&o->train, ep), 0.0, 0.0, NAN, 0};
        rec.sync = sync_wanted(t, val, &reached);
        errbuf e = {{0}};
        if (s == DPSIM_OK && (s = trainer_epoch(t, &tc, NULL, rec.lr, rec.sync, &rec.loss, &e)))
            ctx_fail_err(j->ctx, s, &e);
        rec.train_2afc = trainer_score(t, &tc);
        rec.val_2afc = trainer_score(t, val);
        triplet_cache_free(&tc);
        if (s != DPSIM_OK)
            return s;
        if (log)
            log(user, &rec);
    }
    return DPSIM_OK;
}

dpsim_status dpsim_adapt(dpsim_ctx *ctx, const dpsim_model *model, const dpsim_image_set *images,
                         const dpsim_image_set *second, const dpsim_adapt_options *opt,
                         dpsim_train_log_fn log, void *user, dpsim_weights **out,
                         dpsim_adapt_report *report)
{
    ctx_clear(ctx);
    if (!model || !opt || !out || !report)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_adapt: NULL argument");
    adapt_job j = {ctx, model, opt, NULL, {0}, NULL};
    dpsim_status s = check_options(ctx, opt, images, j.rank);
    if (s != DPSIM_OK)
        return s;
    trainer t;
    errbuf e = {{0}};
    if ((s = trainer_init(&t, model, &opt->train, opt->train.init_from_model, &e)) != DPSIM_OK)
        return ctx_fail_err(ctx, s, &e);
    j.layout = &t.layout;
    j.work = largest_buffer(images, second);
    size_t *order = dp_malloc(images->n * sizeof *order);
    dpsim_features **f = NULL, **f2 = NULL;
    triplet_cache held = {0}, sec = {0};
    if (!j.work || !order)
        s = ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory");
    if (s == DPSIM_OK)
        s = images_features(ctx, model, images, &f);
    if (s == DPSIM_OK && second)
        s = images_features(ctx, model, second, &f2);
    size_t n_hold = 0;
    if (s == DPSIM_OK) {
        dpsim_rng split;
        dpsim_rng_seed(&split, opt->train.seed + 1);
        shuffle_indices(&split, order, images->n);
        n_hold = (size_t)floor(opt->holdout * (double)images->n);
        n_hold = n_hold < 1 ? 1 : n_hold >= images->n ? images->n - 1 : n_hold;
        s = eval_cache(&j, images, f, order, n_hold, opt->train.seed + 2, &held);
    }
    if (s == DPSIM_OK && second) {
        size_t *all = dp_malloc((second->n ? second->n : 1) * sizeof *all);
        for (size_t i = 0; all && i < second->n; i++)
            all[i] = i;
        s = all ? eval_cache(&j, second, f2, all, second->n, opt->train.seed + 3, &sec)
                : ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory");
        dp_free(all);
    }
    dpsim_adapt_report r = {NAN, NAN, NAN, NAN, images->n - n_hold, n_hold, second ? second->n : 0};
    if (s == DPSIM_OK) {
        r.baseline_heldout = baseline_score(model, &opt->train, &held);
        r.baseline_second = second ? baseline_score(model, &opt->train, &sec) : NAN;
        s = run_epochs(&j, &t, images, f, order + n_hold, images->n - n_hold, &held, log, user);
    }
    if (s == DPSIM_OK) {
        r.adapted_heldout = trainer_score(&t, &held);
        r.adapted_second = second ? trainer_score(&t, &sec) : NAN;
        if ((s = weights_from_trainer(&t, model, out, &e)) != DPSIM_OK)
            ctx_fail_err(ctx, s, &e);
    }
    if (s == DPSIM_OK)
        *report = r;
    features_free_all(f, f ? images->n : 0);
    features_free_all(f2, f2 ? second->n : 0);
    triplet_cache_free(&held);
    triplet_cache_free(&sec);
    dp_free(order);
    dp_free(j.work);
    trainer_free(&t);
    return s;
}
