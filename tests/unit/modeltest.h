/*
 * modeltest.h - shared steps of the tests on pseudo-random models (testgen.h):
 * a context with some threads, a trunk written to a safetensors file, the
 * features of a generated image (each step CHECKed), and bit equality of two
 * feature sets.
 */
#ifndef DPSIM_TESTS_MODELTEST_H
#define DPSIM_TESTS_MODELTEST_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"
#include "testgen.h"

/* A context with that many threads (CHECKed; NULL on failure). */
static inline dpsim_ctx *ctx_with(int threads)
{
    dpsim_config cfg;
    dpsim_config_init(&cfg);
    cfg.n_threads = threads;
    dpsim_ctx *ctx = NULL;
    CHECK(dpsim_ctx_create(&ctx, &cfg) == DPSIM_OK);
    return ctx;
}

/* The pseudo-random trunk of net with seed, written to path. */
static inline void write_trunk(dpsim_net net, uint64_t seed, const char *path)
{
    tensor_list list = {0};
    CHECK(gen_trunk(net_def_get(net), seed, &list));
    CHECK(safetensors_write_file(path, &list, NULL, NULL) == DPSIM_OK);
    tensor_list_free(&list);
}

/* The features of the image "gen:seed" of w x h; NULL (and a failed check) on error. */
static inline dpsim_features *extract_gen(dpsim_ctx *ctx, const dpsim_model *m, uint64_t seed,
                                          int w, int h)
{
    float *px = malloc((size_t)3 * w * h * sizeof(float));
    gen_image(seed, w, h, px);
    dpsim_features *f = NULL;
    CHECK(dpsim_extract(ctx, m, px, w, h, &f) == DPSIM_OK);
    free(px);
    return f;
}

/* 1 when a and b hold the same taps, bit for bit */
static inline int features_equal(const dpsim_features *a, const dpsim_features *b)
{
    if (a->n_taps != b->n_taps)
        return 0;
    for (int t = 0; t < a->n_taps; t++) {
        const size_t n = (size_t)a->c[t] * a->h[t] * a->w[t];
        if (b->c[t] * b->h[t] * b->w[t] != (int)n || memcmp(a->tap[t], b->tap[t], n * 4))
            return 0;
    }
    return 1;
}

#endif
