/*
 * diffs.h - what training needs from a pair of feature sets: for every
 * weighted term and tap of the model's method, the per-channel values that
 * the channel weights multiply. The distance is then linear in the weights:
 *   d = sum_blocks (1/P) sum_c w[c] sum_p D[c, p]
 * with P = h*w positions (spatial, sort) or 1 (mean, gram). Dropout acts on
 * the elements D[c, p]; without it only the channel means S[c] are needed.
 */
#ifndef DPSIM_TRAIN_DIFFS_H
#define DPSIM_TRAIN_DIFFS_H

#include "model/model.h"

#define MAX_BLOCKS (2 * DPSIM_MAX_TAPS)

/* The weight vectors of a method: one block per (term, tap). */
typedef struct weight_layout {
    int n_blocks;
    term_kind kind[MAX_BLOCKS];
    int tap[MAX_BLOCKS];
    int channels[MAX_BLOCKS];
    size_t offset[MAX_BLOCKS]; /* into the flat weight vector */
    size_t n_weights;
} weight_layout;

/** The layout of m's method; DPSIM_E_UNSUPPORTED for dists (not a weighted sum). */
dpsim_status weight_layout_make(const dpsim_model *m, weight_layout *out, errbuf *e);

typedef struct pair_diffs {
    float *s;                 /* (n_weights): S[c] = (1/P) sum_p D[c, p] per block */
    float *d;                 /* NULL, or every block's D (channels, positions) in order */
    int positions[MAX_BLOCKS];
} pair_diffs;

/** Number of floats D of a pair takes (for memory estimates). */
size_t pair_diffs_elements(const weight_layout *l, const dpsim_features *a);

/**
 * Fill out from two feature sets of m (same size). keep_elements: also keep D
 * (needed for dropout). @return DPSIM_OK or DPSIM_E_NOMEM.
 */
dpsim_status pair_diffs_compute(const dpsim_model *m, const weight_layout *l,
                                const dpsim_features *a, const dpsim_features *b,
                                int keep_elements, pair_diffs *out, errbuf *e);
void pair_diffs_free(pair_diffs *p);

#endif
