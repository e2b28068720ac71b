/*
 * upsample.c - bilinear resampling with PyTorch's align_corners=False rule
 * for a given output size: src = max((dst + 0.5) * in/out - 0.5, 0),
 * i0 = floor(src), i1 = min(i0 + 1, in - 1), weights (1 - f, f); computed in
 * float like PyTorch's CPU kernel.
 */
#include "nn/nn.h"

typedef struct tap2 {
    int i0, i1;
    float w0, w1;
} tap2;

static tap2 source_taps(int dst, int in, int out)
{
    const float scale = (float)in / (float)out;
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0.0f)
        src = 0.0f;
    tap2 t;
    t.i0 = (int)src;
    if (t.i0 > in - 1)
        t.i0 = in - 1;
    t.i1 = t.i0 < in - 1 ? t.i0 + 1 : t.i0;
    t.w1 = src - (float)t.i0;
    if (t.w1 > 1.0f)
        t.w1 = 1.0f;
    t.w0 = 1.0f - t.w1;
    return t;
}

void upsample_bilinear_add(const float *in, int ih, int iw, float *out, int oh, int ow)
{
    for (int y = 0; y < oh; y++) {
        tap2 ty = source_taps(y, ih, oh);
        const float *r0 = in + (size_t)ty.i0 * iw, *r1 = in + (size_t)ty.i1 * iw;
        for (int x = 0; x < ow; x++) {
            tap2 tx = source_taps(x, iw, ow);
            float top = tx.w0 * r0[tx.i0] + tx.w1 * r0[tx.i1];
            float bottom = tx.w0 * r1[tx.i0] + tx.w1 * r1[tx.i1];
            out[(size_t)y * ow + x] += ty.w0 * top + ty.w1 * bottom;
        }
    }
}
