/*
 * maxpool.c - max-pooling without padding, PyTorch's output-size rule
 * including ceil_mode (SqueezeNet): out = floor((in - k [+ s - 1]) / s) + 1,
 * minus one if the last window would start at or past the input; windows are
 * clipped to the input (in ceil mode a window may be partly outside).
 */
#include "nn/nn.h"

int maxpool_out_size(const maxpool_shape *s, int in)
{
    int num = in - s->kernel + (s->ceil_mode ? s->stride - 1 : 0);
    int out = (num >= 0 ? num / s->stride : -((-num + s->stride - 1) / s->stride)) + 1;
    if (s->ceil_mode && out > 0 && (out - 1) * s->stride >= in)
        out--;
    return out;
}

void maxpool_forward(const maxpool_shape *s, const float *in, int c, int h, int w, float *out)
{
    const int ho = maxpool_out_size(s, h), wo = maxpool_out_size(s, w);
    for (int ch = 0; ch < c; ch++) {
        const float *src = in + (size_t)ch * h * w;     // (h, w)
        float *dst = out + (size_t)ch * ho * wo;        // (ho, wo)
        for (int oy = 0; oy < ho; oy++) {
            int y0 = oy * s->stride, y1 = y0 + s->kernel < h ? y0 + s->kernel : h;
            for (int ox = 0; ox < wo; ox++) {
                int x0 = ox * s->stride, x1 = x0 + s->kernel < w ? x0 + s->kernel : w;
                float m = src[(size_t)y0 * w + x0];
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        m = src[(size_t)y * w + x] > m ? src[(size_t)y * w + x] : m;
                dst[(size_t)oy * wo + ox] = m;
            }
        }
    }
}
