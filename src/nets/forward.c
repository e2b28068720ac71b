/*
 * forward.c - run a net's `features` layer by layer on n images of one
 * size together, keeping the activations after each tap. Two ping-pong
 * buffers hold the running activations, except that a layer whose result is
 * a tap writes it into the tap's buffer and the next layer reads it from
 * there; a fire module needs a third buffer for its squeeze outputs. The
 * convolutions run on the fast kernels (fast/conv_fast.h), all n images in
 * one call, with a ReLU that follows a convolution fused into it unless the
 * convolution is a tap.
 */
#include <string.h>

#include "core/alloc.h"
#include "fast/conv_batch.h"
#include "fast/pool_fast.h"
#include "model/model.h"

typedef struct act_size {
    int c, h, w;
} act_size;

dpsim_status fire_forward_batch(const layer_params *lp, int n, const float *const *in, int h,
                                int w, float *const *out, float *const *squeezed,
                                worker_pool *workers, conv_buffers *cb, errbuf *e)
{
    const conv_params *sq = &lp->conv[0], *e1 = &lp->conv[1], *e3 = &lp->conv[2];
    const size_t e1_size = (size_t)e1->shape.out_ch * h * w;
    float *e3_out[NET_MAX_BATCH];
    for (int i = 0; i < n; i++)
        e3_out[i] = out[i] + e1_size;
    dpsim_status s = conv_fast_forward_batch(&sq->fast, n, in, h, w, squeezed, 1, workers, cb, e);
    if (s == DPSIM_OK)
        s = conv_fast_forward_batch(&e1->fast, n, (const float *const *)squeezed, h, w, out, 1,
                                    workers, cb, e);
    if (s == DPSIM_OK)
        s = conv_fast_forward_batch(&e3->fast, n, (const float *const *)squeezed, h, w, e3_out,
                                    1, workers, cb, e);
    return s;
}

dpsim_status fire_forward(const layer_params *lp, const float *in, int h, int w, float *out,
                          float *squeezed, worker_pool *workers, conv_buffers *cb, errbuf *e)
{
    return fire_forward_batch(lp, 1, &in, h, w, &out, &squeezed, workers, cb, e);
}

void forward_scratch_free(forward_scratch *s)
{
    dp_free(s->x);
    dp_free(s->buf[0]);
    dp_free(s->buf[1]);
    dp_free(s->squeezed);
    dp_free(s->lines);
    conv_buffers_free(&s->cb);
    memset(s, 0, sizeof *s);
}

void forward_scratch_trim(forward_scratch *s)
{
    const conv_buffers *b = &s->cb;
    size_t bytes = (s->x_cap + s->buf_cap[0] + s->buf_cap[1] + s->squeezed_cap + s->lines_cap +
                    b->padded_cap + b->scratch_cap + b->grad_res_cap) * sizeof(float) +
                   b->offsets_cap * sizeof(ptrdiff_t);
    if (bytes <= FORWARD_SCRATCH_KEEP)
        return;
    /* a large layer's transformed weights stay: at most one layer's, made on each call */
    float *u = s->cb.u;
    const size_t u_cap = s->cb.u_cap;
    s->cb.u = NULL;
    forward_scratch_free(s);
    s->cb.u = u;
    s->cb.u_cap = u_cap;
}

/* Make buf[0], buf[1] hold act floats each and squeezed sq floats; 0 when out of memory. */
static int reserve(forward_scratch *s, size_t act, size_t sq)
{
    return conv_buffer_reserve((void **)&s->buf[0], &s->buf_cap[0], act, sizeof(float)) &&
           conv_buffer_reserve((void **)&s->buf[1], &s->buf_cap[1], act, sizeof(float)) &&
           conv_buffer_reserve((void **)&s->squeezed, &s->squeezed_cap, sq, sizeof(float));
}

/*
 * One layer on n images: dst[b] = layer(src[b]), of size s -> o. A
 * convolution applies the next layer's ReLU when relu_done is set; the ReLU
 * layer after it then has nothing to do (dst == src).
 */
static dpsim_status layer_forward(const layer_def *l, const layer_params *lp, int n,
                                  const float *const *src, const act_size *s, float *const *dst,
                                  int relu_done, float *const *squeezed, worker_pool *workers,
                                  conv_buffers *cb, errbuf *e)
{
    const size_t size = (size_t)s->c * s->h * s->w;
    switch (l->op) {
    case OP_CONV:
        return conv_fast_forward_batch(&lp->conv[0].fast, n, src, s->h, s->w, dst, relu_done,
                                       workers, cb, e);
    case OP_RELU:
        for (int b = 0; b < n && !relu_done; b++) {
            if (dst[b] != src[b])
                memcpy(dst[b], src[b], size * sizeof(float));
            relu_forward(dst[b], size);
        }
        return DPSIM_OK;
    case OP_MAXPOOL: {
        maxpool_shape ps = {l->kernel, l->stride, l->ceil_mode};
        for (int b = 0; b < n; b++)
            if (maxpool_fast(&ps, src[b], s->c, s->h, s->w, dst[b], workers) != DPSIM_OK)
                return err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%d max-pooling", s->w,
                               s->h);
        return DPSIM_OK;
    }
    case OP_L2POOL:
        for (int b = 0; b < n; b++)
            l2pool_forward(src[b], s->c, s->h, s->w, dst[b]);
        return DPSIM_OK;
    case OP_FIRE:
        return fire_forward_batch(lp, n, src, s->h, s->w, dst, squeezed, workers, cb, e);
    }
    return DPSIM_OK;
}

/* The largest activation (floats) of m on an h x w image, and the largest fire squeeze output. */
static size_t largest_activation(const dpsim_model *m, int h, int w, size_t *squeeze)
{
    const net_def *def = m->def;
    size_t largest = (size_t)3 * h * w, sq = 1;
    act_size s = {3, h, w};
    for (int i = 0; i <= m->last_layer; i++) {
        const layer_def *l = &def->layers[i];
        if (l->op == OP_CONV || l->op == OP_MAXPOOL || l->op == OP_L2POOL) {
            s.h = net_side_after(def, i, h);
            s.w = net_side_after(def, i, w);
        }
        if (l->op == OP_CONV || l->op == OP_FIRE)
            s.c = l->out_ch;
        const size_t plane = (size_t)s.h * s.w;
        if (plane * s.c > largest)
            largest = plane * s.c;
        if (l->op == OP_FIRE && plane * l->squeeze > sq)
            sq = plane * l->squeeze;
    }
    *squeeze = sq;
    return largest;
}

int net_side_by_side(const dpsim_model *m, int width, int height)
{
    size_t unused;
    return width > 0 && height > 0 && width <= DPSIM_MAX_SIDE && height <= DPSIM_MAX_SIDE &&
           largest_activation(m, height, width, &unused) <= SIDE_BY_SIDE_MAX_ACTIVATION;
}

/* Where the running activation is: a ping-pong buffer (0, 1) or tap t's buffer (2 + t). */
static float *located(int loc, int image, float *const buf[2], size_t act, float **const *out)
{
    return loc < 2 ? buf[loc] + (size_t)image * act : out[image][loc - 2];
}

dpsim_status net_forward(const dpsim_model *m, int n, const float *x, int h, int w,
                         float **const *out, worker_pool *workers, forward_scratch *scratch,
                         errbuf *e)
{
    const net_def *def = m->def;
    size_t max_sq;
    const size_t max_act = largest_activation(m, h, w, &max_sq);
    if (!reserve(scratch, (size_t)n * max_act, (size_t)n * max_sq))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%d forward pass", w, h);
    float *const buf[2] = {scratch->buf[0], scratch->buf[1]};
    float *squeezed[NET_MAX_BATCH];
    for (int i = 0; i < n; i++)
        squeezed[i] = scratch->squeezed + (size_t)i * max_sq;
    conv_buffers *cb = &scratch->cb;
    dpsim_status status = DPSIM_OK;

    for (int i = 0; i < n; i++)
        memcpy(buf[0] + (size_t)i * max_act, x + (size_t)i * 3 * h * w,
               (size_t)3 * h * w * sizeof(float));
    act_size s = {3, h, w};
    /*
     * loc: where the running activation is, the same place for every image:
     * a ping-pong buffer, or the tap buffer it is kept in. A layer whose
     * result is a tap writes it straight there (no copy), and nothing writes
     * over a tap afterwards.
     */
    int loc = 0;
    int next_tap = m->pixel; /* the pixel tap is filled by the caller */
    int relu_done = 0;       /* the previous convolution applied this layer's ReLU */
    for (int i = 0; i <= m->last_layer && status == DPSIM_OK; i++) {
        const layer_def *l = &def->layers[i];
        const layer_params *lp = &m->layers[i];
        const int keep = next_tap < m->n_taps && m->taps[next_tap] == i;
        const int spare = loc == 0 ? 1 : 0;
        int to = keep ? 2 + next_tap : spare;
        act_size o = s;
        switch (l->op) {
        case OP_CONV:
            o.c = l->out_ch;
            o.h = conv2d_out_size(&lp->conv[0].shape, s.h);
            o.w = conv2d_out_size(&lp->conv[0].shape, s.w);
            relu_done = i < m->last_layer && def->layers[i + 1].op == OP_RELU && !keep;
            if (relu_done && next_tap < m->n_taps && m->taps[next_tap] == i + 1)
                to = 2 + next_tap; /* the ReLU's result is the tap */
            break;
        case OP_RELU:
            /* in place, unless the activation is a tap or the result is one */
            to = relu_done ? loc : keep ? to : loc < 2 ? loc : spare;
            break;
        case OP_MAXPOOL: {
            maxpool_shape ps = {l->kernel, l->stride, l->ceil_mode};
            o.h = maxpool_out_size(&ps, s.h);
            o.w = maxpool_out_size(&ps, s.w);
            break;
        }
        case OP_L2POOL:
            o.h = (s.h - 1) / 2 + 1;
            o.w = (s.w - 1) / 2 + 1;
            break;
        case OP_FIRE:
            o.c = l->out_ch;
            break;
        }
        const float *src[NET_MAX_BATCH];
        float *dst[NET_MAX_BATCH];
        for (int b = 0; b < n; b++) {
            src[b] = located(loc, b, buf, max_act, out);
            dst[b] = located(to, b, buf, max_act, out);
        }
        status = layer_forward(l, lp, n, src, &s, dst, relu_done, squeezed, workers, cb, e);
        if (l->op == OP_RELU)
            relu_done = 0;
        loc = to;
        s = o;
        next_tap += keep;
    }
    return status;
}
