/*
 * l2pool.c - DISTS's L2 pooling (Ding et al. 2020): a fixed 3x3 Hann-window
 * blur of the squared input, stride 2, zero padding 1, then a square root.
 * Accumulated in double, like the other kernels.
 */
#include <math.h>

#include "nn/nn.h"

static const float g[3][3] = {{1.0f / 16, 2.0f / 16, 1.0f / 16},
                              {2.0f / 16, 4.0f / 16, 2.0f / 16},
                              {1.0f / 16, 2.0f / 16, 1.0f / 16}};

void l2pool_forward(const float *in, int c, int h, int w, float *out)
{
    const int ho = (h - 1) / 2 + 1, wo = (w - 1) / 2 + 1;
    for (int ch = 0; ch < c; ch++) {
        const float *src = in + (size_t)ch * h * w; // (h, w)
        float *dst = out + (size_t)ch * ho * wo;    // (ho, wo)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                double acc = 0.0;
                for (int ky = 0; ky < 3; ky++) {
                    int y = 2 * oy - 1 + ky;
                    if (y < 0 || y >= h)
                        continue;
                    for (int kx = 0; kx < 3; kx++) {
                        int x = 2 * ox - 1 + kx;
                        if (x >= 0 && x < w)
                            acc += (double)g[ky][kx] * src[(size_t)y * w + x] *
                                   src[(size_t)y * w + x];
                    }
                }
                dst[(size_t)oy * wo + ox] = (float)sqrt(acc + 1e-12);
            }
    }
}
