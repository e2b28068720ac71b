/*
 * normalize_backward.c - the LPIPS unit normalisation along channels,
 * n = z / (|z| + eps), in double, and its gradient. eps is NORM_EPS of
 * src/compare/methods.h, so values equal the comparison terms'. Positions
 * go in blocks of NORM_BLOCK with the position innermost, so each channel
 * plane is read contiguously (the loops vectorise) and per-position sums
 * stay in the cache; every sum still runs over the channels in order.
 */
#include <math.h>

#include "compare/methods.h"
#include "grad/grad.h"

void channel_sumsq(const double *z, int c, size_t hw, int n, double *s)
{
    for (int i = 0; i < n; i++)
        s[i] = 0.0;
    for (int ch = 0; ch < c; ch++) {
        const double *plane = z + (size_t)ch * hw; // (n) of this channel
        for (int i = 0; i < n; i++)
            s[i] += plane[i] * plane[i];
    }
}

void unit_norm_forward(const double *z, int c, size_t hw, double *n, double *inv)
{
    for (size_t i0 = 0; i0 < hw; i0 += NORM_BLOCK) {
        const int nb = hw - i0 < NORM_BLOCK ? (int)(hw - i0) : NORM_BLOCK;
        double s[NORM_BLOCK];
        channel_sumsq(z + i0, c, hw, nb, s);
        for (int i = 0; i < nb; i++)
            inv[i0 + i] = 1.0 / (sqrt(s[i]) + NORM_EPS);
        for (int ch = 0; ch < c; ch++) {
            const size_t k = (size_t)ch * hw + i0;
            for (int i = 0; i < nb; i++)
                n[k + i] = z[k + i] * inv[i0 + i];
        }
    }
}

void unit_norm_backward(const double *z, int c, size_t hw, const double *inv,
                        const double *d_n, double *d_z)
{
    for (size_t i0 = 0; i0 < hw; i0 += NORM_BLOCK) {
        const int nb = hw - i0 < NORM_BLOCK ? (int)(hw - i0) : NORM_BLOCK;
        double s[NORM_BLOCK], dot[NORM_BLOCK], ik[NORM_BLOCK], k[NORM_BLOCK];
        channel_sumsq(z + i0, c, hw, nb, s);
        for (int i = 0; i < nb; i++)
            dot[i] = 0.0;
        for (int ch = 0; ch < c; ch++) {
            const size_t o = (size_t)ch * hw + i0;
            for (int i = 0; i < nb; i++)
                dot[i] += d_n[o + i] * z[o + i];
        }
        for (int i = 0; i < nb; i++)
            norm_factors(s[i], inv[i0 + i], dot[i], &ik[i], &k[i]);
        for (int ch = 0; ch < c; ch++) {
            const size_t o = (size_t)ch * hw + i0;
            for (int i = 0; i < nb; i++)
                d_z[o + i] += ik[i] * d_n[o + i] - k[i] * z[o + i];
        }
    }
}

void norm_backward(const double *z, int c, size_t hw, int norm, const double *inv,
                   const double *d_n, double *d_z)
{
    if (!d_z)
        return;
    if (norm) {
        unit_norm_backward(z, c, hw, inv, d_n, d_z);
        return;
    }
    for (size_t k = 0; k < (size_t)c * hw; k++)
        d_z[k] += d_n[k];
}
