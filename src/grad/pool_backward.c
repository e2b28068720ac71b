/*
 * pool_backward.c - gradients of max pooling (ceil mode included: windows are
 * clipped to the input exactly as in maxpool_forward) and of DISTS's L2
 * pooling (recomputed in double from the input).
 */
#include <math.h>
#include <string.h>

#include "fast/pool.h"
#include "grad/grad.h"

typedef struct maxpool_job {
    const maxpool_shape *s;
    const float *in, *d_out;
    float *d_in;
    int c, h, w, workers;
} maxpool_job;

/* Channels go round the workers: each writes only its own planes of d_in. */
static void maxpool_worker(void *arg, int worker)
{
    const maxpool_job *j = arg;
    const maxpool_shape *s = j->s;
    const int h = j->h, w = j->w, ho = maxpool_out_size(s, h), wo = maxpool_out_size(s, w);
    for (int ch = worker; ch < j->c; ch += j->workers) {
        const float *src = j->in + (size_t)ch * h * w;     // (h, w)
        const float *g = j->d_out + (size_t)ch * ho * wo;  // (ho, wo)
        float *dst = j->d_in + (size_t)ch * h * w;         // (h, w)
        memset(dst, 0, (size_t)h * w * sizeof(float));
        for (int oy = 0; oy < ho; oy++) {
            int y0 = oy * s->stride, y1 = y0 + s->kernel < h ? y0 + s->kernel : h;
            for (int ox = 0; ox < wo; ox++) {
                int x0 = ox * s->stride, x1 = x0 + s->kernel < w ? x0 + s->kernel : w;
                /* the running maximum in a register, selects not branches: which
                   element wins is data, a branch on it mispredicts half the time */
                size_t best = (size_t)y0 * w + x0;
                float m = src[best];
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) {
                        const size_t at = (size_t)y * w + x;
                        const int gt = src[at] > m;
                        m = gt ? src[at] : m;
                        best = gt ? at : best;
                    }
                dst[best] += g[(size_t)oy * wo + ox];
            }
        }
    }
}

void maxpool_backward(const maxpool_shape *s, const float *in, int c, int h, int w,
                      const float *d_out, float *d_in, worker_pool *workers)
{
    maxpool_job j = {s, in, d_out, d_in, c, h, w, pool_size(workers)};
    pool_run(workers, maxpool_worker, &j);
}

static const double g3[3] = {1.0 / 4, 2.0 / 4, 1.0 / 4}; /* g = g3 g3^T */

void l2pool_backward(const float *in, int c, int h, int w, const float *d_out, float *d_in)
{
    const int ho = (h - 1) / 2 + 1, wo = (w - 1) / 2 + 1;
    for (int ch = 0; ch < c; ch++) {
        const float *src = in + (size_t)ch * h * w;     // (h, w)
        const float *g = d_out + (size_t)ch * ho * wo; // (ho, wo)
        float *dst = d_in + (size_t)ch * h * w;        // (h, w)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                double acc = 0.0;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int y = 2 * oy - 1 + ky, x = 2 * ox - 1 + kx;
                        if (y >= 0 && y < h && x >= 0 && x < w) {
                            double v = src[(size_t)y * w + x];
                            acc += g3[ky] * g3[kx] * v * v;
                        }
                    }
                /* d sqrt(acc + 1e-12) / d v = g v / y */
                const double f = g[(size_t)oy * wo + ox] / sqrt(acc + 1e-12);
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int y = 2 * oy - 1 + ky, x = 2 * ox - 1 + kx;
                        if (y >= 0 && y < h && x >= 0 && x < w)
                            dst[(size_t)y * w + x] +=
                                (float)(f * g3[ky] * g3[kx] * src[(size_t)y * w + x]);
                    }
            }
    }
}
