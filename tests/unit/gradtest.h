/*
 * gradtest.h - shared pieces of the gradient tests: the tie-free
 * "grad:S:WxH" images of tools/scripts/gen_grad_vectors.py (pseudo-random
 * trunks: gen_trunk_path in testgen.h).
 */
#ifndef DPSIM_TESTS_GRADTEST_H
#define DPSIM_TESTS_GRADTEST_H

#include <stdlib.h>

#include "check.h"
#include "testgen.h"

/* "grad:S:WxH": (3, h, w) floats (p + u) / 256, p the gen:S pixel, u in [0,1) from
   splitmix64((S << 48) ^ (7 << 32) ^ i), i = (c h + y) w + x */
static inline void grad_image(uint64_t seed, int w, int h, float *out)
{
    gen_image(seed, w, h, out);
    for (size_t i = 0; i < (size_t)3 * w * h; i++) {
        uint64_t z = (seed << 48) ^ (7ULL << 32) ^ (uint64_t)i;
        double u = (double)(splitmix64(z) >> 40) / 16777216.0;
        double p = (double)(int)(out[i] * 255.0f + 0.5f);
        out[i] = (float)((p + u) / 256.0);
    }
}

#endif
