/*
 * conv_fast_grad.c - the input gradient of a convolution on the fast
 * kernels (conv_fast.h): a transposed convolution where one exists (by
 * Winograd on the forward's own transformed weights where it wins,
 * conv_wino_grad.c), else patch gradients scattered back onto the input.
 */
#include <string.h>

#include "core/alloc.h"
#include "fast/conv_fast.h"
#include "fast/conv_wino.h"

void packed_conv_grad_init(packed_conv_grad *g, const packed_conv *fwd)
{
    const conv2d_shape *s = &fwd->shape;
    memset(g, 0, sizeof *g);
    g->shape = *s;
    /* the transposed convolution has in_ch output rows: fewer than a tile's mr would waste
       most of every tile (VGG's first layer: 3 of 8), the patches have in_ch * k * k */
    g->via_patches = s->stride != 1 || s->pad > s->kernel - 1 || s->in_ch < fwd->kern->mr;
}

/* Does the gradient for an ho x wo d_out run by Winograd on fwd's weights? The one rule that
   both packing (packed_conv_grad_direct) and running (transposed) follow. */
static int on_forward_weights(const packed_conv *fwd, const packed_conv_grad *g, int ho, int wo)
{
    return !g->via_patches && conv_wino_grad_wins(fwd, ho, wo);
}

int packed_conv_grad_direct(const packed_conv *fwd, const packed_conv_grad *g, int h, int w)
{
    return !on_forward_weights(fwd, g, conv2d_out_size(&g->shape, h),
                               conv2d_out_size(&g->shape, w));
}

dpsim_status packed_conv_grad_pack(packed_conv_grad *g, const packed_conv *fwd, errbuf *e)
{
    const conv2d_shape *s = &fwd->shape;
    const int k = s->kernel, kk = k * k, ci = s->in_ch, co = s->out_ch;
    conv2d_shape ts;
    float *wt = dp_malloc((size_t)co * ci * kk * sizeof(float));
    if (!wt)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for packed convolution weights");
    if (g->via_patches) {
        ts = (conv2d_shape){co, ci * kk, 1, 1, 0};
        for (int oc = 0; oc < co; oc++) /* wt (ci*kk, co) = W^T */
            for (int r = 0; r < ci * kk; r++)
                wt[(size_t)r * co + oc] = packed_conv_weight(fwd, oc, r);
    } else {
        ts = (conv2d_shape){co, ci, k, 1, k - 1 - s->pad};
        for (int oc = 0; oc < co; oc++) /* wt (ci, co, k, k), flipped */
            for (int ic = 0; ic < ci; ic++)
                for (int q = 0; q < kk; q++)
                    wt[((size_t)ic * co + oc) * kk + q] =
                        packed_conv_weight(fwd, oc, ic * kk + kk - 1 - q);
    }
    dpsim_status st = packed_conv_init(&g->t, &ts, wt, NULL, fwd->kern, e);
    dp_free(wt);
    return st;
}

void packed_conv_grad_free(packed_conv_grad *g)
{
    packed_conv_free(&g->t);
    dp_free(atomic_load(&g->u));
}

/* d_in (ci, h, w) += the patch gradients cols (ci*k*k, ho*wo) at their input positions: tasks
   of SCATTER_ROWS input rows of one channel go round the workers, and every input value
   adds its terms in (ky, kx) order whichever worker takes it */
typedef struct scatter_job {
    const conv2d_shape *s;
    const float *cols;
    int h, w, ho, wo, workers;
    float *d_in;
} scatter_job;

#define SCATTER_ROWS 8

static void scatter_rows(const scatter_job *j, int ic, int y0, int y1)
{
    const int k = j->s->kernel, st = j->s->stride, pad = j->s->pad, w = j->w, wo = j->wo;
    float *plane = j->d_in + (size_t)ic * j->h * w; // (h, w)
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            const float *row = j->cols + ((size_t)(ic * k + ky) * k + kx) * j->ho * wo;
            /* ox in [lo, hi): input column ox * st - pad + kx inside [0, w) */
            const int lo = kx >= pad ? 0 : (pad - kx + st - 1) / st;
            const int r = w - 1 + pad - kx, last = r < 0 ? 0 : r / st + 1;
            const int hi = last < wo ? last : wo;
            /* oy in [oy_lo, oy_hi): input row oy * st - pad + ky inside [y0, y1) */
            const int a = y0 + pad - ky, b = y1 + pad - ky;
            const int oy_lo = a <= 0 ? 0 : (a + st - 1) / st;
            const int oy_ceil = b <= 0 ? 0 : (b + st - 1) / st;
            const int oy_hi = oy_ceil < j->ho ? oy_ceil : j->ho;
            for (int oy = oy_lo; oy < oy_hi; oy++) {
                const int iy = oy * st - pad + ky;
                float *dst = plane + (size_t)iy * w - pad + kx; // column ox at dst[ox * st]
                for (int ox = lo; ox < hi; ox++)
                    dst[ox * st] += row[(size_t)oy * wo + ox];
            }
        }
}

static void scatter_worker(void *arg, int worker)
{
    const scatter_job *j = arg;
    const int blocks = (j->h + SCATTER_ROWS - 1) / SCATTER_ROWS;
    for (int t = worker; t < j->s->in_ch * blocks; t += j->workers) {
        const int y0 = t % blocks * SCATTER_ROWS;
        scatter_rows(j, t / blocks, y0, y0 + SCATTER_ROWS < j->h ? y0 + SCATTER_ROWS : j->h);
    }
}

/* The transposed convolution of d_out (out_ch, ho, wo), or W^T times it, into res. */
static dpsim_status transposed(const packed_conv *fwd, const packed_conv_grad *g,
                               const float *d_out, int ho, int wo, float *res,
                               worker_pool *workers, conv_buffers *cb, errbuf *e)
{
    if (on_forward_weights(fwd, g, ho, wo))
        return conv_wino_backward_input(fwd, g, d_out, ho, wo, res, workers, cb, e);
    return conv_fast_forward(&g->t, d_out, ho, wo, res, 0, workers, cb, e);
}

dpsim_status conv_fast_backward_input(const packed_conv *fwd, const packed_conv_grad *g,
                                      const float *d_out, int h, int w, float *d_in,
                                      int accumulate, worker_pool *workers, conv_buffers *cb,
                                      errbuf *e)
{
    const conv2d_shape *s = &g->shape;
    const int ho = conv2d_out_size(s, h), wo = conv2d_out_size(s, w);
    const size_t n_in = (size_t)s->in_ch * h * w;
    /* a transposed convolution that overwrites d_in runs straight into it */
    if (!g->via_patches && !accumulate)
        return transposed(fwd, g, d_out, ho, wo, d_in, workers, cb, e);
    const size_t n_res = g->via_patches ? (size_t)g->t.shape.out_ch * ho * wo : n_in;
    if (!conv_buffer_reserve((void **)&cb->grad_res, &cb->grad_res_cap, n_res, sizeof(float)))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a convolution's input gradient");
    float *res = cb->grad_res; /* patches or (in_ch, h, w) */
    dpsim_status st = transposed(fwd, g, d_out, ho, wo, res, workers, cb, e);
    if (st != DPSIM_OK)
        return st;
    if (!accumulate)
        memset(d_in, 0, n_in * sizeof(float));
    if (g->via_patches) {
        scatter_job j = {s, res, h, w, ho, wo, pool_size(workers), d_in};
        pool_run(workers, scatter_worker, &j);
    } else {
        for (size_t i = 0; i < n_res; i++)
            d_in[i] += res[i];
    }
    return DPSIM_OK;
}
