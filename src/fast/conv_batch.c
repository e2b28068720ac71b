/*
 * conv_batch.c - a convolution over several images of one size.
 */
#include "fast/conv_batch.h"

dpsim_status conv_fast_forward_batch(const packed_conv *p, int n, const float *const *in, int h,
                                     int w, float *const *out, int relu, worker_pool *workers,
                                     conv_buffers *buf, errbuf *e)
{
    dpsim_status s = DPSIM_OK;
    for (int b = 0; b < n && s == DPSIM_OK; b++)
        s = conv_fast_forward(p, in[b], h, w, out[b], relu, workers, buf, e);
    return s;
}
