/*
 * conv_fast.h - convolution as a packed-weight GEMM: out (out_ch, Ho*Wo) =
 * W (out_ch, in_ch*k*k) x patches (in_ch*k*k, Ho*Wo) + bias, optionally
 * followed by ReLU. The weights are packed once (packed_conv_init) into the
 * tile kernel's layout; the patches are packed block by block into a
 * per-worker scratch (or, for stride 1, read in place from a zero-padded
 * copy of the input), never materialised whole. Work is split over
 * (pixel block, channel block) tasks; every output's sum runs in the same
 * order whichever worker computes it, so the result is bit-identical for any
 * number of threads. nn/conv2d.c is the oracle it is tested against.
 */
#ifndef DPSIM_FAST_CONV_FAST_H
#define DPSIM_FAST_CONV_FAST_H

#include <stdatomic.h>

#include "core/error.h"
#include "fast/gemm.h"
#include "fast/pool.h"
#include "nn/nn.h"

/* Reduction steps per block: fixed, so each output's sum has one order whatever the blocking. */
#define CONV_KC 192

typedef struct packed_conv {
    conv2d_shape shape;
    conv2d_shape run;  /* what the GEMM computes: shape, or its space-to-depth form */
    int s2d;           /* 0, or the block side (the stride) of the space-to-depth form */
    const gemm_kernel *kern;
    int k_total;       /* run.in_ch * run.kernel^2: the reduction length */
    float *a;          /* (ceil(out_ch / mr), k_total, mr), rows past out_ch zero */
    _Atomic(float *) u; /* NULL, or for Winograd (conv_wino.h): (16, ceil(out_ch / mr),
                         * in_ch (x4 for 5x5), mr), a small layer's, made on first use
                         * (conv_wino_weights) */
    float *bias;       /* (out_ch) */
    int a_in_place;    /* a lies in the caller's weights (packed_conv_init_in_place): not freed */
    uint32_t *a_bf16;  /* NULL, or for a bf16 kern (conv_bf16.h): (ceil(out_ch / mr),
                        * ceil(k_total / 2), mr) bf16 pairs, and a is NULL */
} packed_conv;

/** Pack weight (out_ch, in_ch, k, k) and bias (out_ch; NULL: zeros) for kern (fp32 or bf16). */
dpsim_status packed_conv_init(packed_conv *p, const conv2d_shape *s, const float *weight,
                              const float *bias, const gemm_kernel *kern, errbuf *e);

void packed_conv_free(packed_conv *p);

/**
 * packed_conv_init, the packing written over weight itself where it has the
 * same size (fp32, no space-to-depth form, out_ch a multiple of the kernel's
 * mr), panel by panel through tmp (room for one: mr * in_ch * k * k floats):
 * p->a then points into weight, which must outlive p. A model packs its trunk
 * in the pages the weights file was read into, so loading takes no second copy
 * of them (VGG-16: 56 MB of fresh pages fewer). Else packed_conv_init.
 */
dpsim_status packed_conv_init_in_place(packed_conv *p, const conv2d_shape *s, float *weight,
                                       const float *bias, const gemm_kernel *kern, float *tmp,
                                       errbuf *e);

/*
 * Space-to-depth form of a strided convolution: with the input cut into
 * s x s blocks (s the stride), each block's s*s pixels of a channel made s*s
 * channels, a k x k stride-s convolution is a ceil(k/s) x ceil(k/s) stride-1
 * one, its weights padded with zeros to whole blocks. Stride 1 lets the GEMM
 * read the input in place instead of gathering every patch: AlexNet's 11x11
 * stride-4 first layer ran at 57% of the fp32 peak gathered and 85% this way,
 * for 19% more multiply-adds. packed_conv_init takes this form while it costs
 * at most CONV_S2D_GROWTH_PCT percent more multiply-adds.
 */
#define CONV_S2D_GROWTH_PCT 125

/** Weight (oc, r) of p, r = (ic * k + ky) * k + kx: the layout packed_conv_init took. */
static inline float packed_conv_weight(const packed_conv *p, int oc, int r)
{
    const int mr = p->kern->mr;
    if (p->s2d) { /* r in the space-to-depth layout */
        const int s = p->s2d, k = p->shape.kernel, kb = p->run.kernel;
        const int ic = r / (k * k), ky = r % (k * k) / k, kx = r % k;
        r = (((ic * s + ky % s) * s + kx % s) * kb + ky / s) * kb + kx / s;
    }
    return p->a[((size_t)(oc / mr) * p->k_total + (size_t)r) * mr + (size_t)(oc % mr)];
}

/**
 * The space-to-depth input of p (p->s2d) for an h x w input whose output is
 * ho x wo: (run.in_ch, ho + run.kernel - 1, wo + run.kernel - 1) at dst,
 * zeros where the padded input has none. Its element count: conv_s2d_floats.
 */
void conv_space_to_depth(const packed_conv *p, const float *in, int h, int w, int ho, int wo,
                         float *dst, worker_pool *workers);
size_t conv_s2d_floats(const packed_conv *p, int ho, int wo);

/** Working memory of conv_fast_forward, grown on demand; one per caller thread. */
typedef struct conv_buffers {
    float *padded;      /* a stride-1 convolution's zero-padded input */
    ptrdiff_t *offsets; /* (in_ch*k*k) where row k of the patch matrix starts in it */
    float *scratch;     /* per worker: a packed panel and the task's outputs */
    float *grad_res;    /* conv_fast_backward_input: its convolution's result */
    float *u;           /* conv_wino_weights: a large layer's transformed weights */
    float *grad_u;      /* conv_wino_backward_input: the rearranged transformed weights */
    size_t padded_cap, offsets_cap, scratch_cap, grad_res_cap, u_cap, grad_u_cap;
} conv_buffers;

void conv_buffers_free(conv_buffers *b);

/** Make *ptr hold at least n elements of size bytes (contents not kept); 0 when out of memory. */
int conv_buffer_reserve(void **ptr, size_t *cap, size_t n, size_t size);

/**
 * conv_buffer_reserve for floats read over and over, such as weights:
 * uninitialised, on huge pages when large (dp_malloc_dense).
 */
int conv_buffer_reserve_dense(float **ptr, size_t *cap, size_t n);

/**
 * A task's block (m_end - m0 channels, at row stride nc) of GEMM columns
 * [g0, g0 + n_pix) to the outputs: out[b] (out_ch, plane) for image b, whose
 * plane columns come after those of the images before it.
 */
void conv_scatter_block(float *const *out, int plane, const float *block, int nc, int m0,
                        int m_end, int g0, int n_pix);

/** The zero-padded input padded (c, hp, wp): in (c, h, w) at rows and columns from pad. */
void conv_pad_input(const float *in, int c, int h, int w, int pad, int hp, int wp, float *padded,
                    worker_pool *workers);

/*
 * The blocking of a direct GEMM convolution over n_pix pixel columns, shared
 * by conv_fast.c (one image) and conv_batch.c (several): tasks of
 * (CONV_NC_PANELS panels of nr columns) x (mc channels), each with its own
 * packed panel (CONV_KC, nr) and output block (mc, nc) in the worker's scratch.
 */
enum { CONV_NC_PANELS = 8, CONV_MC_MIN = 32, CONV_MC_MAX = 512, CONV_TASKS_PER_WORKER = 4 };

typedef struct conv_plan {
    int n_pix, mc, pix_tasks, tasks;
    float *scratch; /* (workers, scratch_per_worker) */
    size_t scratch_per_worker;
} conv_plan;

/**
 * Output channels per task (a multiple of mr): all (at most CONV_MC_MAX),
 * halved while other_tasks * channel blocks < CONV_TASKS_PER_WORKER * workers,
 * down to CONV_MC_MIN. One worker takes them all: every channel block packs
 * its patches again, which on small batched layers (AlexNet's 3x3-pixel
 * layers, 8 images of 64x64) cost a third of their time.
 */
int conv_channel_block(int oc_n, int mr, int other_tasks, int workers);

/** Plan p over n_pix columns for the workers, scratch from buf; DPSIM_E_NOMEM when it cannot. */
dpsim_status conv_plan_make(const packed_conv *p, int n_pix, worker_pool *workers,
                            conv_buffers *buf, conv_plan *plan, errbuf *e);

/* One task of a plan: columns [j0, j0 + n_pix), channels [m0, m_end). */
typedef struct conv_task {
    int j0, n_pix, n_panels, m0, m_end;
    float *panel; /* (CONV_KC, nr): a packed panel */
    float *block; /* (mc, CONV_NC_PANELS nr): the task's outputs */
} conv_task;

conv_task conv_task_at(const packed_conv *p, const conv_plan *plan, int task, int worker);

/**
 * The task's channel tiles over its panel q for reduction steps [k0, k0 + kc):
 * B's rows as in gemm_tile_fn (b at row stride nr, or b + boff[k]); bias on
 * the first block, ReLU (when relu) on the last.
 */
void conv_task_tiles(const packed_conv *p, const conv_task *t, int q, int k0, int kc,
                     const float *b, const ptrdiff_t *boff, int relu);

/** 1 when conv_fast_forward computes p on an h x w input as the direct GEMM below. */
int conv_fast_direct(const packed_conv *p, int h, int w);

/**
 * out = conv(in) + bias [then ReLU when relu].
 * @param in  (in_ch, h, w)
 * @param out (out_ch, Ho, Wo)
 * @return DPSIM_E_NOMEM when buf cannot grow (out untouched)
 */
dpsim_status conv_fast_forward(const packed_conv *p, const float *in, int h, int w, float *out,
                               int relu, worker_pool *workers, conv_buffers *buf, errbuf *e);

/*
 * The input gradient, d_in += conv^T(d_out), on the same kernels. A stride-1
 * convolution whose padding is at most k - 1 has a transposed convolution
 * (channels swapped, kernel flipped, padding k - 1 - pad) used unless it has
 * fewer output channels than a kernel tile's rows; any other runs
 * W^T as a 1x1 convolution into patch gradients (in_ch*k*k, Ho*Wo) that are
 * scattered back onto the input (col2im). A 3x3 transposed convolution that
 * runs by Winograd takes the forward's transformed weights (conv_wino.h);
 * any other runs on weights of its own, packed on demand
 * (packed_conv_grad_pack), so only the sizes that need them pay their memory.
 */
typedef struct packed_conv_grad {
    conv2d_shape shape; /* of the forward convolution */
    packed_conv t;      /* the transposed convolution, or W^T as a 1x1 convolution; packed
                         * when t.kern is set */
    int via_patches;    /* 1: the second form */
    _Atomic(float *) u; /* NULL, or a small layer's rearranged Winograd weights, kept once
                         * made (conv_wino_backward_input) */
} packed_conv_grad;

/** The form of fwd's input gradient; nothing packed yet. */
void packed_conv_grad_init(packed_conv_grad *g, const packed_conv *fwd);

/** Whether the input gradient for an h x w input (fwd's) runs on g's own packed weights. */
int packed_conv_grad_direct(const packed_conv *fwd, const packed_conv_grad *g, int h, int w);

/** Pack g's weights from fwd's (fp32). */
dpsim_status packed_conv_grad_pack(packed_conv_grad *g, const packed_conv *fwd, errbuf *e);

void packed_conv_grad_free(packed_conv_grad *g);

/**
 * d_in += d conv / d in applied to d_out (d_in = when not accumulate), in
 * float arithmetic, for fwd and its gradient form g, packed where
 * packed_conv_grad_direct says this size needs it.
 * @param d_out (out_ch, Ho, Wo)
 * @param d_in  (in_ch, h, w)
 */
dpsim_status conv_fast_backward_input(const packed_conv *fwd, const packed_conv_grad *g,
                                      const float *d_out, int h, int w, float *d_in,
                                      int accumulate, worker_pool *workers, conv_buffers *cb,
                                      errbuf *e);

#endif
