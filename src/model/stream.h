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
 * The working memory a streamed comparison aims at: each stage's step is the
 * same number of pixels, the most whose line buffers and band buffers fit in
 * this many floats (64 MB), and at least STREAM_MIN_STEP_PIXELS, below which
 * steps are too small to keep the kernels busy.
 */
#define STREAM_BUDGET_FLOATS ((size_t)16 << 20)
#define STREAM_MIN_STEP_PIXELS 1024

/**
 * 1 when m compares n pairs of width x height by bands: the spatial method
 * on a plain trunk, and features of the 2n images that would take at least
 * STREAM_BUDGET_FLOATS (64 MB), what the bands themselves aim at. Below that,
 * bands save little memory and a pass over each layer, whole, is as fast or
 * faster (AlexNet 512x512 in pairs of two, 41 MB of features: 73 ms a pair
 * by bands, 72 through features). Above it they were faster as well as
 * smaller, A/B on this machine: SqueezeNet 512x512 70 against 100 ms a pair
 * (73 against 118 MB peak RSS), in pairs of two 57 against 78 ms; AlexNet
 * 1024x1024 281 against 308 ms (135 against 220 MB).
 */
int stream_applies(const dpsim_model *m, int n, int width, int height);

/**
 * The model's distance of n pairs of width x height images, pair i being
 * a[i] and b[i] (3, height, width) in [0,1], checked by the caller.
 * @param step_pixels pixels of each layer per step (whole rows, at least one);
 *                  0: stream_default_step (other values: tests)
 * @param distances (n) out
 * @param per_tap   (n, m->n_taps) out
 * @param maps      NULL, or (n, height, width) out: the distance maps (dpsim_compare's)
 * @param workers   the threads (NULL: the caller alone); with one worker per
 *                  2n / (workers) images or more, each runs its images alone
 * @param scratch   (pool_size(workers)) buffers kept between calls, or NULL
 */
dpsim_status stream_compare(const dpsim_model *m, int n, const float *const *a,
                            const float *const *b, int width, int height, long step_pixels,
                            double *distances, double *per_tap, float *maps,
                            worker_pool *workers, forward_scratch *scratch, errbuf *e);

/** The step stream_compare takes for n pairs of width x height when step_pixels is 0. */
long stream_default_step(const dpsim_model *m, int n, int width, int height);

#endif
