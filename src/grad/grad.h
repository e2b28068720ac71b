/*
 * grad.h - backward passes for the deep perceptual loss (SPEC section 4).
 * Forward activations stay float32 (the nn.h kernels compute them). The
 * comparison terms and their gradients are float64; the trunk's gradients
 * are float32, the precision its convolutions multiply in anyway. Backward
 * functions ACCUMULATE into their d_* outputs unless they say otherwise.
 * Layout everywhere: (C, H, W) planar, row-major, one image at a time.
 */
#ifndef DPSIM_GRAD_GRAD_H
#define DPSIM_GRAD_GRAD_H

#include <math.h>
#include <stddef.h>

#include "core/error.h"
#include "model/model.h"
#include "nn/nn.h"

// ---- trunk ops (conv_backward.c, pool_backward.c, relu_backward.c) ----

/**
 * d_in += conv^T(d_out): the input gradient of conv2d_forward (bias and
 * weights are constants here).
 * @param d_out  (out_ch, Ho, Wo)
 * @param weight (out_ch, in_ch, k, k)
 * @param d_in   (in_ch, h, w), accumulated
 */
void conv2d_backward_input(const conv2d_shape *s, const double *d_out, int h, int w,
                           const float *weight, double *d_in);

/** d *= (y > 0) over n values: y is the ReLU output (or its input). */
void relu_backward(const float *y, float *d, size_t n, worker_pool *workers);

/** The mask of y (n values) as bits: bit i % 8 of bits[i / 8] = (y[i] > 0). */
void relu_mask(const float *y, size_t n, uint8_t *bits, worker_pool *workers);

/** relu_backward by relu_mask's bits: d[i] = 0 where bit i is clear. */
void relu_mask_backward(const uint8_t *bits, float *d, size_t n, worker_pool *workers);

/** d = d + tap, then relu_backward when y is not NULL; tap NULL adds nothing. A tap's
    gradient where the tap was taken, in the ReLU's pass when it is one. */
void tap_backward(const float *y, const float *tap, float *d, size_t n, worker_pool *workers);

/**
 * d_in = the max-pool gradient (d_in is overwritten): each output's gradient
 * goes to the first maximum of its window in scan order (the element
 * maxpool_forward and PyTorch pick).
 * @param in (c, h, w) the pool's input; d_out (c, Ho, Wo); d_in (c, h, w)
 */
void maxpool_backward(const maxpool_shape *s, const float *in, int c, int h, int w,
                      const float *d_out, float *d_in, worker_pool *workers);

/**
 * d_in += the L2-pooling gradient, d y / d x_j = g_j x_j / y with y
 * recomputed in double from the input.
 * @param in (c, h, w); d_out (c, (h-1)/2+1, (w-1)/2+1); d_in (c, h, w)
 */
void l2pool_backward(const float *in, int c, int h, int w, const float *d_out, float *d_in);

// ---- channel normalisation (normalize_backward.c) ----

/* Positions per block of the normalisation loops (a few KiB of per-position sums on the stack). */
#define NORM_BLOCK 256

/** s (n) = sum_c z^2 at n consecutive positions; z points at channel 0, planes hw apart. */
void channel_sumsq(const double *z, int c, size_t hw, int n, double *s);

/*
 * One position's factors of the normalisation gradient, d_z = ik d_n - k z:
 * ik = inv and k = inv^2 <d_n, z> / |z| from s = |z|^2; both zero when s is
 * zero (see unit_norm_backward).
 */
static inline void norm_factors(double s, double inv, double dot, double *ik, double *k)
{
    const int zero = s == 0.0;
    *ik = zero ? 0.0 : inv;
    *k = zero ? 0.0 : inv * inv * dot / sqrt(s);
}

/**
 * n = z / (sqrt(sum_c z^2) + eps) per position, in double.
 * @param z (c, hw); n (c, hw) out; inv (hw) out: 1 / (norm + eps)
 */
void unit_norm_forward(const double *z, int c, size_t hw, double *n, double *inv);

/**
 * d_z += J^T d_n for n = z * inv: inv d_n - inv^2 (z / |z|) <d_n, z>.
 * At a position whose feature vector is all zero the exact derivative is
 * d_n / eps (1e10 times the incoming gradient; the reference LPIPS gives
 * NaN there): it is taken as zero, so an all-black image has a finite,
 * usable gradient.
 */
void unit_norm_backward(const double *z, int c, size_t hw, const double *inv,
                        const double *d_n, double *d_z);

/** unit_norm_backward when norm, else d_z += d_n; nothing when d_z is NULL. */
void norm_backward(const double *z, int c, size_t hw, int norm, const double *inv,
                   const double *d_n, double *d_z);

// ---- comparison terms with their gradients ----

/* One tap of both images: a and b are (c, h, w) in double. */
typedef struct dtap_pair {
    const double *a, *b;
    int c, h, w;
    worker_pool *workers; /* the threads spatial_grad may use (NULL: the caller only) */
    /* the same taps in float (c, h, w), or NULL: spatial_grad reads these when set, and a
       pair for spatial_grad alone needs no a, b (each value converts exactly) */
    const float *fa, *fb;
} dtap_pair;

/*
 * Each term function computes the term exactly as src/compare does (value
 * out) and adds scale * d term / d a into ga and scale * d term / d b into
 * gb (each NULL or (c, h, w)). w: per-channel weights, NULL for all ones.
 */
dpsim_status spatial_grad(const dtap_pair *p, const float *w, int norm, double scale,
                          double *value, double *ga, double *gb, errbuf *e);
dpsim_status mean_grad(const dtap_pair *p, const float *w, int norm, double scale,
                       double *value, double *ga, double *gb, errbuf *e);
/** The sort gradient goes back through the permutation of the forward sort
    (descending, ties by position: a fixed permutation). */
dpsim_status sort_grad(const dtap_pair *p, const float *w, int norm, double scale,
                       double *value, double *ga, double *gb, errbuf *e);
dpsim_status gram_grad(const dtap_pair *p, const float *w, int norm, double scale,
                       double *value, double *ga, double *gb, errbuf *e);
/** DISTS: value = wscale * sum_c alpha (1 - t) + beta (1 - s), like dists_term. */
void dists_grad(const dtap_pair *p, const float *alpha, const float *beta, double wscale,
                double scale, double *value, double *ga, double *gb);

// ---- the trunk with a tape (tape.c) ----

/*
 * What backward needs of one forward pass through the trunk, and the memory
 * both passes work in: grown on demand and kept from one pass to the next
 * (a context keeps its tapes between calls, so a pass of the same size
 * touches no fresh pages), freed by tape_free.
 */
typedef struct grad_tape {
    const dpsim_model *m;
    int c[NET_MAX_LAYERS + 1], h[NET_MAX_LAYERS + 1], w[NET_MAX_LAYERS + 1];
    /* act[0]: the net input x (3, h, w); act[i + 1]: output of layer i, kept when a
       tap, a fire module's mask or a pool's input needs it (else NULL) */
    float *act[NET_MAX_LAYERS + 1];
    /* mask[i + 1]: ReLU layer i's mask (relu_mask) where backward needs no more of it */
    uint8_t *mask[NET_MAX_LAYERS + 1];
    float *squeezed[NET_MAX_LAYERS]; /* fire i: squeeze output after its ReLU */
    worker_pool *workers;            /* the threads its convolutions use (NULL: caller only) */
    /* the memory: act and squeezed point into mem and sq_mem; scratch (two halves of
       scratch_mem, each of the largest activation) holds the forward's unkept outputs, then
       a tap's gradient in double (tape_tap_room), then the backward's gradients; d_sq a fire
       module's squeeze gradient */
    float *mem[NET_MAX_LAYERS + 1], *sq_mem[NET_MAX_LAYERS], *scratch[2], *scratch_mem, *d_sq;
    size_t mem_cap[NET_MAX_LAYERS + 1], sq_cap[NET_MAX_LAYERS], scratch_cap;
    size_t mask_cap[NET_MAX_LAYERS + 1];
    size_t d_sq_cap;
    conv_buffers cb; /* the convolutions' working memory, shared by every layer */
} grad_tape;

/**
 * Run the trunk on x (3, h, w) (copied) up to the model's last tap, keeping
 * the taps and, when backward, what backward needs. Tap i of the model (not
 * the pixel tap) is t->act[m->taps[i] + 1], bit-identical to dpsim_extract's.
 * t is a zeroed tape or one of an earlier pass (its memory is reused).
 */
dpsim_status tape_forward(const dpsim_model *m, const float *x, int h, int w,
                          worker_pool *workers, int backward, grad_tape *t, errbuf *e);

/**
 * Room for n <= (any activation's size) doubles, from tape_forward until
 * tape_backward (the forward's scratch, free then): a tap's gradient while
 * the method's terms sum it.
 */
double *tape_tap_room(grad_tape *t);

/**
 * d_x += d distance / d x, given d_taps[i] = d distance / d (tap i) for the
 * model's taps (NULL: zero; the pixel tap's entry is ignored).
 * @param d_x (3, h, w)
 */
dpsim_status tape_backward(grad_tape *t, float *const *d_taps, double *d_x, errbuf *e);

/** Free a tape's memory; t is zeroed, ready for another pass. */
void tape_free(grad_tape *t);

// ---- dpsim_gradient (gradient.c) ----

/* The tapes and buffers dpsim_gradient keeps in a context between calls. */
typedef struct grad_work grad_work;

/** Free a context's gradient memory (NULL: nothing). */
void grad_work_free(grad_work *w);

#endif
