/*
 * stream.h - the spatial (LPIPS) distance of pairs of images without their
 * features: the trunk runs over bands of rows and each tap's term is summed
 * as its rows appear (stream.c), so memory grows with the image's width, not
 * its area.
 */
#ifndef DPSIM_MODEL_STREAM_H
#define DPSIM_MODEL_STREAM_H

#include "model/model.h"

/*
 * The working memory a streamed comparison aims at: the band is the tallest
 * whose line buffers and band buffers fit in this many floats (64 MB), but
 * at least STREAM_MIN_PIXELS pixels of the last layer, below which its steps
 * are too small to keep the kernels busy (VGG-16 512x512 by bands of one
 * row of its 32-pixel last layer: 1.9 s a pair; of two rows: 1.3 s).
 */
#define STREAM_BUDGET_FLOATS ((size_t)16 << 20)
#define STREAM_MIN_PIXELS 64

/*
 * Pairs whose features would take at least this many floats per image
 * (8 MB) are streamed; smaller ones are extracted whole, where one pass over
 * each layer is faster than bands and their features are small anyway.
 */
#define STREAM_MIN_FEATURE_FLOATS ((size_t)2 << 20)

/** 1 when m compares width x height pairs by streaming: the spatial method on a plain trunk. */
int stream_applies(const dpsim_model *m, int width, int height);

/**
 * The model's distance of n pairs of width x height images, pair i being
 * a[i] and b[i] (3, height, width) in [0,1], checked by the caller.
 * @param band      rows of the last layer per step; 0: the tallest within
 *                  STREAM_BUDGET_FLOATS (other values: tests)
 * @param distances (n) out
 * @param per_tap   (n, m->n_taps) out
 * @param maps      NULL, or (n, height, width) out: the distance maps (dpsim_compare's)
 * @param workers   the threads (NULL: the caller alone); with one worker per
 *                  2n / (workers) images or more, each runs its images alone
 * @param scratch   (pool_size(workers)) buffers kept between calls, or NULL
 */
dpsim_status stream_compare(const dpsim_model *m, int n, const float *const *a,
                            const float *const *b, int width, int height, int band,
                            double *distances, double *per_tap, float *maps,
                            worker_pool *workers, forward_scratch *scratch, errbuf *e);

/** The band stream_compare takes for n pairs of width x height when band is 0. */
int stream_default_band(const dpsim_model *m, int n, int width, int height);

#endif
