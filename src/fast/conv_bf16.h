/*
 * conv_bf16.h - the opt-in bf16 convolution (DPSIM_PRECISION_BF16): the
 * direct GEMM of conv_fast.h with weights rounded to bf16 at load and the
 * patches rounded to bf16 as they are packed, multiplied on the bf16 tile
 * kernels (gemm.h: tile_bf16) with fp32 accumulation, bias and ReLU fused.
 * Never Winograd. n images of one size run as one GEMM whose columns are
 * every image's output pixels; every output's sum has one order (pairs of
 * reduction steps in increasing order, in blocks of CONV_KC), so the result
 * is bit-identical for any thread count and any batch.
 */
#ifndef DPSIM_FAST_CONV_BF16_H
#define DPSIM_FAST_CONV_BF16_H

#include "fast/conv_fast.h"

/** 1 when p was packed for a bf16 kernel (its weights are in p->a_bf16). */
static inline int packed_conv_is_bf16(const packed_conv *p)
{
    return p->kern && p->kern->tile_bf16;
}

/** packed_conv_init for a bf16 kern: p->a_bf16 (panels, ceil(k_total / 2), mr) pairs. */
dpsim_status packed_conv_init_bf16(packed_conv *p, const conv2d_shape *s, const float *weight,
                                   const float *bias, const gemm_kernel *kern, errbuf *e);

/**
 * out[b] = conv(in[b]) + bias [then ReLU when relu], b < n, on a bf16 p.
 * @param in  n inputs (in_ch, h, w), 1 <= n <= CONV_BATCH_MAX
 * @param out n outputs (out_ch, Ho, Wo)
 * @return DPSIM_E_NOMEM when buf cannot grow
 */
dpsim_status conv_bf16_forward(const packed_conv *p, int n, const float *const *in, int h, int w,
                               float *const *out, int relu, worker_pool *workers,
                               conv_buffers *buf, errbuf *e);

#endif
