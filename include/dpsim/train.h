/*
 * train.h - learning the per-channel weights (SPEC section 7, LPIPS "lin")
 * on 2AFC triplets, and adapting them to a context given as a ranking of
 * distortions (SPEC section 8, thesis chapter 5). Included by dpsim.h.
 *
 * The trunk is frozen: each triplet's features are extracted once and the
 * per-channel differences cached; only the channel weights (one vector per
 * term and tap of the method) and the ranking head are learned. The result
 * is saved as a dpsim weights file (doc/WEIGHTS.md) that --lin / lin_path
 * loads. Everything is single-threaded past extraction and bit-for-bit
 * deterministic for a seed.
 */
#ifndef DPSIM_TRAIN_H
#define DPSIM_TRAIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dpsim_train_options {
    uint64_t seed;           /* head init, shuffling, dropout, draws (default 0) */
    int epochs;              /* at the full rate (default 5) */
    int decay_epochs;        /* then the rate falls linearly (default 5): epoch k of these
                                (1-based) runs at lr * (decay_epochs - k + 1) / decay_epochs,
                                as the LPIPS trainer does, reaching 0 after the last */
    int batch;               /* triplets per Adam step (default 50) */
    double lr;               /* default 1e-4 */
    double beta1, beta2;     /* default 0.5, 0.999; Adam eps 1e-8 */
    double dropout;          /* on each difference element before its weight (default 0.5;
                                0 = none) */
    int init_from_model;     /* 1: start from the model's weights (a --lin file, or all
                                ones); 0 (default): 1/C per channel, the reference's scale */
    double max_cache_gib;    /* dpsim_train_2afc: when the cached difference elements (for
                                dropout) would need more (default 16 GiB), keep only the
                                channel means and recompute each batch's elements from the
                                images every epoch (same result bit for bit, slower);
                                adaptation and dpsim_train_triplets fail with DPSIM_E_LIMIT */
    double val_fraction;     /* dpsim_train_2afc without a val set: this fraction of the
                                triplets is held out (default 0.1; 0: no validation) */
} dpsim_train_options;

DPSIM_API void dpsim_train_options_init(dpsim_train_options *opt);

/** One line of the training log, after each epoch. */
typedef struct dpsim_train_epoch {
    int epoch;          /* 1-based */
    double lr;          /* the rate this epoch ran at */
    double loss;        /* mean loss over the epoch's triplets (with dropout) */
    double train_2afc;  /* 2AFC of the training triplets, without dropout */
    double val_2afc;    /* of the validation triplets; NaN without any */
    int sync;           /* adaptation: 1 if the sync loss was on this epoch */
} dpsim_train_epoch;

typedef void (*dpsim_train_log_fn)(void *user, const dpsim_train_epoch *epoch);

/** Learned per-channel weights for one model's method and taps. */
typedef struct dpsim_weights dpsim_weights;

/**
 * Train on a 2AFC dataset (dpsim_dataset_open with DPSIM_DATASET_2AFC).
 * @param val  NULL: hold out opt->val_fraction of train (chosen by the seed).
 * @param progress called while features are extracted (done, total triplets).
 * @return DPSIM_OK; DPSIM_E_UNSUPPORTED for dists; any extraction error (naming
 *   the file).
 */
DPSIM_API dpsim_status dpsim_train_2afc(dpsim_ctx *ctx, const dpsim_model *model,
                                        const dpsim_dataset *train, const dpsim_dataset *val,
                                        const dpsim_train_options *opt, dpsim_train_log_fn log,
                                        dpsim_progress_fn progress, void *user,
                                        dpsim_weights **out);

/**
 * Write weights as a dpsim safetensors file (doc/WEIGHTS.md): {term}.tap{K}
 * F32 (C) vectors and metadata net, method, taps, version and summary. The
 * weights must belong to model's method and taps (else DPSIM_E_INVAL) and be
 * finite and >= 0. Written atomically.
 */
DPSIM_API dpsim_status dpsim_weights_save(dpsim_ctx *ctx, const dpsim_model *model,
                                          const dpsim_weights *w, const char *path,
                                          const char *summary);
DPSIM_API void dpsim_weights_free(dpsim_weights *w);
/** Number of vectors (terms x taps). */
DPSIM_API int dpsim_weights_count(const dpsim_weights *w);
/**
 * Vector i: its term name ("spatial", "mean", "sort", "gram"), tap index into
 * the model's taps, length and values (valid as long as w).
 */
DPSIM_API dpsim_status dpsim_weights_vector(const dpsim_weights *w, int i, const char **term,
                                            int *tap, int *channels, const float **values);

/* ---- adaptation to a ranking of distortions ---- */

typedef struct dpsim_adapt_options {
    dpsim_train_options train;  /* defaults as above, except epochs 5 + decay 5 of the
                                   thesis (the same) and init_from_model = 1 */
    int n_ranking;              /* 2 to 6 */
    dpsim_distortion ranking[DPSIM_DISTORT_COUNT]; /* most similar first */
    double holdout;             /* fraction of the images held out (default 0.2): they
                                   give the validation 2AFC (sync switch) and the
                                   held-out score */
    int eval_draws;             /* triplets drawn per held-out / second-set image (default 4) */
    int train_draws;            /* triplets per training image and epoch (default 1, the
                                   thesis's; more helps small image sets) */
    int negatives;              /* 1: also triplets whose x1 is a distortion of another
                                   image, labelled less similar than x0 (thesis 5.6) */
} dpsim_adapt_options;

DPSIM_API void dpsim_adapt_options_init(dpsim_adapt_options *opt);

/** A set of images in memory: (3, h, w) planar floats, sizes may differ. */
typedef struct dpsim_image_set {
    size_t n;
    const float *const *pixels;
    const int *width, *height;
} dpsim_image_set;

/** Baseline (the model's own weights) and adapted 2AFC on fixed evaluation triplets. */
typedef struct dpsim_adapt_report {
    double baseline_heldout, adapted_heldout;
    double baseline_second, adapted_second; /* NaN without a second set */
    size_t n_train_images, n_heldout_images, n_second_images;
} dpsim_adapt_report;

/**
 * Adapt model's weights to the ranking (SPEC section 8): every epoch each
 * training image gets two different distortions drawn from the ranking ->
 * triplet (x, x0, x1) with J = 1 if x1's distortion ranks earlier; ranking
 * head + BCE, plus 10 * BCE(sigmoid(d(x,x0) - d(x,x1)), J) until the
 * validation 2AFC first exceeds 0.5; weights clamped >= 0.
 * @param second NULL or a second, different image set for the report.
 */
DPSIM_API dpsim_status dpsim_adapt(dpsim_ctx *ctx, const dpsim_model *model,
                                   const dpsim_image_set *images, const dpsim_image_set *second,
                                   const dpsim_adapt_options *opt, dpsim_train_log_fn log,
                                   void *user, dpsim_weights **out, dpsim_adapt_report *report);

/**
 * Train on triplets given as images (x, x0, x1) with labels h (fraction
 * preferring x1, e.g. the J of a ranking), for instance from a user's own
 * distortion commands: like dpsim_train_2afc, with triplets[3 i + k] indices
 * into images (each image's features extracted once). Every k-th triplet,
 * k = ceil(1 / val_fraction), is held out for validation.
 * @param sync 1: add the sync loss of SPEC section 8 until the validation
 *             2AFC first exceeds 0.5 (adaptation); 0: the plain recipe.
 */
DPSIM_API dpsim_status dpsim_train_triplets(dpsim_ctx *ctx, const dpsim_model *model,
                                            const dpsim_image_set *images,
                                            const size_t *triplets, const double *h, size_t n,
                                            const dpsim_train_options *opt, int sync,
                                            dpsim_train_log_fn log, void *user,
                                            dpsim_weights **out);

#ifdef __cplusplus
}
#endif

#endif /* DPSIM_TRAIN_H */
