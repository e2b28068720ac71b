/*
 * conv_wino_grad.c - the input gradient of a 3x3 stride-1 convolution with
 * padding 1 by Winograd, on the forward's transformed weights (conv_wino.h).
 *
 * The gradient is the transposed convolution: the kernel flipped, input and
 * output channels swapped, padding 1 again. Its U is the forward's U with the
 * tile elements permuted (P U P) and each element's matrix transposed, so it
 * is rearranged from the forward's: a large layer's into the caller's buffer
 * on each call, a small one's once, then kept (WINO_GRAD_KEEP_FLOATS). For
 * VGG-16 a second set of weights (the transposed kernels packed, and their
 * own U) took 159 MB.
 */
#include <string.h>

#include "core/alloc.h"

#include "fast/conv_bf16.h"
#include "fast/conv_wino.h"

/* fwd's transposed convolution, weights in the caller's u (t->a stays NULL) */
static void transposed_view(const packed_conv *fwd, packed_conv *t)
{
    memset(t, 0, sizeof *t);
    t->shape = (conv2d_shape){fwd->shape.out_ch, fwd->shape.in_ch, 3, 1, 1};
    t->run = t->shape;
    t->kern = fwd->kern;
    t->k_total = t->shape.in_ch * 9;
}

int conv_wino_grad_wins(const packed_conv *fwd, int ho, int wo)
{
    const conv2d_shape *s = &fwd->shape;
    if (s->kernel != 3 || s->stride != 1 || s->pad != 1 || fwd->s2d || packed_conv_is_bf16(fwd))
        return 0;
    packed_conv t;
    transposed_view(fwd, &t);
    return conv_wino_wins(&t, ho, wo);
}

typedef struct rearrange_job {
    const float *u;  /* (16, ceil(co / mr), ci, mr): the forward's, stride su */
    float *dst;      /* (16, ceil(ci / mr), co, mr): the gradient's, stride sd */
    size_t su, sd;
    int ci, co, mr, workers;
} rearrange_job;

/* Element e = (y, x) of the flipped kernel's U is element (p(y), p(x)) of the forward's. */
static const int flipped[WINO_IN] = {3, 1, 2, 0};

/*
 * dst's element e: src's element p(e), (co, ci) transposed to (ci, co). Each
 * pair of an input and an output channel panel is one contiguous mr x mr
 * block on both sides, transposed whole: (i, k) = weight (pc mr + k, pi mr + i)
 * at from[i mr + k] and to[k mr + i]. Input channels past ci are zeros.
 */
static void rearrange_element(const rearrange_job *j, int e)
{
    const int mr = j->mr, ci = j->ci, co = j->co, ci_panels = (ci + mr - 1) / mr;
    const float *src = j->u + (size_t)(flipped[e / WINO_IN] * WINO_IN + flipped[e % WINO_IN]) *
                                  j->su;
    float *dst = j->dst + (size_t)e * j->sd;
    for (int pi = 0; pi < ci_panels; pi++) {
        const int n = ci - pi * mr < mr ? ci - pi * mr : mr; /* input channels in the panel */
        for (int pc = 0; pc * mr < co; pc++) {
            const int m = co - pc * mr < mr ? co - pc * mr : mr; /* output channels */
            const float *from = src + ((size_t)pc * ci + (size_t)pi * mr) * mr;
            float *to = dst + ((size_t)pi * co + (size_t)pc * mr) * mr;
            for (int k = 0; k < m; k++) {
                for (int i = 0; i < n; i++)
                    to[k * mr + i] = from[i * mr + k];
                for (int i = n; i < mr; i++)
                    to[k * mr + i] = 0.0f;
            }
        }
    }
    const size_t used = (size_t)ci_panels * mr * co;
    memset(dst + used, 0, (j->sd - used) * sizeof(float));
}

static void rearrange_worker(void *arg, int worker)
{
    const rearrange_job *j = arg;
    for (int e = worker; e < WINO_ELEMS; e += j->workers)
        rearrange_element(j, e);
}

/* The rearranged weights: g's kept ones (made now if not yet), or buf's; NULL: no memory */
static const float *rearranged(const packed_conv_grad *g, rearrange_job *j, worker_pool *workers,
                               conv_buffers *buf)
{
    const size_t n = WINO_ELEMS * j->sd;
    float *kept = atomic_load(&g->u);
    if (kept)
        return kept;
    if (n > WINO_KEEP_FLOATS) {
        if (!conv_buffer_reserve((void **)&buf->grad_u, &buf->grad_u_cap, n, sizeof(float)))
            return NULL;
        j->dst = buf->grad_u;
        pool_run(workers, rearrange_worker, j);
        return buf->grad_u;
    }
    float *fresh = dp_malloc_dense(n * sizeof(float));
    if (!fresh)
        return NULL;
    j->dst = fresh;
    pool_run(workers, rearrange_worker, j);
    /* g is shared read-only but for this cache: the first thread to finish publishes */
    if (atomic_compare_exchange_strong(&((packed_conv_grad *)g)->u, &kept, fresh))
        return fresh;
    dp_free(fresh); /* another thread's, the same values */
    return kept;
}

dpsim_status conv_wino_backward_input(const packed_conv *fwd, const packed_conv_grad *g,
                                      const float *d_out, int ho, int wo, float *d_in,
                                      worker_pool *workers, conv_buffers *buf, errbuf *e)
{
    packed_conv t;
    transposed_view(fwd, &t);
    const float *u = conv_wino_weights(fwd, workers, buf);
    rearrange_job j = {u, NULL, conv_wino_u_stride(fwd), conv_wino_u_stride(&t),
                       fwd->shape.in_ch, fwd->shape.out_ch, fwd->kern->mr, pool_size(workers)};
    const float *ut = u ? rearranged(g, &j, workers, buf) : NULL;
    if (!ut)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for Winograd convolution weights");
    return conv_wino_run(&t, ut, d_out, ho, wo, d_in, 0, workers, buf, e);
}
