/*
 * methods.h - one function per comparison term (SPEC section 3), each on
 * one tap of both images. compare.c sums them over taps for the model's
 * method. Weights w are (c) per-channel values or NULL for all ones.
 */
#ifndef DPSIM_COMPARE_METHODS_H
#define DPSIM_COMPARE_METHODS_H

#include "core/error.h"

#define NORM_EPS 1e-10 /* n(z) = z / (sqrt(sum_c z^2) + eps), the LPIPS form */

/* One tap of both images: a and b are (c, h, w). */
typedef struct tap_pair {
    const float *a, *b;
    int c, h, w;
} tap_pair;

/**
 * spatial (LPIPS): mean over positions of sum_c w[c] (n(a) - n(b))^2.
 * @param tap_map NULL or (h, w) out: the per-position weighted sums.
 */
dpsim_status spatial_term(const tap_pair *p, const float *w, int norm, double *out,
                          float *tap_map, errbuf *e);
/** *sum += the per-position sums of spatial_term (before the mean), in row-major order. */
dpsim_status spatial_sum(const tap_pair *p, const float *w, int norm, double *sum,
                         float *tap_map, errbuf *e);
/** mean: each channel's spatial mean, then normalised along channels, then as spatial. */
dpsim_status mean_term(const tap_pair *p, const float *w, int norm, double *out, errbuf *e);
/** mean_term for taps of different sizes: a is (c, hw_a), b is (c, hw_b). */
dpsim_status mean_term_sizes(const float *a, size_t hw_a, const float *b, size_t hw_b, int c,
                             const float *w, int norm, double *out, errbuf *e);
/** sort: each channel's values sorted descending, normalised per rank, then as spatial. */
dpsim_status sort_term(const tap_pair *p, const float *w, int norm, double *out, errbuf *e);
/**
 * gram: G = Z Z^T / (h w) with Z the (c, h w) matrix (n(z) when norm);
 * term = sum_i w[i] sum_j (G_ij - G0_ij)^2 / c^2.
 */
dpsim_status gram_term(const tap_pair *p, const float *w, int norm, double *out, errbuf *e);
/** gram_term for taps of different sizes: a is (c, hw_a), b is (c, hw_b). */
dpsim_status gram_term_sizes(const float *a, size_t hw_a, const float *b, size_t hw_b, int c,
                             const float *w, int norm, double *out, errbuf *e);
/**
 * dists: per channel, texture t and structure s from population statistics;
 * returns scale * sum_c alpha[c] (1 - t) + beta[c] (1 - s). With scale =
 * 1 / (sum of all alpha and beta) the terms of all taps sum to the DISTS
 * distance 1 - sum alpha' t + beta' s. NULL alpha or beta: all ones.
 */
double dists_term(const tap_pair *p, const float *alpha, const float *beta, double scale);

/** The DISTS weight scale of a model: 1 / (sum of all alpha and beta); a missing vector
    counts as all ones. */
double dists_scale(const dpsim_model *m);

#endif
