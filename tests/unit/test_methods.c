/*
 * test_methods.c - the comparison methods on synthetic features, and their
 * API: d(x, x) = 0, symmetry, invariance of mean/sort/gram to a spatial
 * permutation of one map (spatial and dists change), what channel
 * normalisation does, weights, hand-computed values; then method names,
 * the pixel tap, maps only for spatial terms, dpsim weight files and every
 * rejected option combination.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "compare/methods.h"
#include "model/model.h"
#include "modeltest.h"

#define C 5
#define H 4
#define W 3
#define HW (H * W)

typedef double (*term_fn)(const tap_pair *p, const float *w, int norm);

/* A term_fn around a term function that writes d: its status CHECKed, -1 when it fails. */
#define TERM_FN(name, call)                                                                    \
    static double name(const tap_pair *p, const float *w, int norm)                            \
    {                                                                                          \
        double d = -1;                                                                         \
        CHECK(call == DPSIM_OK);                                                               \
        return d;                                                                              \
    }
TERM_FN(t_spatial, spatial_term(p, w, norm, &d, NULL, NULL))
TERM_FN(t_mean, mean_term(p, w, norm, &d, NULL))
TERM_FN(t_sort, sort_term(p, w, norm, &d, NULL))
TERM_FN(t_gram, gram_term(p, w, norm, &d, NULL))
static double t_dists(const tap_pair *p, const float *w, int norm)
{
    (void)norm;
    return dists_term(p, w, w, 1.0 / (2.0 * C));
}

static const struct {
    const char *name;
    term_fn fn;
    int perm_invariant; /* unchanged when one map is permuted spatially */
} methods[] = {{"spatial", t_spatial, 0}, {"mean", t_mean, 1}, {"sort", t_sort, 1},
               {"gram", t_gram, 1},       {"dists", t_dists, 0}};

/* (C, HW) features: a deterministic pseudo-random positive map */
static void fill(float *z, uint64_t seed)
{
    for (int i = 0; i < C * HW; i++)
        z[i] = (float)((splitmix64(seed * 1000 + (uint64_t)i) >> 40) / 16777216.0) + 0.05f;
}

static void test_properties(void)
{
    float a[C * HW], b[C * HW], pb[C * HW], sa[C * HW], sb[C * HW], ones[C], twos[C];
    fill(a, 1);
    fill(b, 2);
    for (int ch = 0; ch < C; ch++) {
        ones[ch] = 1.0f;
        twos[ch] = 2.0f;
        for (int i = 0; i < HW; i++) {
            pb[ch * HW + i] = b[ch * HW + (i * 5 + 3) % HW]; /* 5 is coprime with 12 */
            float k = 1.0f + (float)(i % 4);                 /* per-position scale */
            sa[ch * HW + i] = a[ch * HW + i] * k;
            sb[ch * HW + i] = b[ch * HW + i] * k;
        }
    }
    tap_pair ab = {a, b, C, H, W}, ba = {b, a, C, H, W}, aa = {a, a, C, H, W};
    tap_pair apb = {a, pb, C, H, W}, scaled = {sa, sb, C, H, W};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        for (int norm = 0; norm <= 1; norm++) {
            term_fn f = methods[m].fn;
            double d = f(&ab, NULL, norm);
            CHECK_MSG(d > 0, "%s norm %d: d(a,b) = %g, expected > 0", methods[m].name, norm, d);
            CHECK_MSG(fabs(f(&aa, NULL, norm)) < 1e-12, "%s norm %d: d(a,a) = %g",
                      methods[m].name, norm, f(&aa, NULL, norm));
            CHECK_REL(f(&ba, NULL, norm), d, 1e-12, 1e-15);
            double dp = f(&apb, NULL, norm);
            if (methods[m].perm_invariant)
                CHECK_REL(dp, d, 1e-9, 1e-15);
            else
                CHECK_MSG(fabs(dp - d) > 1e-6 * d, "%s norm %d: a spatial permutation of one "
                          "map left d unchanged (%g)", methods[m].name, norm, d);
            if (m != 4)
                CHECK_REL(f(&ab, twos, norm), 2.0 * f(&ab, ones, norm), 1e-12, 1e-15);
            CHECK_REL(f(&ab, ones, norm), d, 1e-12, 1e-15);
        }
    }
    /* normalisation makes spatial and sort blind to a per-position scale of both maps */
    CHECK_REL(t_spatial(&scaled, NULL, 1), t_spatial(&ab, NULL, 1), 1e-6, 1e-15);
    CHECK(fabs(t_spatial(&scaled, NULL, 0) - t_spatial(&ab, NULL, 0)) > 1e-3);
    CHECK(fabs(t_gram(&scaled, NULL, 0) - t_gram(&ab, NULL, 0)) > 1e-3);
    CHECK_REL(t_gram(&scaled, NULL, 1), t_gram(&ab, NULL, 1), 1e-6, 1e-15);
}

/* Hand-computed: c = 2, one row of two positions. */
static void test_values(void)
{
    const float a[4] = {1, 3, 0, 4}, b[4] = {2, 2, 2, 2}; /* a: ch0 (1,3), ch1 (0,4) */
    tap_pair p = {a, b, 2, 1, 2};
    /* mean, no norm: means a (2, 2), b (2, 2) -> 0 */
    CHECK(fabs(t_mean(&p, NULL, 0)) < 1e-15);
    /* sort, no norm: a (3,1),(4,0) vs b (2,2),(2,2): ((1+1) + (4+4)) / 2 = 5 */
    CHECK_REL(t_sort(&p, NULL, 0), 5.0, 1e-12, 0);
    /* spatial, no norm: ((1+4) + (1+4)) / 2 = 5 */
    CHECK_REL(t_spatial(&p, NULL, 0), 5.0, 1e-12, 0);
    /* gram, no norm: Ga = [[5, 6], [6, 8]], Gb = [[4, 4], [4, 4]]: (1 + 4 + 4 + 16) / 4 */
    CHECK_REL(t_gram(&p, NULL, 0), 25.0 / 4.0, 1e-12, 0);
    /* dists of a map with itself: t = s = 1 */
    tap_pair same = {a, a, 2, 1, 2};
    const float w[2] = {1, 1};
    CHECK(fabs(dists_term(&same, w, w, 0.25)) < 1e-12);
}

// ---- API ----

static char trunk_path[64], weights_path[64];

static dpsim_status load(dpsim_ctx *ctx, dpsim_method method, int norm, int pixel,
                         const char *lin, dpsim_model **m)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = DPSIM_NET_ALEX;
    opt.method = method;
    opt.normalize = norm;
    opt.pixel_layer = pixel;
    opt.trunk_path = trunk_path;
    opt.lin_path = lin;
    opt.use_lin = lin != NULL;
    return dpsim_model_load(ctx, &opt, m);
}

/* A dpsim weights file for alex (pixel + default taps) with the given metadata. */
static void write_weights(const char *method, const char *taps, const char *term, int n_taps)
{
    static const int channels[] = {3, 64, 192, 384, 256, 256};
    tensor_list list = {0};
    for (int t = 0; t < n_taps; t++) {
        char name[32];
        snprintf(name, sizeof name, "%s.tap%d", term, t);
        int64_t shape[1] = {channels[t]};
        CHECK(tensor_list_add(&list, name, 1, shape, NULL, NULL) == DPSIM_OK);
        for (int i = 0; i < channels[t]; i++)
            list.items[list.count - 1].data[i] = 0.5f;
    }
    char meta[256];
    snprintf(meta, sizeof meta, "{\"net\":\"alex\",\"method\":\"%s\",\"taps\":\"%s\"}", method,
             taps);
    CHECK(safetensors_write_file(weights_path, &list, meta, NULL) == DPSIM_OK);
    tensor_list_free(&list);
}

static void test_api(dpsim_ctx *ctx)
{
    for (int i = 0; i <= DPSIM_METHOD_DISTS; i++) {
        dpsim_method back;
        CHECK(dpsim_method_parse(dpsim_method_name((dpsim_method)i), &back) == DPSIM_OK);
        CHECK(back == (dpsim_method)i);
    }
    dpsim_method dummy;
    CHECK(dpsim_method_parse("lpips", &dummy) == DPSIM_E_INVAL);
    CHECK(dpsim_method_name((dpsim_method)7) == NULL);

    const int w = 64, h = 64;
    float *pa = malloc(3 * w * h * sizeof(float)), *pb = malloc(3 * w * h * sizeof(float));
    float *map = malloc(w * h * sizeof(float));
    gen_image(1, w, h, pa);
    gen_image(2, w, h, pb);
    dpsim_model *m = NULL;
    CHECK(load(ctx, DPSIM_METHOD_MEAN, -1, 1, NULL, &m) == DPSIM_OK);
    int index = 0, channels = 0;
    CHECK(dpsim_model_n_taps(m) == 6);
    CHECK(dpsim_model_tap(m, 0, &index, &channels) == DPSIM_OK && index == -1 && channels == 3);
    char prov[512];
    dpsim_model_provenance(m, prov, sizeof prov);
    CHECK_MSG(strstr(prov, "method=mean norm=on") && strstr(prov, "taps=pixel,1,4,7,9,11"),
              "provenance: %s", prov);
    dpsim_features *fa = NULL, *fb = NULL;
    CHECK(dpsim_extract(ctx, m, pa, w, h, &fa) == DPSIM_OK);
    CHECK(dpsim_extract(ctx, m, pb, w, h, &fb) == DPSIM_OK);
    double d = -1, per_tap[8], sum = 0;
    CHECK(dpsim_compare(ctx, m, fa, fb, &d, per_tap, map) == DPSIM_E_UNSUPPORTED);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "no spatial term") != NULL);
    CHECK(dpsim_compare(ctx, m, fa, fb, &d, per_tap, NULL) == DPSIM_OK);
    for (int t = 0; t < 6; t++)
        sum += per_tap[t];
    CHECK_REL(sum, d, 1e-12, 0);
    /* a weights file of 0.5 halves every term */
    write_weights("mean", "pixel,1,4,7,9,11", "mean", 6);
    dpsim_model *m2 = NULL;
    CHECK_MSG(load(ctx, DPSIM_METHOD_MEAN, -1, 1, weights_path, &m2) == DPSIM_OK, "%s",
              dpsim_ctx_last_error(ctx));
    dpsim_features *ga = NULL, *gb = NULL;
    double d2 = -1;
    if (m2 && dpsim_extract(ctx, m2, pa, w, h, &ga) == DPSIM_OK &&
        dpsim_extract(ctx, m2, pb, w, h, &gb) == DPSIM_OK)
        CHECK(dpsim_compare(ctx, m2, ga, gb, &d2, NULL, NULL) == DPSIM_OK);
    CHECK_REL(d2, 0.5 * d, 1e-12, 0);
    dpsim_features_free(ga);
    dpsim_features_free(gb);
    dpsim_model_free(m2);
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    dpsim_model_free(m);

    /* spatial+sort with a map: the map covers the spatial term */
    CHECK(load(ctx, DPSIM_METHOD_SPATIAL_SORT, 0, 0, NULL, &m) == DPSIM_OK);
    fa = fb = NULL;
    if (m && dpsim_extract(ctx, m, pa, w, h, &fa) == DPSIM_OK &&
        dpsim_extract(ctx, m, pb, w, h, &fb) == DPSIM_OK)
        CHECK(dpsim_compare(ctx, m, fa, fb, &d, NULL, map) == DPSIM_OK);
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    dpsim_model_free(m);

    /* rejected files and options */
    m = NULL;
    write_weights("sort", "pixel,1,4,7,9,11", "sort", 6);
    CHECK(load(ctx, DPSIM_METHOD_MEAN, -1, 1, weights_path, &m) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "method 'sort', expected 'mean'") != NULL);
    write_weights("mean", "1,4,7,9,11", "mean", 5);
    CHECK(load(ctx, DPSIM_METHOD_MEAN, -1, 1, weights_path, &m) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "taps") != NULL);
    write_weights("spatial+mean", "pixel,1,4,7,9,11", "mean", 6);
    CHECK(load(ctx, DPSIM_METHOD_SPATIAL_MEAN, -1, 1, weights_path, &m) == DPSIM_E_FORMAT);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "spatial.tap0") != NULL);
    CHECK(load(ctx, DPSIM_METHOD_DISTS, -1, 0, NULL, &m) == DPSIM_E_INVAL);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "vgg16 only") != NULL);
    CHECK(load(ctx, DPSIM_METHOD_MEAN, 2, 0, NULL, &m) == DPSIM_E_INVAL);
    CHECK(load(ctx, DPSIM_METHOD_MEAN, -1, 2, NULL, &m) == DPSIM_E_INVAL);
    CHECK(load(ctx, (dpsim_method)9, -1, 0, NULL, &m) == DPSIM_E_INVAL);
    CHECK(m == NULL);
    free(pa);
    free(pb);
    free(map);
}

int main(void)
{
    test_properties();
    test_values();
    snprintf(trunk_path, sizeof trunk_path, "/tmp/dpsim-test-methods-%d.safetensors",
             (int)getpid());
    snprintf(weights_path, sizeof weights_path, "/tmp/dpsim-test-methods-w-%d.safetensors",
             (int)getpid());
    write_trunk(DPSIM_NET_ALEX, 1, trunk_path);
    dpsim_ctx *ctx;
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    test_api(ctx);
    dpsim_ctx_free(ctx);
    unlink(trunk_path);
    unlink(weights_path);
    return check_report();
}
