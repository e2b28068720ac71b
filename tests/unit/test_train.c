/*
 * test_train.c - training the per-channel weights: the cached differences
 * reproduce dpsim_compare for every trainable method; the hand-written
 * backward pass matches finite differences; the LPIPS schedule; the weights
 * file round trip through --lin; training improves 2AFC on a task the
 * initial weights get wrong; same seed, same bits. Needs the real
 * SqueezeNet ($DPSIM_WEIGHTS); skipped (77) without it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "texture.h"
#include "core/ctx.h"
#include "train/trainint.h"

enum { S = 32, N_IMG = 48, N_TRAIN = 32 };


static dpsim_model *load(dpsim_ctx *ctx, dpsim_method method, int use_lin, const char *lin)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.method = method;
    opt.use_lin = use_lin;
    opt.lin_path = lin;
    dpsim_model *m = NULL;
    if (dpsim_model_load(ctx, &opt, &m) != DPSIM_OK)
        return NULL;
    return m;
}

static void test_diffs_match_compare(dpsim_ctx *ctx, float **img)
{
    static const dpsim_method methods[] = {DPSIM_METHOD_SPATIAL, DPSIM_METHOD_MEAN,
                                           DPSIM_METHOD_SORT, DPSIM_METHOD_SPATIAL_MEAN,
                                           DPSIM_METHOD_SPATIAL_SORT, DPSIM_METHOD_GRAM};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        dpsim_model *m = load(ctx, methods[k], 0, NULL);
        dpsim_features *a, *b;
        CHECK(m && dpsim_extract(ctx, m, img[0], S, S, &a) == DPSIM_OK);
        CHECK(dpsim_extract(ctx, m, img[1], S, S, &b) == DPSIM_OK);
        dpsim_train_options o;
        dpsim_train_options_init(&o);
        trainer t;
        errbuf e = {{0}};
        CHECK(trainer_init(&t, m, &o, 1, &e) == DPSIM_OK);
        pair_diffs p;
        CHECK(pair_diffs_compute(m, &t.layout, a, b, 1, &p, &e) == DPSIM_OK);
        double want;
        CHECK(dpsim_compare(ctx, m, a, b, &want, NULL, NULL) == DPSIM_OK);
        CHECK_MSG(fabs(trainer_distance(&t, &p) - want) <= 1e-5 * want, "%s: %.9g vs %.9g",
                  dpsim_method_name(methods[k]), trainer_distance(&t, &p), want);
        /* the elements average to the channel means */
        double sum = 0, sum_s = 0;
        for (int i = 0; i < p.positions[0] * t.layout.channels[0]; i++)
            sum += p.d[i];
        for (int c = 0; c < t.layout.channels[0]; c++)
            sum_s += p.s[c];
        CHECK_REL(sum / p.positions[0], sum_s, 1e-5, 1e-12);
        pair_diffs_free(&p);
        trainer_free(&t);
        dpsim_features_free(a);
        dpsim_features_free(b);
        dpsim_model_free(m);
    }
}

static void add_triplet(dpsim_ctx *ctx, dpsim_model *m, const weight_layout *l, const float *img,
                        dpsim_distortion da, dpsim_distortion db, double h, dpsim_rng *rng,
                        triplet_cache *c);

/*
 * A cache of triplets (x, x0, x1) of images first..first+n-1, each distorted
 * by two different kinds drawn from ranking (most similar first); label 1 when
 * x1's kind ranks earlier. draws triplets per image.
 */
static void make_cache(dpsim_ctx *ctx, dpsim_model *m, const weight_layout *l, float **img,
                       int first, int n, const dpsim_distortion *ranking, int draws,
                       triplet_cache *c)
{
    dpsim_rng rng;
    dpsim_rng_seed(&rng, 99 + (uint64_t)first);
    for (int i = first; i < first + n; i++)
        for (int r = 0; r < draws; r++) {
            int ka = (int)dpsim_rng_below(&rng, 6), kb = (int)dpsim_rng_below(&rng, 5);
            kb += kb >= ka;
            add_triplet(ctx, m, l, img[i], ranking[ka], ranking[kb], kb < ka ? 1.0 : 0.0, &rng, c);
        }
}

/* (x, da(x), db(x)) with label h into c */
static void add_triplet(dpsim_ctx *ctx, dpsim_model *m, const weight_layout *l, const float *img,
                        dpsim_distortion da, dpsim_distortion db, double h, dpsim_rng *rng,
                        triplet_cache *c)
{
    float *x0 = malloc(3 * S * S * sizeof(float)), *x1 = malloc(3 * S * S * sizeof(float));
    {
        dpsim_distort_params pa, pb;
        dpsim_distort_draw(da, rng, &pa);
        dpsim_distort_draw(db, rng, &pb);
        dpsim_distort_apply(ctx, da, &pa, img, S, S, x0);
        dpsim_distort_apply(ctx, db, &pb, img, S, S, x1);
        dpsim_features *f[3];
        dpsim_extract(ctx, m, img, S, S, &f[0]);
        dpsim_extract(ctx, m, x0, S, S, &f[1]);
        dpsim_extract(ctx, m, x1, S, S, &f[2]);
        errbuf e = {{0}};
        CHECK(cache_add_triplet(m, l, f[0], f[1], f[2], h, 1, 1.0, c, &e) == DPSIM_OK);
        for (int k = 0; k < 3; k++)
            dpsim_features_free(f[k]);
    }
    free(x0);
    free(x1);
}

static double total_loss(trainer *t, const triplet_cache *c, const size_t *idx, size_t n, int sync)
{
    return trainer_gradient(t, c, idx, n, sync) / (double)n;
}

/* the backward pass against central differences (no dropout, with the sync loss) */
static void test_gradient(dpsim_ctx *ctx, dpsim_model *m, float **img)
{
    dpsim_train_options o;
    dpsim_train_options_init(&o);
    o.dropout = 0.0;
    trainer t;
    errbuf e = {{0}};
    CHECK(trainer_init(&t, m, &o, 0, &e) == DPSIM_OK);
    triplet_cache c = {0};
    dpsim_rng rng;
    dpsim_rng_seed(&rng, 3);
    add_triplet(ctx, m, &t.layout, img[0], DPSIM_DISTORT_BLUR, DPSIM_DISTORT_HUE, 0.7, &rng, &c);
    add_triplet(ctx, m, &t.layout, img[1], DPSIM_DISTORT_ZOOM, DPSIM_DISTORT_ROTATE, 0.0, &rng, &c);
    add_triplet(ctx, m, &t.layout, img[2], DPSIM_DISTORT_DARKEN, DPSIM_DISTORT_HUE, 1.0, &rng, &c);
    const size_t idx[3] = {0, 1, 2}, nw = t.layout.n_weights;
    for (int sync = 0; sync <= 1; sync++) {
        total_loss(&t, &c, idx, 3, sync);
        double *grad = malloc((nw + HEAD_PARAMS) * sizeof(double));
        memcpy(grad, t.grad, (nw + HEAD_PARAMS) * sizeof(double));
        double worst = 0;
        const size_t probes[] = {0, 7, 63, 64, 200, nw - 1, nw + HEAD_W1 + 3, nw + HEAD_B1 + 5,
                                 nw + HEAD_W2 + 77, nw + HEAD_W3 + 4, nw + HEAD_B3};
        for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
            size_t j = probes[k];
            double *p = j < nw ? &t.w[j] : &t.head[j - nw], keep = *p;
            double h = 1e-4 * fmax(fabs(keep), 1e-2);
            *p = keep + h;
            double up = total_loss(&t, &c, idx, 3, sync);
            *p = keep - h;
            double down = total_loss(&t, &c, idx, 3, sync);
            *p = keep;
            double fd = (up - down) / (2 * h), err = fabs(fd - grad[j]) / fmax(fabs(fd), 1e-4);
            worst = fmax(worst, err);
            CHECK_MSG(err < 1e-4, "sync %d parameter %zu: backward %.9g, finite differences %.9g",
                      sync, j, grad[j], fd);
        }
        free(grad);
    }
    triplet_cache_free(&c);
    trainer_free(&t);
}

static void test_schedule(void)
{
    dpsim_train_options o;
    dpsim_train_options_init(&o);
    CHECK(o.epochs == 5 && o.decay_epochs == 5 && o.batch == 50 && o.lr == 1e-4);
    CHECK(o.beta1 == 0.5 && o.beta2 == 0.999 && o.dropout == 0.5);
    static const double want[10] = {1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2};
    for (int ep = 1; ep <= 10; ep++)
        CHECK_REL(trainer_lr(&o, ep), 1e-4 * want[ep - 1], 1e-12, 1e-20);
}

/* weights written by dpsim_weights_save load with lin_path and give the same distances */
static void test_roundtrip(dpsim_ctx *ctx, float **img)
{
    dpsim_model *m = load(ctx, DPSIM_METHOD_SPATIAL_MEAN, 0, NULL);
    dpsim_train_options o;
    dpsim_train_options_init(&o);
    trainer t;
    errbuf e = {{0}};
    CHECK(m && trainer_init(&t, m, &o, 0, &e) == DPSIM_OK);
    for (size_t i = 0; i < t.layout.n_weights; i++)
        t.w[i] = (double)(i % 7) * 0.125;
    dpsim_weights *w;
    CHECK(weights_from_trainer(&t, m, &w, &e) == DPSIM_OK);
    CHECK(dpsim_weights_count(w) == 14);
    const char *term;
    int tap, ch;
    const float *v;
    CHECK(dpsim_weights_vector(w, 7, &term, &tap, &ch, &v) == DPSIM_OK &&
          strcmp(term, "mean") == 0 && tap == 0 && ch == 64 && v[1] == 0.125f);
    char path[] = "/tmp/dpsim-train-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(dpsim_weights_save(ctx, m, w, path, "test \"weights\"") == DPSIM_OK);
    dpsim_model *other = load(ctx, DPSIM_METHOD_MEAN, 0, NULL);
    CHECK(dpsim_weights_save(ctx, other, w, path, NULL) == DPSIM_E_INVAL);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "learned for net squeeze, method spatial+mean") != NULL);
    dpsim_model_free(other);
    CHECK(load(ctx, DPSIM_METHOD_MEAN, 1, path) == NULL); /* the reader rejects another method */
    CHECK(strstr(dpsim_ctx_last_error(ctx), "made for method 'spatial+mean'") != NULL);
    dpsim_model *lin = load(ctx, DPSIM_METHOD_SPATIAL_MEAN, 1, path);
    CHECK(lin != NULL);
    dpsim_features *a, *b;
    dpsim_extract(ctx, m, img[2], S, S, &a);
    dpsim_extract(ctx, m, img[3], S, S, &b);
    pair_diffs p;
    CHECK(pair_diffs_compute(m, &t.layout, a, b, 0, &p, &e) == DPSIM_OK);
    dpsim_features *la, *lb;
    dpsim_extract(ctx, lin, img[2], S, S, &la);
    dpsim_extract(ctx, lin, img[3], S, S, &lb);
    double d = -1.0;
    CHECK(lin && dpsim_compare(ctx, lin, la, lb, &d, NULL, NULL) == DPSIM_OK);
    CHECK_REL(d, trainer_distance(&t, &p), 1e-5, 1e-12);
    pair_diffs_free(&p);
    dpsim_features_free(a);
    dpsim_features_free(b);
    dpsim_features_free(la);
    dpsim_features_free(lb);
    dpsim_model_free(lin);
    dpsim_weights_free(w);
    trainer_free(&t);
    dpsim_model_free(m);
    unlink(path);
}

/* train on triplets labelled by a ranking of distortions (the answer is known) */
static void train_task(dpsim_ctx *ctx, dpsim_model *m, const triplet_cache *tc,
                       const triplet_cache *vc, uint64_t seed, double *before, double *after,
                       double *val_before, double *val_after, float **weights, size_t *nw)
{
    dpsim_train_options o;
    dpsim_train_options_init(&o);
    o.seed = seed;
    o.batch = 4;
    o.lr = 0.02;
    o.epochs = 4;
    o.decay_epochs = 4;
    trainer t;
    errbuf e = {{0}};
    CHECK(trainer_init(&t, m, &o, 0, &e) == DPSIM_OK);
    *before = trainer_score(&t, tc);
    *val_before = trainer_score(&t, vc);
    CHECK(train_run(ctx, &t, tc, NULL, vc, 0, NULL, NULL) == DPSIM_OK);
    *after = trainer_score(&t, tc);
    *val_after = trainer_score(&t, vc);
    int nonneg = 1;
    for (size_t i = 0; i < t.layout.n_weights; i++)
        nonneg &= t.w[i] >= 0.0;
    CHECK(nonneg);
    *nw = t.layout.n_weights;
    *weights = malloc(*nw * sizeof(float));
    for (size_t i = 0; i < *nw; i++)
        (*weights)[i] = (float)t.w[i];
    trainer_free(&t);
}

static void test_training(dpsim_ctx *ctx, float **img)
{
    dpsim_model *m = load(ctx, DPSIM_METHOD_SPATIAL, 0, NULL);
    double b, a, vb, va, b2, a2, vb2, va2;
    float *w1, *w2, *w3;
    size_t n1, n2, n3;
    weight_layout l;
    errbuf e = {{0}};
    CHECK(weight_layout_make(m, &l, &e) == DPSIM_OK);
    triplet_cache tc = {0}, vc = {0};
    static const dpsim_distortion ranking[6] = {DPSIM_DISTORT_HUE,  DPSIM_DISTORT_DARKEN,
                                                DPSIM_DISTORT_BLUR, DPSIM_DISTORT_ZOOM,
                                                DPSIM_DISTORT_TRANSLATE, DPSIM_DISTORT_ROTATE};
    make_cache(ctx, m, &l, img, 0, N_TRAIN, ranking, 3, &tc);
    make_cache(ctx, m, &l, img, N_TRAIN, N_IMG - N_TRAIN, ranking, 3, &vc);
    train_task(ctx, m, &tc, &vc, 1, &b, &a, &vb, &va, &w1, &n1);
    printf("2AFC train %.3f -> %.3f, held out %.3f -> %.3f\n", b, a, vb, va);
    CHECK_MSG(a >= b + 0.1 && va >= vb + 0.05, "2AFC before/after: train %.3f/%.3f, held out "
              "%.3f/%.3f", b, a, vb, va);
    train_task(ctx, m, &tc, &vc, 1, &b2, &a2, &vb2, &va2, &w2, &n2);
    CHECK(n1 == n2 && memcmp(w1, w2, n1 * sizeof(float)) == 0); /* same seed, same bits */
    train_task(ctx, m, &tc, &vc, 2, &b2, &a2, &vb2, &va2, &w3, &n3);
    CHECK(memcmp(w1, w3, n1 * sizeof(float)) != 0);             /* another seed differs */
    free(w1);
    free(w2);
    free(w3);
    triplet_cache_free(&tc);
    triplet_cache_free(&vc);
    dpsim_model_free(m);
}

int main(void)
{
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 1;
    dpsim_model *m = load(ctx, DPSIM_METHOD_SPATIAL, 0, NULL);
    if (!m) {
        printf("SqueezeNet weights not found (%s): skipped\n", dpsim_ctx_last_error(ctx));
        dpsim_ctx_free(ctx);
        return 77;
    }
    float *img[N_IMG];
    dpsim_rng rng;
    dpsim_rng_seed(&rng, 5);
    for (int i = 0; i < N_IMG; i++) {
        img[i] = malloc(3 * S * S * sizeof(float));
        texture(&rng, S, img[i]);
    }
    test_schedule();
    test_diffs_match_compare(ctx, img);
    test_gradient(ctx, m, img);
    test_roundtrip(ctx, img);
    test_training(ctx, img);
    for (int i = 0; i < N_IMG; i++)
        free(img[i]);
    dpsim_model_free(m);
    dpsim_ctx_free(ctx);
    return check_report();
}
