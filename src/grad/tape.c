/*
 * tape.c - the trunk forward pass with a tape, and its backward pass.
 * The forward runs layer by layer on the kernels of src/nets/forward.c (a
 * ReLU runs fused into its convolution unless the convolution's own output
 * is kept; fused or not it gives the same bits, so taps are bit-identical
 * to dpsim_extract's) and keeps only what backward
 * needs: every tap, the input of every pool, a fire module's squeeze output
 * and output, and of any other ReLU its mask, as bits. Backward walks the
 * layers in reverse with float32 gradients (what the fast kernels multiply
 * in), in the forward's two scratch buffers, adding each tap's gradient
 * (summed in double, kept in float) where the tap was taken.
 */
#include <string.h>

#include "core/alloc.h"
#include "fast/pool_fast.h"
#include "grad/grad.h"

static int is_pool(const layer_def *l) { return l->op == OP_MAXPOOL || l->op == OP_L2POOL; }

/* Does a tap (or, for a backward, backward) need the output of layer i? */
static int keep_output(const dpsim_model *m, int i, int backward)
{
    for (int t = 0; t < m->n_taps; t++)
        if (m->taps[t] == i)
            return 1;
    if (backward && m->def->layers[i].op == OP_FIRE)
        return 1;
    return backward && i < m->last_layer && is_pool(&m->def->layers[i + 1]);
}

/* Does backward need only the mask of layer i's output (a ReLU's)? */
static int keep_mask(const dpsim_model *m, int i, int backward)
{
    return backward && m->def->layers[i].op == OP_RELU && !keep_output(m, i, backward);
}

/* Shapes after every layer: slot 0 is the input, slot i + 1 the output of layer i. */
static void plan_shapes(const dpsim_model *m, int h, int w, grad_tape *t)
{
    t->c[0] = 3;
    t->h[0] = h;
    t->w[0] = w;
    for (int i = 0; i <= m->last_layer; i++) {
        const layer_def *l = &m->def->layers[i];
        t->c[i + 1] = (l->op == OP_CONV || l->op == OP_FIRE) ? l->out_ch : t->c[i];
        t->h[i + 1] = net_side_after(m->def, i, h);
        t->w[i + 1] = net_side_after(m->def, i, w);
    }
}

static size_t numel(const grad_tape *t, int slot)
{
    return (size_t)t->c[slot] * t->h[slot] * t->w[slot];
}

/* Does convolution i's ReLU (layer i + 1) run in its kernel? Only when nothing needs the
   convolution's own output. */
static int fuses_relu(const dpsim_model *m, int i, int backward)
{
    return m->def->layers[i].op == OP_CONV && i < m->last_layer &&
           m->def->layers[i + 1].op == OP_RELU && !keep_output(m, i, backward);
}

/* Layer i (and its ReLU when fused) on in, into out */
static dpsim_status layer_forward(const dpsim_model *m, int i, const grad_tape *t,
                                  const float *in, float *out, int fused, float *squeezed,
                                  conv_buffers *cb, errbuf *e)
{
    const layer_def *l = &m->def->layers[i];
    const layer_params *lp = &m->layers[i];
    const int h = t->h[i], w = t->w[i];
    switch (l->op) {
    case OP_CONV:
        return conv_fast_forward(&lp->conv[0].fast, in, h, w, out, fused, t->workers, cb, e);
    case OP_RELU:
        memcpy(out, in, numel(t, i) * sizeof(float));
        relu_forward(out, numel(t, i));
        break;
    case OP_MAXPOOL: {
        maxpool_shape ps = {l->kernel, l->stride, l->ceil_mode};
        if (maxpool_fast(&ps, in, t->c[i], h, w, out, t->workers) != DPSIM_OK)
            return err_set(e, DPSIM_E_NOMEM, "out of memory for the gradient tape");
        return DPSIM_OK;
    }
    case OP_L2POOL:
        l2pool_forward(in, t->c[i], h, w, out);
        break;
    case OP_FIRE:
        return fire_forward(lp, in, h, w, out, squeezed, t->workers, cb, e);
    }
    return DPSIM_OK;
}

/* *p holds at least n floats (grown on demand, contents not kept); 0 when out of memory */
static int reserve(float **p, size_t *cap, size_t n)
{
    return conv_buffer_reserve((void **)p, cap, n, sizeof(float));
}

dpsim_status tape_forward(const dpsim_model *m, const float *x, int h, int w,
                          worker_pool *workers, int backward, grad_tape *t, errbuf *e)
{
    t->m = m;
    t->workers = workers;
    memset(t->act, 0, sizeof t->act);
    memset(t->squeezed, 0, sizeof t->squeezed);
    plan_shapes(m, h, w, t);
    size_t max_act = 1;
    for (int s = 0; s <= m->last_layer + 1; s++)
        max_act = numel(t, s) > max_act ? numel(t, s) : max_act;
    if (!reserve(&t->scratch_mem, &t->scratch_cap, 2 * max_act) ||
        !reserve(&t->mem[0], &t->mem_cap[0], numel(t, 0)))
        goto nomem;
    t->scratch[0] = t->scratch_mem;
    t->scratch[1] = t->scratch_mem + max_act;
    t->act[0] = t->mem[0];
    memcpy(t->act[0], x, numel(t, 0) * sizeof(float));
    const float *in = t->act[0];
    for (int i = 0, next = 0; i <= m->last_layer; i++) {
        const int fused = fuses_relu(m, i, backward), o = i + fused; /* o: whose output it is */
        float *out = t->scratch[next];
        if (keep_output(m, o, backward)) {
            if (!reserve(&t->mem[o + 1], &t->mem_cap[o + 1], numel(t, o + 1)))
                goto nomem;
            out = t->act[o + 1] = t->mem[o + 1];
        } else {
            next = 1 - next;
        }
        if (m->def->layers[i].op == OP_FIRE) {
            if (!reserve(&t->sq_mem[i], &t->sq_cap[i],
                         (size_t)m->def->layers[i].squeeze * t->h[i] * t->w[i]))
                goto nomem;
            t->squeezed[i] = t->sq_mem[i];
        }
        dpsim_status s = layer_forward(m, i, t, in, out, fused, t->squeezed[i], &t->cb, e);
        if (s != DPSIM_OK)
            return s;
        if (keep_mask(m, o, backward)) {
            if (!conv_buffer_reserve((void **)&t->mask[o + 1], &t->mask_cap[o + 1],
                                     (numel(t, o + 1) + 7) / 8, 1))
                goto nomem;
            relu_mask(out, numel(t, o + 1), t->mask[o + 1], workers);
        }
        in = out;
        i = o;
    }
    return DPSIM_OK;
nomem:
    return err_set(e, DPSIM_E_NOMEM, "out of memory for the gradient tape of a %dx%d image", w,
                   h);
}

/* Fire backward: d_out (e1 + e3, h, w) -> d_in (in_ch, h, w) = ; d_sq (s, h, w) scratch */
static dpsim_status fire_backward(const layer_params *lp, const float *out,
                                  const float *squeezed, int h, int w, float *d_out, float *d_sq,
                                  float *d_in, worker_pool *workers, conv_buffers *cb, errbuf *e)
{
    const conv_params *sq = &lp->conv[0], *e1 = &lp->conv[1], *e3 = &lp->conv[2];
    const size_t hw = (size_t)h * w;
    relu_backward(out, d_out, (size_t)(e1->shape.out_ch + e3->shape.out_ch) * hw, workers);
    dpsim_status s =
        conv_fast_backward_input(&e1->fast, &e1->grad, d_out, h, w, d_sq, 0, workers, cb, e);
    if (s == DPSIM_OK)
        s = conv_fast_backward_input(&e3->fast, &e3->grad,
                                     d_out + (size_t)e1->shape.out_ch * hw, h, w, d_sq, 1,
                                     workers, cb, e);
    if (s != DPSIM_OK)
        return s;
    relu_backward(squeezed, d_sq, (size_t)sq->shape.out_ch * hw, workers);
    return conv_fast_backward_input(&sq->fast, &sq->grad, d_sq, h, w, d_in, 0, workers, cb, e);
}

/* Layer i's backward: d_in (slot i) = d layer / d in applied to d_out (slot i + 1) */
static dpsim_status layer_backward(const grad_tape *t, int i, float *d_out, float *d_in,
                                   float *d_sq, conv_buffers *cb, errbuf *e)
{
    const layer_def *l = &t->m->def->layers[i];
    const layer_params *lp = &t->m->layers[i];
    const float *in = t->act[i]; /* the layer's input, when kept */
    const int h = t->h[i], w = t->w[i];
    switch (l->op) {
    case OP_CONV:
        return conv_fast_backward_input(&lp->conv[0].fast, &lp->conv[0].grad, d_out, h, w, d_in,
                                        0, t->workers, cb, e);
    case OP_MAXPOOL: {
        maxpool_shape ps = {l->kernel, l->stride, l->ceil_mode};
        maxpool_backward(&ps, in, t->c[i], h, w, d_out, d_in, t->workers);
        break;
    }
    case OP_L2POOL:
        memset(d_in, 0, numel(t, i) * sizeof(float));
        l2pool_backward(in, t->c[i], h, w, d_out, d_in);
        break;
    case OP_FIRE:
        return fire_backward(lp, t->act[i + 1], t->squeezed[i], h, w, d_out, d_sq, d_in,
                             t->workers, cb, e);
    case OP_RELU: /* in place: tape_backward does it */
        break;
    }
    return DPSIM_OK;
}

double *tape_tap_room(grad_tape *t) { return (double *)(void *)t->scratch_mem; }

dpsim_status tape_backward(grad_tape *t, float *const *d_taps, double *d_x, errbuf *e)
{
    const dpsim_model *m = t->m;
    size_t max_sq = 1;
    for (int i = 0; i <= m->last_layer; i++)
        if (m->def->layers[i].op == OP_FIRE &&
            (size_t)m->def->layers[i].squeeze * t->h[i] * t->w[i] > max_sq)
            max_sq = (size_t)m->def->layers[i].squeeze * t->h[i] * t->w[i];
    dpsim_status s = model_grad_prepare(m, t->h, t->w, e);
    if (s != DPSIM_OK)
        return s;
    if (!reserve(&t->d_sq, &t->d_sq_cap, max_sq))
        return err_set(e, DPSIM_E_NOMEM, "out of memory for the backward pass of a %dx%d image",
                       t->w[0], t->h[0]);
    float **buf = t->scratch; /* the forward's, each of its largest activation */
    int cur = 0, tap = m->n_taps - 1;
    memset(buf[cur], 0, numel(t, m->last_layer + 1) * sizeof(float));
    for (int i = m->last_layer; i >= 0 && s == DPSIM_OK; i--) {
        float *d_out = buf[cur];
        const float *d_tap = NULL; /* the gradient of the tap taken after layer i, if any */
        for (; tap >= m->pixel && m->taps[tap] >= i; tap--)
            if (m->taps[tap] == i && d_taps[tap])
                d_tap = d_taps[tap];
        const int relu = m->def->layers[i].op == OP_RELU;
        if (relu && keep_mask(m, i, 1)) /* no tap there: taps keep their outputs */
            relu_mask_backward(t->mask[i + 1], d_out, numel(t, i + 1), t->workers);
        else if (d_tap || relu)
            tap_backward(relu ? t->act[i + 1] : NULL, d_tap, d_out, numel(t, i + 1), t->workers);
        if (relu)
            continue; /* the gradient stays in place */
        s = layer_backward(t, i, d_out, buf[1 - cur], t->d_sq, &t->cb, e);
        cur = 1 - cur;
    }
    for (size_t k = 0; k < numel(t, 0) && s == DPSIM_OK; k++)
        d_x[k] += buf[cur][k];
    return s;
}

void tape_free(grad_tape *t)
{
    for (int i = 0; i <= NET_MAX_LAYERS; i++)
        dp_free(t->mem[i]);
    for (int i = 0; i < NET_MAX_LAYERS; i++)
        dp_free(t->sq_mem[i]);
    for (int i = 0; i <= NET_MAX_LAYERS; i++)
        dp_free(t->mask[i]);
    dp_free(t->scratch_mem);
    dp_free(t->d_sq);
    conv_buffers_free(&t->cb);
    memset(t, 0, sizeof *t);
}
