/*
 * conv_wino.h - 3x3 and 5x5 stride-1 convolutions by Winograd F(2x2, 3x3), a path
 * inside packed_conv (conv_fast.h). Each 2x2 block of outputs ("tile") is
 * computed from its 4x4 input patch d as Y = A^T [U (.) V] A + bias, with
 * V = B^T d B per input channel and U = G g G^T per (out, in) channel pair;
 * summed over the input channels, the 16 elements e of U (.) V become 16
 * matrix products M_e (out_ch, tiles) = U_e (out_ch, in_ch) V_e (in_ch,
 * tiles), run on the GEMM tile kernels (gemm.h). That is 16 multiply-adds
 * per channel pair for 4 outputs, against 36 for the direct convolution.
 *
 * A task is (block of tiles) x (block of output channels); the reduction over
 * in_ch runs in fixed blocks in one chain per output, so the result does not
 * depend on the number of threads.
 */
#ifndef DPSIM_FAST_CONV_WINO_H
#define DPSIM_FAST_CONV_WINO_H

#include "fast/conv_fast.h"

enum {
    WINO_OUT = 2,  /* tile side (outputs) */
    WINO_IN = 4,   /* input patch side */
    WINO_ELEMS = 16 /* WINO_IN^2: transformed elements per tile */
};

/*
 * Transformed weights of at most this many floats (8 MB) are kept once made;
 * larger ones are made again on each call, into the caller's buffers. Making
 * them is a pass over the weights, as much as a layer's GEMMs read on its
 * fewest tiles. For the forward's (conv_wino_weights), VGG-16 keeps its
 * layers up to 256x256 channels (12 MB, all that 64x64 inputs run by
 * Winograd) and makes those of 512 on each call (92 MB it would otherwise
 * keep), about 1.6 ms a layer on one core. One 256x256 pair, whose two
 * workers share what they make (model/stream.c), took 162 against 250 MB of
 * peak RSS in 1-3% more time (2 threads, 10 interleaved runs: medians 278
 * against 274 ms); one 1024x1024 pair as long as before; forward and
 * backward at 256x256 339 against 395 MB in the same time. For the
 * gradient's, rearranged from those (conv_wino_backward_input): AlexNet's 3x3
 * layers at 15x15 (6-13 MB each) spent 6% of a 256x256 forward and backward
 * rearranging on each call.
 */
#define WINO_KEEP_FLOATS ((size_t)2 << 20)

/**
 * The transformed weights of p (any 3x3 or 5x5 stride-1 p), made from its
 * direct packing by the workers: kept in p->u once made when they take at
 * most WINO_KEEP_FLOATS (only layers that meet inputs large enough for
 * Winograd spend the memory, 16/9 of their direct weights; safe to call from
 * several threads sharing p), else made in buf->u, which the caller's next
 * call on buf overwrites. The same bits either way.
 * @return NULL when out of memory
 */
const float *conv_wino_weights(const packed_conv *p, worker_pool *workers, conv_buffers *buf);

/** Floats of p's transformed weights. */
size_t conv_wino_u_floats(const packed_conv *p);

/**
 * Whether conv_fast_forward runs p on an h x w input as Winograd: 3x3 or 5x5
 * (as 2x2 groups of 3x3, see conv_wino.c), stride 1, at least 64 channels each
 * way, at most 512x512 channel pairs (a 5x5's input channels count 4 times)
 * and at least 64 tiles. Few tiles fill few lanes of the tile kernels and reuse each of
 * the larger weights on few outputs; narrow layers spend most of their time
 * in the transforms: direct is faster there (measured, conv_wino.c).
 */
int conv_wino_wins(const packed_conv *p, int h, int w);

/** conv_fast_forward by Winograd, for any 3x3 or 5x5 stride-1 p and input size. */
dpsim_status conv_wino_forward(const packed_conv *p, const float *in, int h, int w, float *out,
                               int relu, worker_pool *workers, conv_buffers *buf, errbuf *e);

/**
 * conv_wino_forward on the transformed weights u, in the layout
 * conv_wino_weights gives for p's shape and kernel (p's own p->u and p->a
 * are not read; p->bias NULL adds none).
 */
dpsim_status conv_wino_run(const packed_conv *p, const float *u, const float *in, int h, int w,
                           float *out, int relu, worker_pool *workers, conv_buffers *buf,
                           errbuf *e);

/** Floats from one of the 16 elements of p's transformed weights to the next. */
size_t conv_wino_u_stride(const packed_conv *p);

/*
 * The input gradient of a 3x3 stride-1 convolution with padding 1 is the
 * same kind of convolution (conv_wino_grad.c): kernel flipped, input and
 * output channels swapped. Its transformed weights are the forward's,
 * rearranged, so the backward needs no weights of its own: with J the
 * reversal of 3 values, G J = P G for P swapping rows 0 and 3 of G, hence
 * G (J g J) G^T = P (G g G^T) P: element (y, x) of the flipped kernel's U is
 * element (p(y), p(x)) of the forward's, p swapping 0 and 3.
 */

/** Whether conv_wino_backward_input runs fwd's input gradient for an ho x wo d_out. */
int conv_wino_grad_wins(const packed_conv *fwd, int ho, int wo);

/**
 * d_in (fwd in_ch, ho, wo) = the input gradient of fwd (3x3, stride 1,
 * padding 1, fp32) applied to d_out (fwd out_ch, ho, wo), by Winograd on
 * fwd's transformed weights (conv_wino_weights), rearranged: kept in g->u
 * when small (WINO_KEEP_FLOATS; safe from several threads), else into
 * buf->grad_u.
 */
dpsim_status conv_wino_backward_input(const packed_conv *fwd, const packed_conv_grad *g,
                                      const float *d_out, int ho, int wo, float *d_in,
                                      worker_pool *workers, conv_buffers *buf, errbuf *e);

#endif
