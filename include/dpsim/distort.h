/*
 * distort.h - the six image distortions of thesis chapter 5 (SPEC section 8)
 * and the random generator behind every seeded draw in dpsim. Included by
 * dpsim.h.
 *
 * Images are (3, height, width) planar float in [0,1], as in dpsim_image.
 * Outputs have the input's size; pixels a geometric distortion brings in
 * from outside the image are black.
 */
#ifndef DPSIM_DISTORT_H
#define DPSIM_DISTORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- random numbers: xoshiro256** seeded through splitmix64 ---- */

/**
 * The generator: xoshiro256** (Blackman and Vigna, 2018). dpsim_rng_seed
 * fills the four words with four successive outputs of splitmix64 started
 * at seed. Doubles are (next() >> 11) * 2^-53, in [0, 1). The same seed
 * gives the same sequence on every platform.
 */
typedef struct dpsim_rng {
    uint64_t s[4];
} dpsim_rng;

DPSIM_API void dpsim_rng_seed(dpsim_rng *rng, uint64_t seed);
DPSIM_API uint64_t dpsim_rng_next(dpsim_rng *rng);
/** Uniform in [0, 1). */
DPSIM_API double dpsim_rng_uniform(dpsim_rng *rng);
/** Uniform integer in [0, n) (n >= 1), without modulo bias. */
DPSIM_API uint64_t dpsim_rng_below(dpsim_rng *rng, uint64_t n);

/* ---- distortions ---- */

typedef enum dpsim_distortion {
    DPSIM_DISTORT_ROTATE = 0,    /* a = degrees counter-clockwise about the centre, bilinear */
    DPSIM_DISTORT_TRANSLATE = 1, /* a, b = shift right / down as fractions of width / height,
                                    rounded to whole pixels */
    DPSIM_DISTORT_DARKEN = 2,    /* a = brightness factor: every value times a */
    DPSIM_DISTORT_HUE = 3,       /* a = hue shift as a fraction of the circle (HSV) */
    DPSIM_DISTORT_BLUR = 4,      /* k = odd kernel size, a = sigma; Gaussian, reflected borders */
    DPSIM_DISTORT_ZOOM = 5,      /* a = zoom factor >= 1 about the centre, bilinear */
    DPSIM_DISTORT_COUNT = 6
} dpsim_distortion;

typedef struct dpsim_distort_params {
    double a, b;
    int k;
} dpsim_distort_params;

/** "rotate", "translate", "darken", "hue", "blur", "zoom"; NULL if unknown. */
DPSIM_API const char *dpsim_distortion_name(dpsim_distortion kind);
DPSIM_API dpsim_status dpsim_distortion_parse(const char *name, dpsim_distortion *out);

/**
 * Draw parameters uniformly in the SPEC section 8 intervals: rotate 30-330
 * degrees; translate -0.5-0.5 in x and y; darken 0.1-0.5; hue -0.5-0.5;
 * blur kernel one of 11, 13, ..., 21 and sigma 4-10; zoom 1.1-2.
 */
DPSIM_API dpsim_status dpsim_distort_draw(dpsim_distortion kind, dpsim_rng *rng,
                                          dpsim_distort_params *out);

/**
 * Apply a distortion. in and out are (3, height, width) and must not overlap.
 * Values are clamped to [0, 1] (hue and darken keep them there anyway).
 * Parameters must be finite; blur needs an odd k >= 1 and sigma > 0; zoom a > 0.
 * @return DPSIM_OK or DPSIM_E_INVAL naming the bad parameter.
 */
DPSIM_API dpsim_status dpsim_distort_apply(dpsim_ctx *ctx, dpsim_distortion kind,
                                           const dpsim_distort_params *p, const float *in,
                                           int width, int height, float *out);

#ifdef __cplusplus
}
#endif

#endif /* DPSIM_DISTORT_H */
