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

/*
 * Features of at least this many floats (48 MB, 3/4 of what the bands aim
 * at) are not made whole: their pairs are compared by bands.
 */
#define STREAM_FEATURES_MIN_FLOATS (STREAM_BUDGET_FLOATS / 4 * 3)

/**
 * 1 when m compares n pairs of width x height by bands: the spatial method
 * on a plain trunk, and features of the 2n images that would take at least
 * STREAM_FEATURES_MIN_FLOATS. A/B on this machine (ms a pair, peak RSS): above
 * it, bands were as fast or faster and smaller: SqueezeNet 512x512 70 against
 * 100 ms (73 against 118 MB), in pairs of two 57 against 78 ms; AlexNet
 * 1024x1024 281 against 308 ms (135 against 220 MB); VGG-16 256x256 (64 MB of
 * features) 251 against 249 ms, medians of 6 (257 against 326 MB). Below it,
 * bands save little memory and whole layers are faster: AlexNet 512x512 in
 * pairs of two (41 MB) 64-82 against 62-73 ms, 110 against 108 MB.
 */
int stream_applies(const dpsim_model *m, int n, int width, int height);

/**
 * How many of n pairs of width x height one stream_compare takes: as few
 * streams as keep each one's bands at STREAM_MIN_STEP_PIXELS within
 * STREAM_BUDGET_FLOATS, the pairs shared out evenly (4 pairs where 3 fit: 2
 * and 2). A step holds rows of every image of its stream, so many images
 * only make the steps smaller and the bands pass the budget: VGG-16 256x256
 * in fours needed 120 MB of them. One pair at a time ran it at 261-303
 * against 263-364 ms a pair (262 against 353 MB peak RSS); SqueezeNet 256x256
 * in fours, as two streams of two, 15.2-17.0 against 14.5-17.6 ms (75
 * against 82 MB).
 */
int stream_pairs(const dpsim_model *m, int n, int width, int height);

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
