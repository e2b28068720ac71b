/*
 * test_stream.c - the banded comparison (model/stream.c) gives the distance,
 * the per-tap terms and the map that extracting both images' features and
 * comparing them gives, within 1e-5 relative, for every net (strided,
 * padded and unpadded layers, 11x11 and 5x5 kernels, fire modules, ceil-mode
 * pools), bands of one row to whole layers and the default, odd sizes whose pools
 * leave rows no later layer reads, a pixel tap, custom taps (a convolution's
 * output before its ReLU) and no normalisation; several pairs at once give
 * each pair's own bits, and 1 and 2 threads give the same bits (also where
 * the two threads' groups share Winograd weights made on each call); pairs
 * too many for one stream's budget run in several (stream_pairs).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ctx.h"
#include "model/stream.h"
#include "modeltest.h"
#include "testgen.h"

enum { PAIRS = 3 };

static double rel(double got, double want)
{
    return fabs(got - want) / (fabs(want) > 1e-30 ? fabs(want) : 1e-30);
}

/* What the features give: distance, per-tap terms, map */
static void by_features(const dpsim_model *m, const float *a, const float *b, int w, int h,
                        double *d, double *per_tap, float *map)
{
    dpsim_features *fa = NULL, *fb = NULL;
    CHECK(dpsim_extract(NULL, m, a, w, h, &fa) == DPSIM_OK);
    CHECK(dpsim_extract(NULL, m, b, w, h, &fb) == DPSIM_OK);
    CHECK(dpsim_compare(NULL, m, fa, fb, d, per_tap, map) == DPSIM_OK);
    dpsim_features_free(fa);
    dpsim_features_free(fb);
}

static void check_close(const char *what, long step, int n_taps, double d, const double *per_tap,
                        const float *map, double d_ref, const double *per_tap_ref,
                        const float *map_ref, size_t hw)
{
    CHECK_MSG(rel(d, d_ref) <= 1e-5, "%s, step %ld: distance %.9g, by features %.9g", what, step,
              d, d_ref);
    for (int t = 0; t < n_taps; t++)
        CHECK_MSG(rel(per_tap[t], per_tap_ref[t]) <= 1e-5,
                  "%s, step %ld: tap %d term %.9g, by features %.9g", what, step, t, per_tap[t],
                  per_tap_ref[t]);
    float peak = 0.0f, worst = 0.0f;
    for (size_t i = 0; i < hw; i++) {
        peak = fabsf(map_ref[i]) > peak ? fabsf(map_ref[i]) : peak;
        worst = fabsf(map[i] - map_ref[i]) > worst ? fabsf(map[i] - map_ref[i]) : worst;
    }
    CHECK_MSG(worst <= 1e-5f * peak, "%s, step %ld: map off by %g of its peak %g", what, step,
              (double)worst, (double)peak);
}

/* PAIRS pairs of w x h through m by steps of 1, 40 and 100 pixels per layer and the default */
static void check_model(const dpsim_model *m, int w, int h, const char *what)
{
    const size_t hw = (size_t)w * h;
    const int nt = dpsim_model_n_taps(m);
    float *img = malloc(2 * PAIRS * 3 * hw * sizeof(float));
    const float *a[PAIRS], *b[PAIRS];
    double d_ref[PAIRS], t_ref[PAIRS * DPSIM_MAX_TAPS];
    float *map_ref = malloc(PAIRS * hw * sizeof(float)), *map = malloc(PAIRS * hw * sizeof(float));
    for (int i = 0; i < PAIRS; i++) {
        float *pa = img + (size_t)(2 * i) * 3 * hw, *pb = pa + 3 * hw;
        gen_image((uint64_t)(100 + 2 * i), w, h, pa);
        gen_image((uint64_t)(101 + 2 * i), w, h, pb);
        a[i] = pa;
        b[i] = pb;
        by_features(m, pa, pb, w, h, &d_ref[i], t_ref + i * nt, map_ref + i * hw);
    }
    const long steps[] = {1, 40, 100, 0}; /* pixels per step: bands of 1 row to whole layers */
    for (unsigned k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        double d[PAIRS], t[PAIRS * DPSIM_MAX_TAPS], d1, t1[DPSIM_MAX_TAPS];
        errbuf e = {{0}};
        CHECK_MSG(stream_compare(m, PAIRS, a, b, w, h, steps[k], d, t, map, NULL, NULL, &e) ==
                      DPSIM_OK, "%s: %s", what, e.msg);
        for (int i = 0; i < PAIRS; i++) {
            check_close(what, steps[k], nt, d[i], t + i * nt, map + i * hw, d_ref[i],
                        t_ref + i * nt, map_ref + i * hw, hw);
            /* one pair alone: the same bits as among others */
            const long step = steps[k] ? steps[k] : stream_default_step(m, PAIRS, w, h);
            CHECK(stream_compare(m, 1, &a[i], &b[i], w, h, step, &d1, t1, NULL, NULL, NULL, &e) ==
                  DPSIM_OK);
            CHECK_MSG(d1 == d[i] && memcmp(t1, t + i * nt, nt * sizeof(double)) == 0,
                      "%s, step %ld: pair %d alone %.17g, among others %.17g", what, steps[k], i,
                      d1, d[i]);
        }
        /* threads do not change a bit */
        for (int threads = 1; threads <= 2; threads++) {
            dpsim_ctx *ctx = ctx_with(threads);
            double dt[PAIRS], tt[PAIRS * DPSIM_MAX_TAPS];
            CHECK(stream_compare(m, PAIRS, a, b, w, h, steps[k], dt, tt, NULL,
                                 ctx->workers, ctx->scratch, &e) == DPSIM_OK);
            CHECK_MSG(memcmp(dt, d, sizeof d) == 0 && memcmp(tt, t, PAIRS * nt * 8) == 0,
                      "%s, step %ld: %d threads differ", what, steps[k], threads);
            dpsim_ctx_free(ctx);
        }
    }
    free(img);
    free(map_ref);
    free(map);
}

/*
 * dpsim_compare_images on 4 pairs that stream_pairs runs as two streams of 2:
 * each pair's bits as in a stream of its own 2, and within 1e-5 of its features.
 */
static void check_split(const dpsim_model *m, int w, int h)
{
    enum { N = 4 };
    const size_t px = 3 * (size_t)w * h;
    float *img = malloc(2 * N * px * sizeof(float));
    const float *a[N], *b[N];
    for (int i = 0; i < N; i++) {
        gen_image((uint64_t)(200 + 2 * i), w, h, img + 2 * i * px);
        gen_image((uint64_t)(201 + 2 * i), w, h, img + (2 * i + 1) * px);
        a[i] = img + 2 * i * px;
        b[i] = img + (2 * i + 1) * px;
    }
    dpsim_ctx *ctx = ctx_with(2);
    double d[N], halves[N];
    CHECK(dpsim_compare_images(ctx, m, N, a, b, w, h, d, NULL, NULL) == DPSIM_OK);
    for (int i = 0; i < N; i += 2) {
        double t[2 * DPSIM_MAX_TAPS];
        errbuf e = {{0}};
        CHECK(stream_compare(m, 2, a + i, b + i, w, h, 0, halves + i, t, NULL, ctx->workers,
                             ctx->scratch, &e) == DPSIM_OK);
    }
    for (int i = 0; i < N; i++) {
        double ref, t[DPSIM_MAX_TAPS];
        float *map = malloc((size_t)w * h * sizeof(float));
        by_features(m, a[i], b[i], w, h, &ref, t, map);
        free(map);
        CHECK_MSG(d[i] == halves[i] && rel(d[i], ref) <= 1e-5,
                  "pair %d of %d: %.17g, in a stream of 2 %.17g, by features %.17g", i, N, d[i],
                  halves[i], ref);
    }
    dpsim_ctx_free(ctx);
    free(img);
}

static dpsim_model *load(dpsim_net net, dpsim_method method, int pixel, int normalize, int n_taps,
                         const int *taps)
{
    char path[512];
    CHECK(gen_trunk_path("random:5", net, path, sizeof path));
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = net;
    opt.trunk_path = path;
    opt.use_lin = 0;
    opt.method = method;
    opt.pixel_layer = pixel;
    opt.normalize = normalize;
    opt.n_taps = n_taps;
    for (int i = 0; i < n_taps; i++)
        opt.taps[i] = taps[i];
    dpsim_model *m = NULL;
    CHECK(dpsim_model_load(NULL, &opt, &m) == DPSIM_OK);
    return m;
}

/*
 * VGG-16 at 128x128, one pair on two threads: one group per image, and its
 * conv4 layers by Winograd on weights too large to keep (conv_wino.h), made
 * once a step for both groups in the first one's buffer: the same bits as on
 * one thread, within 1e-5 of the features.
 */
static void check_shared_winograd(const dpsim_model *m)
{
    enum { S = 128 };
    const size_t px = 3 * (size_t)S * S;
    float *img = malloc(2 * px * sizeof(float));
    gen_image(300, S, S, img);
    gen_image(301, S, S, img + px);
    const float *a = img, *b = img + px;
    const int nt = dpsim_model_n_taps(m);
    double d[2], t[2][DPSIM_MAX_TAPS], ref, t_ref[DPSIM_MAX_TAPS];
    for (int threads = 1; threads <= 2; threads++) {
        dpsim_ctx *ctx = ctx_with(threads);
        errbuf e = {{0}};
        CHECK_MSG(stream_compare(m, 1, &a, &b, S, S, 0, &d[threads - 1], t[threads - 1], NULL,
                                 ctx->workers, ctx->scratch, &e) == DPSIM_OK,
                  "%s", e.msg);
        CHECK(ctx->scratch[0].cb.u != NULL); /* conv4's, made on each call */
        if (threads == 2)
            CHECK(ctx->scratch[1].cb.u == NULL); /* the second group made none */
        dpsim_ctx_free(ctx);
    }
    float *map = malloc((size_t)S * S * sizeof(float));
    by_features(m, a, b, S, S, &ref, t_ref, map);
    CHECK_MSG(d[0] == d[1] && memcmp(t[0], t[1], nt * sizeof(double)) == 0,
              "vgg 128x128: 1 thread %.17g, 2 threads %.17g", d[0], d[1]);
    CHECK_MSG(rel(d[1], ref) <= 1e-5, "vgg 128x128: %.17g, by features %.17g", d[1], ref);
    free(map);
    free(img);
}

int main(void)
{
    struct {
        dpsim_net net;
        int w, h;
    } cases[] = {
        {DPSIM_NET_SQUEEZE, 77, 61}, /* ceil-mode pools, fire modules */
        {DPSIM_NET_ALEX, 83, 71},    /* 11x11 stride 4 in space-to-depth form, 5x5 */
        {DPSIM_NET_VGG16, 75, 69},   /* pools that drop a row: taps finished at the end */
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dpsim_model *m = load(cases[i].net, DPSIM_METHOD_SPATIAL, 0, -1, 0, NULL);
        check_model(m, cases[i].w, cases[i].h, dpsim_net_name(cases[i].net));
        dpsim_model_free(m);
    }
    /* a pixel tap, no normalisation; a convolution's output before its ReLU, then the ReLU */
    dpsim_model *m = load(DPSIM_NET_ALEX, DPSIM_METHOD_SPATIAL, 1, 0, 0, NULL);
    check_model(m, 70, 66, "alex, pixel tap, not normalised");
    dpsim_model_free(m);
    const int taps[] = {0, 1, 5};
    m = load(DPSIM_NET_VGG16, DPSIM_METHOD_SPATIAL, 0, -1, 3, taps);
    check_model(m, 40, 37, "vgg, taps 0,1,5");
    dpsim_model_free(m);
    /* streamed where the features would be large, not small ones or another method */
    m = load(DPSIM_NET_VGG16, DPSIM_METHOD_SPATIAL, 0, -1, 0, NULL);
    CHECK(stream_applies(m, 1, 512, 512));
    CHECK(!stream_applies(m, 1, 64, 64));
    /* 224x224: 47 MB of features a pair, under the 48 MB of STREAM_FEATURES_MIN_FLOATS;
       256x256: 61 MB */
    CHECK(!stream_applies(m, 1, 224, 224) && stream_applies(m, 1, 256, 256));
    /* bands of even 2 pairs at 256x256 pass the budget at the least step: one at a time */
    CHECK(stream_pairs(m, 2, 256, 256) == 1 && stream_pairs(m, 4, 64, 64) == 4);
    check_shared_winograd(m);
    dpsim_model_free(m);
    /* SqueezeNet 256x256: 3 pairs fit the budget, 4 do not and run as 2 and 2 */
    m = load(DPSIM_NET_SQUEEZE, DPSIM_METHOD_SPATIAL, 0, -1, 0, NULL);
    CHECK(stream_pairs(m, 3, 256, 256) == 3 && stream_pairs(m, 4, 256, 256) == 2);
    check_split(m, 256, 256);
    dpsim_model_free(m);
    m = load(DPSIM_NET_VGG16, DPSIM_METHOD_SPATIAL_MEAN, 0, -1, 0, NULL);
    CHECK(!stream_applies(m, 1, 512, 512));
    dpsim_model_free(m);
    gen_trunk_cleanup();
    return check_report();
}
