/*
 * normalize_backward.c - the LPIPS unit normalisation along channels,
 * n = z / (|z| + eps), in double, and its gradient. eps is NORM_EPS of
 * src/compare/methods.h, so values equal the comparison terms'.
 */
#include <math.h>

#include "compare/methods.h"
#include "grad/grad.h"

void unit_norm_forward(const double *z, int c, size_t hw, double *n, double *inv)
{
    for (size_t i = 0; i < hw; i++) {
        double s = 0.0;
        for (int ch = 0; ch < c; ch++)
            s += z[(size_t)ch * hw + i] * z[(size_t)ch * hw + i];
        inv[i] = 1.0 / (sqrt(s) + NORM_EPS);
        for (int ch = 0; ch < c; ch++)
            n[(size_t)ch * hw + i] = z[(size_t)ch * hw + i] * inv[i];
    }
}

void unit_norm_backward(const double *z, int c, size_t hw, const double *inv,
                        const double *d_n, double *d_z)
{
    for (size_t i = 0; i < hw; i++) {
        double s = 0.0, dot = 0.0;
        for (int ch = 0; ch < c; ch++) {
            const double v = z[(size_t)ch * hw + i];
            s += v * v;
            dot += d_n[(size_t)ch * hw + i] * v;
        }
        if (s == 0.0)
            continue; /* all-zero features: gradient taken as zero (see grad.h) */
        const double norm = sqrt(s), k = inv[i] * inv[i] * dot / norm;
        for (int ch = 0; ch < c; ch++)
            d_z[(size_t)ch * hw + i] += inv[i] * d_n[(size_t)ch * hw + i] -
                                        k * z[(size_t)ch * hw + i];
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
