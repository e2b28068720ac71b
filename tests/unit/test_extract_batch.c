/*
 * test_extract_batch.c - dpsim_extract_batch gives every image the feature
 * bits dpsim_extract gives it, whichever way it runs them: together through
 * the net (small images of one size, in chunks of NET_MAX_BATCH), side by
 * side (small images of several sizes) or one after another (a batch holding
 * a large image), for 1, 2 and 3 threads; a bad image fails the batch naming
 * its index and leaves no features behind.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"
#include "modeltest.h"
#include "testgen.h"

enum { N = 5 };

/* n images of the given sizes: the batch's features equal dpsim_extract's, 1-3 threads */
static void check_batch(const dpsim_model *m, int n, const int *widths, const int *heights,
                        const char *what)
{
    float **img = malloc((size_t)n * sizeof *img);
    dpsim_features **ref = malloc((size_t)n * sizeof *ref), **f = malloc((size_t)n * sizeof *f);
    for (int i = 0; i < n; i++) {
        img[i] = malloc((size_t)3 * widths[i] * heights[i] * sizeof(float));
        gen_image((uint64_t)i + 20, widths[i], heights[i], img[i]);
        CHECK(dpsim_extract(NULL, m, img[i], widths[i], heights[i], &ref[i]) == DPSIM_OK);
    }
    for (int t = 1; t <= 3; t++) {
        dpsim_ctx *ctx = ctx_with(t);
        CHECK(dpsim_extract_batch(ctx, m, n, (const float *const *)img, widths, heights, f) ==
              DPSIM_OK);
        for (int i = 0; i < n; i++) {
            CHECK_MSG(features_equal(ref[i], f[i]), "%s, %d threads, image %d differs", what, t,
                      i);
            dpsim_features_free(f[i]);
        }
        dpsim_ctx_free(ctx);
    }
    for (int i = 0; i < n; i++) {
        dpsim_features_free(ref[i]);
        free(img[i]);
    }
    free(img);
    free(ref);
    free(f);
}

static void check_batches(const dpsim_model *m)
{
    int widths[N] = {64, 67, 40, 96, 33}, heights[N] = {64, 53, 90, 80, 33};
    check_batch(m, N, widths, heights, "several small sizes");
    widths[2] = 600;
    heights[2] = 520;
    check_batch(m, N, widths, heights, "with a large image");
    enum { MANY = NET_MAX_BATCH + 3 };
    int same_w[MANY], same_h[MANY];
    for (int i = 0; i < MANY; i++) {
        same_w[i] = 45;
        same_h[i] = 38;
    }
    check_batch(m, MANY, same_w, same_h, "one size, more than a chunk");
}

/* image 3 below the net's minimum size: the batch fails, naming it, with no features left */
static void check_bad_image(const dpsim_model *m)
{
    int widths[N] = {64, 64, 64, 8, 64}, heights[N] = {64, 64, 64, 8, 64};
    float *img[N];
    for (int i = 0; i < N; i++) {
        img[i] = malloc((size_t)3 * widths[i] * heights[i] * sizeof(float));
        gen_image((uint64_t)i + 40, widths[i], heights[i], img[i]);
    }
    for (int t = 1; t <= 2; t++) {
        dpsim_ctx *ctx = ctx_with(t);
        dpsim_features *f[N];
        CHECK(dpsim_extract_batch(ctx, m, N, (const float *const *)img, widths, heights, f) ==
              DPSIM_E_SHAPE);
        CHECK_MSG(strstr(dpsim_ctx_last_error(ctx), "image 3 of the batch") != NULL, "error: %s",
                  dpsim_ctx_last_error(ctx));
        for (int i = 0; i < N; i++)
            CHECK(f[i] == NULL);
        dpsim_ctx_free(ctx);
    }
    /* one size (run together): image 3 holds a NaN */
    for (int i = 0; i < N; i++) {
        free(img[i]);
        widths[i] = heights[i] = 40;
        img[i] = malloc((size_t)3 * 40 * 40 * sizeof(float));
        gen_image((uint64_t)i + 60, 40, 40, img[i]);
    }
    img[3][100] = NAN;
    dpsim_ctx *ctx = ctx_with(2);
    dpsim_features *f[N];
    CHECK(dpsim_extract_batch(ctx, m, N, (const float *const *)img, widths, heights, f) ==
          DPSIM_E_INVAL);
    CHECK_MSG(strstr(dpsim_ctx_last_error(ctx), "image 3 of the batch") != NULL, "error: %s",
              dpsim_ctx_last_error(ctx));
    for (int i = 0; i < N; i++)
        CHECK(f[i] == NULL);
    dpsim_ctx_free(ctx);
    dpsim_features *none = NULL;
    CHECK(dpsim_extract_batch(NULL, m, 0, NULL, NULL, NULL, &none) == DPSIM_OK);
    for (int i = 0; i < N; i++)
        free(img[i]);
}

static dpsim_model *load(dpsim_net net)
{
    char path[512];
    CHECK(gen_trunk_path("random:3", net, path, sizeof path));
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = net;
    opt.trunk_path = path;
    opt.use_lin = 0;
    dpsim_model *m = NULL;
    CHECK(dpsim_model_load(NULL, &opt, &m) == DPSIM_OK);
    return m;
}

int main(void)
{
    dpsim_model *m = load(DPSIM_NET_SQUEEZE);
    check_batches(m);
    check_bad_image(m);
    dpsim_model_free(m);
    /* the other nets' layers (strides 4 and 2, 5x5, 11x11), one size together */
    const dpsim_net others[] = {DPSIM_NET_ALEX, DPSIM_NET_VGG16};
    int widths[N] = {64, 64, 64, 64, 64}, heights[N] = {57, 57, 57, 57, 57};
    for (int i = 0; i < 2; i++) {
        m = load(others[i]);
        check_batch(m, N, widths, heights, dpsim_net_name(others[i]));
        dpsim_model_free(m);
    }
    gen_trunk_cleanup();
    return check_report();
}
