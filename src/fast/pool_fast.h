/*
 * pool_fast.h - max-pooling on the worker pool: per output row, the max down
 * the window's rows first (a contiguous, vectorisable pass), then across.
 * Max is exact, so the result equals nn/maxpool.c's bit for bit.
 */
#ifndef DPSIM_FAST_POOL_FAST_H
#define DPSIM_FAST_POOL_FAST_H

#include "dpsim/dpsim.h"
#include "fast/pool.h"
#include "nn/nn.h"

/**
 * @param in  (c, h, w) -> out (c, Ho, Wo) as maxpool_forward
 * @return DPSIM_E_NOMEM when its row buffers cannot be had (out untouched)
 */
dpsim_status maxpool_fast(const maxpool_shape *s, const float *in, int c, int h, int w,
                          float *out, worker_pool *workers);

#endif
