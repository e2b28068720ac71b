/*
 * forward.c - run a net's `features` layer by layer on one image, keeping
 * the activations after each tap. Two ping-pong buffers hold the running
 * activation, except that a layer whose result is a tap writes it into the
 * tap's buffer and the next layer reads it from there; a fire module needs a
 * third buffer for its squeeze output. The
 * convolutions run on the fast kernels (fast/conv_fast.h), with a ReLU that
 * follows a convolution fused into it unless the convolution is a tap.
 */
#include <string.h>

#include "core/alloc.h"
#include "fast/pool_fast.h"
#include "model/model.h"

typedef struct act_size {
    int c, h, w;
} act_size;

dpsim_status fire_forward(const layer_params *lp, const float *in, int h, int w, float *out,
                          float *squeezed, worker_pool *workers, conv_buffers *cb, errbuf *e)
{
    const conv_params *sq = &lp->conv[0], *e1 = &lp->conv[1], *e3 = &lp->conv[2];
    const size_t hw = (size_t)h * w;
    dpsim_status s = conv_fast_forward(&sq->fast, in, h, w, squeezed, 1, workers, cb, e);
    if (s == DPSIM_OK)
        s = conv_fast_forward(&e1->fast, squeezed, h, w, out, 1, workers, cb, e);
    if (s == DPSIM_OK)
        s = conv_fast_forward(&e3->fast, squeezed, h, w, out + (size_t)e1->shape.out_ch * hw, 1,
                              workers, cb, e);
    return s;
}

void forward_scratch_free(forward_scratch *s)
{
    dp_free(s->x);
    dp_free(s->buf[0]);
    dp_free(s->buf[1]);
    dp_free(s->squeezed);
    conv_buffers_free(&s->cb);
    memset(s, 0, sizeof *s);
}

void forward_scratch_trim(forward_scratch *s)
{
    const conv_buffers *b = &s->cb;
    size_t bytes = (s->x_cap + s->buf_cap[0] + s->buf_cap[1] + s->squeezed_cap + b->padded_cap +
                    b->scratch_cap + b->grad_out_cap + b->grad_res_cap) * sizeof(float) +
                   b->offsets_cap * sizeof(ptrdiff_t);
    if (bytes > FORWARD_SCRATCH_KEEP)
        forward_scratch_free(s);
}

/* Make buf[0], buf[1] hold act floats each and squeezed sq floats; 0 when out of memory. */
static int reserve(forward_scratch *s, size_t act, size_t sq)
{
    return conv_buffer_reserve((void **)&s->buf[0], &s->buf_cap[0], act, sizeof(float)) &&
           conv_buffer_reserve((void **)&s->buf[1], &s->buf_cap[1], act, sizeof(float)) &&
           conv_buffer_reserve((void **)&s->squeezed, &s->squeezed_cap, sq, sizeof(float));
}

dpsim_status net_forward(const dpsim_model *m, const float *x, int h, int w, float **out,
                         worker_pool *workers, forward_scratch *scratch, errbuf *e)
{
    const net_def *def = m->def;
    /* plan: largest activation and squeeze output */
    size_t max_act = (size_t)3 * h * w, max_sq = 1;
    act_size s = {3, h, w};
    for (int i = 0; i <= m->last_layer; i++) {
        const layer_def *l = &def->layers[i];
        if (l->op == OP_CONV || l->op == OP_MAXPOOL || l->op == OP_L2POOL) {
            s.h = net_side_after(def, i, h);
            s.w = net_side_after(def, i, w);
        }
        if (l->op == OP_CONV || l->op == OP_FIRE)
            s.c = l->out_ch;
        size_t plane = (size_t)s.h * s.w;
        if (plane * s.c > max_act)
            max_act = plane * s.c;
        if (l->op == OP_FIRE && plane * l->squeeze > max_sq)
            max_sq = plane * l->squeeze;
    }
    if (!reserve(scratch, max_act, max_sq))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%d forward pass", w, h);
    float *const buf[2] = {scratch->buf[0], scratch->buf[1]}, *squeezed = scratch->squeezed;
    conv_buffers *cb = &scratch->cb;
    dpsim_status status = DPSIM_OK;

    memcpy(buf[0], x, (size_t)3 * h * w * sizeof(float));
    s = (act_size){3, h, w};
    /*
     * in: the running activation, in a ping-pong buffer or in the tap buffer
     * it is kept in; a layer whose result is a tap writes it straight there
     * (no copy), and nothing writes over a tap afterwards.
     */
    float *in = buf[0];
    int next_tap = m->pixel; /* the pixel tap is filled by the caller */
    int relu_done = 0;       /* the previous convolution applied this layer's ReLU */
    for (int i = 0; i <= m->last_layer && status == DPSIM_OK; i++) {
        const layer_def *l = &def->layers[i];
        const layer_params *lp = &m->layers[i];
        const int keep = next_tap < m->n_taps && m->taps[next_tap] == i;
        float *spare = in == buf[0] ? buf[1] : buf[0];
        float *dst = keep ? out[next_tap] : spare;
        act_size o = s;
        switch (l->op) {
        case OP_CONV:
            o.c = l->out_ch;
            o.h = conv2d_out_size(&lp->conv[0].shape, s.h);
            o.w = conv2d_out_size(&lp->conv[0].shape, s.w);
            relu_done = i < m->last_layer && def->layers[i + 1].op == OP_RELU && !keep;
            if (relu_done && next_tap < m->n_taps && m->taps[next_tap] == i + 1)
                dst = out[next_tap]; /* the ReLU's result is the tap */
            status = conv_fast_forward(&lp->conv[0].fast, in, s.h, s.w, dst, relu_done, workers,
                                       cb, e);
            in = dst;
            break;
        case OP_RELU:
            if (!relu_done) { /* in place, unless in is a tap or the result is one */
                const size_t n = (size_t)s.c * s.h * s.w;
                float *to = keep ? dst : in == buf[0] || in == buf[1] ? in : spare;
                if (to != in)
                    memcpy(to, in, n * sizeof(float));
                relu_forward(to, n);
                in = to;
            }
            relu_done = 0;
            break;
        case OP_MAXPOOL: {
            maxpool_shape ps = {l->kernel, l->stride, l->ceil_mode};
            o.h = maxpool_out_size(&ps, s.h);
            o.w = maxpool_out_size(&ps, s.w);
            if (maxpool_fast(&ps, in, s.c, s.h, s.w, dst, workers) != DPSIM_OK)
                status = err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%d forward pass", w,
                                 h);
            in = dst;
            break;
        }
        case OP_L2POOL:
            o.h = (s.h - 1) / 2 + 1;
            o.w = (s.w - 1) / 2 + 1;
            l2pool_forward(in, s.c, s.h, s.w, dst);
            in = dst;
            break;
        case OP_FIRE:
            o.c = l->out_ch;
            status = fire_forward(lp, in, s.h, s.w, dst, squeezed, workers, cb, e);
            in = dst;
            break;
        }
        s = o;
        next_tap += keep;
    }
    return status;
}
