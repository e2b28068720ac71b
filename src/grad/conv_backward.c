/*
 * conv_backward.c - input gradient of a convolution (the transpose of
 * conv2d_forward), the scalar reference: each (output channel, input
 * channel, ky, kx) weight scatters a row of output gradients into the input
 * gradient, only over positions that were inside the (unpadded) input.
 */
#include "grad/grad.h"

/* Output positions o in [lo, hi) whose input position o * stride - pad + k is in [0, n). */
static void inside_range(int k, int stride, int pad, int n, int n_out, int *lo, int *hi)
{
    int first = pad - k, last = n - 1 + pad - k;
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > n_out)
        *hi = n_out;
    if (*lo > *hi)
        *lo = *hi;
}

void conv2d_backward_input(const conv2d_shape *s, const double *d_out, int h, int w,
                           const float *weight, double *d_in)
{
    const int k = s->kernel, st = s->stride, pad = s->pad;
    const int ho = conv2d_out_size(s, h), wo = conv2d_out_size(s, w);
    for (int ic = 0; ic < s->in_ch; ic++) {
        double *dst = d_in + (size_t)ic * h * w; // (h, w)
        for (int oc = 0; oc < s->out_ch; oc++) {
            const double *src = d_out + (size_t)oc * ho * wo;                // (ho, wo)
            const float *wk = weight + ((size_t)oc * s->in_ch + ic) * k * k; // (k, k)
            for (int ky = 0; ky < k; ky++) {
                int oy_lo, oy_hi;
                inside_range(ky, st, pad, h, ho, &oy_lo, &oy_hi);
                for (int kx = 0; kx < k; kx++) {
                    const double wv = wk[ky * k + kx];
                    int ox_lo, ox_hi;
                    inside_range(kx, st, pad, w, wo, &ox_lo, &ox_hi);
                    for (int oy = oy_lo; oy < oy_hi; oy++) {
                        double *row = dst + (size_t)(oy * st - pad + ky) * w - pad + kx;
                        const double *g = src + (size_t)oy * wo;
                        if (st == 1) {
                            for (int ox = ox_lo; ox < ox_hi; ox++)
                                row[ox] += wv * g[ox];
                        } else {
                            for (int ox = ox_lo; ox < ox_hi; ox++)
                                row[ox * st] += wv * g[ox];
                        }
                    }
                }
            }
        }
    }
}
