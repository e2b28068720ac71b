/*
 * dists.c - the DISTS term of one tap (thesis eq. 4.5/4.6): per channel,
 * population mean, variance and covariance over positions; texture
 * t = (2 mu mu0 + c1) / (mu^2 + mu0^2 + c1), structure
 * s = (2 cov + c2) / (var + var0 + c2); c1 = c2 = 1e-6. Weights are
 * scaled by 1 / (sum alpha + sum beta) over all taps, given by the caller;
 * NULL weights are all ones.
 */
#include "compare/methods.h"

#define DISTS_C1 1e-6
#define DISTS_C2 1e-6

double dists_term(const tap_pair *p, const float *alpha, const float *beta, double scale)
{
    const size_t hw = (size_t)p->h * p->w;
    double sum = 0.0;
    for (int ch = 0; ch < p->c; ch++) {
        const float *x = p->a + (size_t)ch * hw, *y = p->b + (size_t)ch * hw;
        double mx = 0.0, my = 0.0;
        for (size_t i = 0; i < hw; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= (double)hw;
        my /= (double)hw;
        double vx = 0.0, vy = 0.0, cxy = 0.0;
        for (size_t i = 0; i < hw; i++) {
            vx += (x[i] - mx) * (x[i] - mx);
            vy += (y[i] - my) * (y[i] - my);
            cxy += (x[i] - mx) * (y[i] - my);
        }
        vx /= (double)hw;
        vy /= (double)hw;
        cxy /= (double)hw;
        double t = (2.0 * mx * my + DISTS_C1) / (mx * mx + my * my + DISTS_C1);
        double s = (2.0 * cxy + DISTS_C2) / (vx + vy + DISTS_C2);
        const double wa = alpha ? alpha[ch] : 1.0, wb = beta ? beta[ch] : 1.0;
        sum += scale * (wa * (1.0 - t) + wb * (1.0 - s));
    }
    return sum;
}
