/*
 * conv2d.c - direct 2-D convolution, the scalar reference. For each output
 * channel the whole output plane is accumulated in double, one (input
 * channel, ky, kx) tap at a time, so the inner loop is a contiguous axpy for
 * stride 1 and the sum does not depend on any blocking choice.
 */
#include "nn/nn.h"

int conv2d_out_size(const conv2d_shape *s, int in)
{
    int span = in + 2 * s->pad - s->kernel;
    if (span < 0)
        return 0;
    return span / s->stride + 1;
}

/* First and one-past-last output column whose input column ox*stride - pad + k is in [0, w). */
static void valid_range(int k, int stride, int pad, int w, int wo, int *lo, int *hi)
{
    int first = pad - k; /* ox*stride >= pad - k */
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    int last = w - 1 + pad - k; /* ox*stride <= w - 1 + pad - k */
    *hi = last < 0 ? 0 : last / stride + 1;
    if (*hi > wo)
        *hi = wo;
    if (*lo > *hi)
        *lo = *hi;
}

void conv2d_forward(const conv2d_shape *s, const float *in, int h, int w, const float *weight,
                    const float *bias, float *out, double *acc)
{
    const int k = s->kernel, st = s->stride, pad = s->pad;
    const int ho = conv2d_out_size(s, h), wo = conv2d_out_size(s, w);
    const size_t plane = (size_t)ho * wo;
    for (int oc = 0; oc < s->out_ch; oc++) {
        for (size_t i = 0; i < plane; i++)
            acc[i] = bias[oc];
        for (int ic = 0; ic < s->in_ch; ic++) {
            const float *src = in + (size_t)ic * h * w;        // (h, w)
            const float *wk = weight + ((size_t)oc * s->in_ch + ic) * k * k; // (k, k)
            for (int ky = 0; ky < k; ky++) {
                int oy_lo, oy_hi;
                valid_range(ky, st, pad, h, ho, &oy_lo, &oy_hi);
                for (int kx = 0; kx < k; kx++) {
                    const double wv = wk[ky * k + kx];
                    int ox_lo, ox_hi;
                    valid_range(kx, st, pad, w, wo, &ox_lo, &ox_hi);
                    for (int oy = oy_lo; oy < oy_hi; oy++) {
                        const float *row = src + (size_t)(oy * st - pad + ky) * w - pad + kx;
                        double *dst = acc + (size_t)oy * wo;
                        if (st == 1) {
                            for (int ox = ox_lo; ox < ox_hi; ox++)
                                dst[ox] += wv * row[ox];
                        } else {
                            for (int ox = ox_lo; ox < ox_hi; ox++)
                                dst[ox] += wv * row[ox * st];
                        }
                    }
                }
            }
        }
        float *o = out + (size_t)oc * plane;
        for (size_t i = 0; i < plane; i++)
            o[i] = (float)acc[i];
    }
}
