/*
 * modeltest.h - shared steps of the tests on pseudo-random models (testgen.h):
 * a trunk written to a safetensors file, and the features of a generated
 * image; each step CHECKed.
 */
#ifndef DPSIM_TESTS_MODELTEST_H
#define DPSIM_TESTS_MODELTEST_H

#include <stdlib.h>

#include "check.h"
#include "testgen.h"

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

#endif
