/*
 * texture.h - smooth random colour textures for the training tests: per
 * channel a sum of four sinusoids with frequencies and phases drawn from
 * the library's generator, values in [0.15, 0.85].
 */
#ifndef DPSIM_TESTS_TEXTURE_H
#define DPSIM_TESTS_TEXTURE_H

#include <math.h>

#include "dpsim/dpsim.h"

/* img (3, s, s) */
static inline void texture(dpsim_rng *rng, int s, float *img)
{
    for (int c = 0; c < 3; c++) {
        double f[4][3];
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 3; j++)
                f[k][j] = dpsim_rng_uniform(rng) * (j < 2 ? 5.0 : 6.28);
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                double v = 0;
                for (int k = 0; k < 4; k++)
                    v += sin(6.28318 * (f[k][0] * x + f[k][1] * y) / s + f[k][2]);
                img[(c * s + y) * s + x] = (float)(0.5 + 0.35 * v / 4.0);
            }
    }
}

#endif
