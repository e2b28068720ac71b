/*
 * forward.c - run a net's `features` layer by layer on one image, keeping
 * the activations after each tap. Two ping-pong buffers hold the running
 * activation; a fire module needs a third for its squeeze output.
 */
#include <string.h>

#include "core/alloc.h"
#include "model/model.h"

typedef struct act_size {
    int c, h, w;
} act_size;

static void conv_apply(const conv_params *p, const float *in, int h, int w, float *out,
                       double *acc)
{
    conv2d_forward(&p->shape, in, h, w, p->weight, p->bias, out, acc);
}

/* in (in_ch, h, w) -> out (e1 + e3, h, w); squeezed: scratch (s, h, w) */
static void fire_apply(const layer_params *lp, const float *in, int h, int w, float *out,
                       float *squeezed, double *acc)
{
    const conv_params *sq = &lp->conv[0], *e1 = &lp->conv[1], *e3 = &lp->conv[2];
    const size_t hw = (size_t)h * w;
    conv_apply(sq, in, h, w, squeezed, acc);
    relu_forward(squeezed, (size_t)sq->shape.out_ch * hw);
    conv_apply(e1, squeezed, h, w, out, acc);
    conv_apply(e3, squeezed, h, w, out + (size_t)e1->shape.out_ch * hw, acc);
    relu_forward(out, (size_t)(e1->shape.out_ch + e3->shape.out_ch) * hw);
}

dpsim_status net_forward(const dpsim_model *m, const float *x, int h, int w, float **out,
                         errbuf *e)
{
    const net_def *def = m->def;
    /* plan: largest activation, squeeze output and output plane */
    size_t max_act = (size_t)3 * h * w, max_sq = 1, max_plane = 1;
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
        if (plane > max_plane)
            max_plane = plane;
        if (l->op == OP_FIRE && plane * l->squeeze > max_sq)
            max_sq = plane * l->squeeze;
    }
    float *buf[2] = {dp_malloc(max_act * sizeof(float)), dp_malloc(max_act * sizeof(float))};
    float *squeezed = dp_malloc(max_sq * sizeof(float));
    double *acc = dp_malloc(max_plane * sizeof(double));
    dpsim_status status = DPSIM_OK;
    if (!buf[0] || !buf[1] || !squeezed || !acc) {
        status = err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%d forward pass", w, h);
        goto done;
    }

    memcpy(buf[0], x, (size_t)3 * h * w * sizeof(float));
    s = (act_size){3, h, w};
    int cur = 0, next_tap = m->pixel; /* the pixel tap is filled by the caller */
    for (int i = 0; i <= m->last_layer; i++) {
        const layer_def *l = &def->layers[i];
        const layer_params *lp = &m->layers[i];
        float *in = buf[cur], *dst = buf[1 - cur];
        act_size o = s;
        switch (l->op) {
        case OP_CONV:
            o.c = l->out_ch;
            o.h = conv2d_out_size(&lp->conv[0].shape, s.h);
            o.w = conv2d_out_size(&lp->conv[0].shape, s.w);
            conv_apply(&lp->conv[0], in, s.h, s.w, dst, acc);
            cur = 1 - cur;
            break;
        case OP_RELU:
            relu_forward(in, (size_t)s.c * s.h * s.w);
            break;
        case OP_MAXPOOL: {
            maxpool_shape ps = {l->kernel, l->stride, l->ceil_mode};
            o.h = maxpool_out_size(&ps, s.h);
            o.w = maxpool_out_size(&ps, s.w);
            maxpool_forward(&ps, in, s.c, s.h, s.w, dst);
            cur = 1 - cur;
            break;
        }
        case OP_L2POOL:
            o.h = (s.h - 1) / 2 + 1;
            o.w = (s.w - 1) / 2 + 1;
            l2pool_forward(in, s.c, s.h, s.w, dst);
            cur = 1 - cur;
            break;
        case OP_FIRE:
            o.c = l->out_ch;
            fire_apply(lp, in, s.h, s.w, dst, squeezed, acc);
            cur = 1 - cur;
            break;
        }
        s = o;
        if (next_tap < m->n_taps && m->taps[next_tap] == i) {
            memcpy(out[next_tap], buf[cur], (size_t)s.c * s.h * s.w * sizeof(float));
            next_tap++;
        }
    }
done:
    dp_free(buf[0]);
    dp_free(buf[1]);
    dp_free(squeezed);
    dp_free(acc);
    return status;
}
