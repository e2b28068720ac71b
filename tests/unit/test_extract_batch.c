/*
 * test_extract_batch.c - dpsim_extract_batch gives every image the feature
 * bits dpsim_extract gives it, side by side (small images) or one after
 * another (a batch holding a large image), for 1, 2 and 3 threads; a bad
 * image fails the batch naming its index and leaves no features behind.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"
#include "modeltest.h"
#include "testgen.h"

enum { N = 5 };

static dpsim_ctx *ctx_with(int threads)
{
    dpsim_config cfg;
    dpsim_config_init(&cfg);
    cfg.n_threads = threads;
    dpsim_ctx *ctx = NULL;
    CHECK(dpsim_ctx_create(&ctx, &cfg) == DPSIM_OK);
    return ctx;
}

/* sizes: N images, small ones, or with large = 1 the third one past 256x256 */
static void check_batch(const dpsim_model *m, int large)
{
    int widths[N] = {64, 67, 40, 96, 33}, heights[N] = {64, 53, 90, 80, 33};
    if (large) {
        widths[2] = 300;
        heights[2] = 260;
    }
    float *img[N];
    dpsim_features *ref[N];
    for (int i = 0; i < N; i++) {
        img[i] = malloc((size_t)3 * widths[i] * heights[i] * sizeof(float));
        gen_image((uint64_t)i + 20, widths[i], heights[i], img[i]);
        CHECK(dpsim_extract(NULL, m, img[i], widths[i], heights[i], &ref[i]) == DPSIM_OK);
    }
    for (int t = 1; t <= 3; t++) {
        dpsim_ctx *ctx = ctx_with(t);
        dpsim_features *f[N];
        CHECK(dpsim_extract_batch(ctx, m, N, (const float *const *)img, widths, heights, f) ==
              DPSIM_OK);
        for (int i = 0; i < N; i++) {
            CHECK_MSG(features_equal(ref[i], f[i]), "large %d, %d threads, image %d differs",
                      large, t, i);
            dpsim_features_free(f[i]);
        }
        dpsim_ctx_free(ctx);
    }
    for (int i = 0; i < N; i++) {
        dpsim_features_free(ref[i]);
        free(img[i]);
    }
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
    dpsim_features *none = NULL;
    CHECK(dpsim_extract_batch(NULL, m, 0, NULL, NULL, NULL, &none) == DPSIM_OK);
    for (int i = 0; i < N; i++)
        free(img[i]);
}

int main(void)
{
    char path[512];
    CHECK(gen_trunk_path("random:3", DPSIM_NET_SQUEEZE, path, sizeof path));
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.trunk_path = path;
    opt.use_lin = 0;
    dpsim_model *m = NULL;
    CHECK(dpsim_model_load(NULL, &opt, &m) == DPSIM_OK);
    check_batch(m, 0);
    check_batch(m, 1);
    check_bad_image(m);
    dpsim_model_free(m);
    gen_trunk_cleanup();
    return check_report();
}
