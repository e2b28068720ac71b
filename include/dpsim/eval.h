/*
 * eval.h - evaluating a metric against human judgments (SPEC section 6):
 * BAPPS 2AFC and JND folders, and MOS tables. Included by dpsim.h.
 *
 * The scorers work on plain arrays, so any source of distances can use them.
 * dpsim_dataset lists a BAPPS folder (sorted by name, never directory order);
 * dpsim_dataset_distances extracts every image's features once and fills the
 * distances; dpsim_dataset_score turns them into per-category scores.
 */
#ifndef DPSIM_EVAL_H
#define DPSIM_EVAL_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- scorers ---- */

/**
 * 2AFC score: the mean over triplets of h if d1 < d0, 1 - h if d0 < d1, 0.5 if
 * d0 == d1, with h the fraction of judges preferring p1 (in [0, 1]).
 * @return DPSIM_OK; DPSIM_E_INVAL for n == 0, a NULL array, a NaN distance or
 *         h outside [0, 1].
 */
DPSIM_API dpsim_status dpsim_score_2afc(const double *d0, const double *d1, const double *h,
                                        size_t n, double *score);

/**
 * JND mAP: pairs sorted by distance ascending (ties keep their input order),
 * TP = cumsum(same), FP = cumsum(1 - same), precision = TP / (TP + FP),
 * recall = TP / sum(same); VOC average precision (recall padded with 0 and 1,
 * precision with 0 and 0, precision made non-increasing from the right, summed
 * over the recall steps).
 * @return DPSIM_OK; DPSIM_E_INVAL for n == 0, sum(same) == 0, a NaN distance or
 *         same outside [0, 1].
 */
DPSIM_API dpsim_status dpsim_score_jnd(const double *d, const double *same, size_t n,
                                       double *ap);

typedef struct dpsim_mos_stats {
    double srocc;       /* Spearman rank correlation (average ranks for ties) */
    double krocc;       /* Kendall tau-b */
    double plcc;        /* Pearson after the 4-parameter logistic fit */
    double logistic[4]; /* b1..b4 of q(d) = (b1 - b2) / (1 + exp(-(d - b3) / |b4|)) + b2 */
} dpsim_mos_stats;

/**
 * Correlations between distances d and mean opinion scores mos (n >= 4).
 * PLCC is Pearson's r between mos and the logistic q(d) fitted to mos by
 * least squares (Levenberg-Marquardt from b1 = max mos, b2 = min mos,
 * b3 = mean d, b4 = std d; the fit is the IQA literature's, e.g. VQEG).
 * Signs follow the data: a distance falls as quality rises, so SROCC and
 * KROCC are negative for a good metric; PLCC compares the fitted prediction
 * with the MOS and is positive when the fit follows the data.
 * @return DPSIM_OK; DPSIM_E_INVAL (n < 4, NaN, constant d or mos); DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_score_mos(dpsim_ctx *ctx, const double *d, const double *mos,
                                       size_t n, dpsim_mos_stats *out);

/**
 * Read the numbers of a NumPy .npy file (BAPPS judgments: one float per file).
 * Accepted: format 1.0/2.0/3.0, dtype '<f4', '<f8', '<f2' or '|u1', C order,
 * any shape; at most max values.
 * @param n out: how many values were read.
 * @return DPSIM_OK; DPSIM_E_IO; DPSIM_E_FORMAT (bad magic, header, dtype,
 *         Fortran order, truncated); DPSIM_E_LIMIT (more than max values).
 */
DPSIM_API dpsim_status dpsim_npy_read(dpsim_ctx *ctx, const char *path, double *values,
                                      size_t max, size_t *n);
/** Same from memory; name is used in messages only. */
DPSIM_API dpsim_status dpsim_npy_parse(dpsim_ctx *ctx, const void *data, size_t size,
                                       const char *name, double *values, size_t max, size_t *n);

/* ---- BAPPS folders ---- */

typedef enum dpsim_dataset_kind {
    DPSIM_DATASET_2AFC = 0, /* <cat>/{ref,p0,p1}/NAME.png, <cat>/judge/NAME.npy */
    DPSIM_DATASET_JND = 1   /* <cat>/{p0,p1}/NAME.png, <cat>/same/NAME.npy */
} dpsim_dataset_kind;

typedef struct dpsim_dataset dpsim_dataset;

/**
 * List a BAPPS folder. dir is a category (it holds p0/) or holds categories
 * one or two levels down (2afc/val/cnn is category "val/cnn" of 2afc/).
 * Items are sorted by category, then by file name. Every image of a triplet
 * (pair) must exist; the judgment is read now (one value in [0, 1]).
 * Image files: any name in p0/ with an extension dpsim decodes; the judgment
 * file has the same stem and .npy.
 * @return DPSIM_OK; DPSIM_E_NOT_FOUND (no category, empty folder, a missing
 *         partner file); DPSIM_E_FORMAT (a bad judgment); DPSIM_E_IO; DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_dataset_open(dpsim_ctx *ctx, dpsim_dataset_kind kind,
                                          const char *dir, dpsim_dataset **out);
DPSIM_API void dpsim_dataset_free(dpsim_dataset *ds);
DPSIM_API dpsim_dataset_kind dpsim_dataset_get_kind(const dpsim_dataset *ds);
DPSIM_API size_t dpsim_dataset_size(const dpsim_dataset *ds);
DPSIM_API int dpsim_dataset_n_categories(const dpsim_dataset *ds);
/** Category name relative to the folder given ("." when it was a category itself). */
DPSIM_API const char *dpsim_dataset_category(const dpsim_dataset *ds, int i);

typedef struct dpsim_dataset_item {
    int category;
    const char *ref;  /* 2AFC: the reference image; JND: NULL */
    const char *p0, *p1;
    double judge;     /* 2AFC: fraction preferring p1; JND: fraction judging "same" */
} dpsim_dataset_item;

/** Item i (0 <= i < size); the strings live as long as ds. */
DPSIM_API dpsim_status dpsim_dataset_item_get(const dpsim_dataset *ds, size_t i,
                                              dpsim_dataset_item *out);

/** Called after each item with (done, total); may be NULL. */
typedef void (*dpsim_progress_fn)(void *user, size_t done, size_t total);

/**
 * Distances of every item with model: 2AFC fills distances (n, 2) with
 * d(ref, p0), d(ref, p1); JND fills (n) with d(p0, p1). Each image is decoded
 * and its features extracted once (the reference is shared by p0 and p1).
 * Images of an item must have equal sizes.
 * @return DPSIM_OK or the failing step's status; the detail names the file.
 */
DPSIM_API dpsim_status dpsim_dataset_distances(dpsim_ctx *ctx, const dpsim_model *model,
                                               const dpsim_dataset *ds, double *distances,
                                               dpsim_progress_fn progress, void *user);

/**
 * Scores from the distances of dpsim_dataset_distances: 2AFC score or JND mAP
 * (in [0, 1]) per category, their mean over categories (overall) and the score
 * of all items pooled.
 * @param per_category (dpsim_dataset_n_categories) out
 */
DPSIM_API dpsim_status dpsim_dataset_score(dpsim_ctx *ctx, const dpsim_dataset *ds,
                                           const double *distances, double *per_category,
                                           double *overall, double *pooled);

/* ---- CSV tables (MOS lists, triplet lists) ---- */

typedef struct dpsim_csv dpsim_csv;

/**
 * Parse a CSV table: a header row naming the columns, then one row per line
 * (comma-separated; a field may be double-quoted, "" inside quotes is a
 * quote; blank lines and lines starting with # are skipped; CRLF accepted).
 * Each name in columns (n_columns of them) must appear in the header; other
 * columns are ignored; every row must have as many fields as the header.
 * At most 16 MiB of text and 10 million rows.
 * @return DPSIM_OK; DPSIM_E_FORMAT naming the line; DPSIM_E_IO; DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_csv_read(dpsim_ctx *ctx, const char *path, const char *const *columns,
                                      int n_columns, dpsim_csv **out);
DPSIM_API dpsim_status dpsim_csv_parse(dpsim_ctx *ctx, const void *data, size_t size,
                                       const char *name, const char *const *columns,
                                       int n_columns, dpsim_csv **out);
DPSIM_API void dpsim_csv_free(dpsim_csv *csv);
DPSIM_API size_t dpsim_csv_rows(const dpsim_csv *csv);
/** The field of row (0-based, header excluded) in requested column col; NULL if out of range. */
DPSIM_API const char *dpsim_csv_field(const dpsim_csv *csv, size_t row, int col);
/** The 1-based line number of row in the file (for messages). */
DPSIM_API size_t dpsim_csv_line(const dpsim_csv *csv, size_t row);

#ifdef __cplusplus
}
#endif

#endif /* DPSIM_EVAL_H */
