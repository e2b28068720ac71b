/*
 * conv_batch.h - one convolution over several images of one size.
 */
#ifndef DPSIM_FAST_CONV_BATCH_H
#define DPSIM_FAST_CONV_BATCH_H

#include "fast/conv_fast.h"

/* The most images conv_fast_forward_batch takes. */
#define CONV_BATCH_MAX 32

/**
 * out[b] = conv(in[b]) + bias [then ReLU] for b < n, each bit-identical to
 * conv_fast_forward on that image alone.
 * @param in  n <= CONV_BATCH_MAX inputs (in_ch, h, w)
 * @param out n outputs (out_ch, Ho, Wo)
 */
dpsim_status conv_fast_forward_batch(const packed_conv *p, int n, const float *const *in, int h,
                                     int w, float *const *out, int relu, worker_pool *workers,
                                     conv_buffers *buf, errbuf *e);

/**
 * conv_fast_forward_batch on inputs that carry their own zero padding: in[b]
 * (in_ch, h, w) is already padded on every side that needs it (rows and
 * columns outside the image are zeros), and p runs on it without padding.
 * A band of rows cut from a larger image (model/stream.c) gets the rows
 * around it from the image itself instead of the padding's zeros.
 * @param u  NULL, or conv_batch_padded_weights' for this p, h and w
 */
dpsim_status conv_fast_forward_batch_padded(const packed_conv *p, const float *u, int n,
                                            const float *const *in, int h, int w,
                                            float *const *out, int relu, worker_pool *workers,
                                            conv_buffers *buf, errbuf *e);

/**
 * *u = the Winograd weights conv_fast_forward_batch_padded runs p on h x w
 * inputs with (conv_wino_weights: p's own, or made now by workers in buf), or
 * NULL when that size runs direct. Threads that each run the same layer on
 * buffers of their own share them through its u argument instead of making
 * them each (model/stream.c); buf's next Winograd call may overwrite them.
 */
dpsim_status conv_batch_padded_weights(const packed_conv *p, int h, int w, worker_pool *workers,
                                       conv_buffers *buf, const float **u, errbuf *e);

#endif
