/*
 * normalize.c - the LPIPS unit normalisation along channels,
 * n(z) = z / (sqrt(sum_c z^2) + eps), as a per-position reciprocal.
 */
#include "nn/nn.h"

#include <math.h>

void channel_inv_norm(const float *z, int c, size_t hw, double eps, double *inv)
{
    for (size_t i = 0; i < hw; i++)
        inv[i] = 0.0;
    for (int ch = 0; ch < c; ch++) {
        const float *plane = z + (size_t)ch * hw;
        for (size_t i = 0; i < hw; i++)
            inv[i] += (double)plane[i] * plane[i];
    }
    for (size_t i = 0; i < hw; i++)
        inv[i] = 1.0 / (sqrt(inv[i]) + eps);
}
