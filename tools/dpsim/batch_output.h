/*
 * batch_output.h - batch results as text (for people), CSV or JSON (for
 * pipelines): one row per scored pair or an all-pairs matrix, and summary
 * statistics over the scored pairs. Output is built in memory and written
 * to stdout or, atomically, to a file, so a failed run leaves no partial file.
 */
#ifndef DPSIM_BATCH_OUTPUT_H
#define DPSIM_BATCH_OUTPUT_H

#include <stdio.h>

#include "batch.h"

typedef enum out_format { FORMAT_TEXT, FORMAT_CSV, FORMAT_JSON } out_format;

/** Parse "text", "csv", "json"; returns 0 if unknown. */
int out_format_parse(const char *s, out_format *out);

/** Summary of the scored pairs' distances (libvmaf-style pooling). */
typedef struct summary {
    size_t count;
    double mean, std, min, max;
    double harmonic_mean; /* n / sum(1 / (1 + d)) - 1, libvmaf's form: defined for d = 0 */
} summary;

void summary_compute(const batch *b, summary *s);

/** What the JSON header says about the run. */
typedef struct run_info {
    const char *mode;       /* "pairs", "ref", "all-pairs", "manifest", "search" */
    const char *provenance;
    size_t unmatched;       /* names without a partner (pairing by name) */
} run_info;

/** One row per pair in pair order, then the summary (text: "# " lines; JSON: an object). */
void output_pairs(FILE *fp, const batch *b, out_format f, const run_info *info);
/**
 * The symmetric matrix over all items (all-pairs runs): the diagonal is 0 by
 * definition (not computed), a failed pair is empty (CSV), "-" (text) or null.
 * @return EXIT_OK or EXIT_DATA (out of memory, reported).
 */
int output_matrix(FILE *fp, const batch *b, out_format f, const run_info *info);

/** s as a CSV field (quoted when it holds a comma, quote or line break). */
void csv_string(FILE *fp, const char *s);
/** Name of tap i: "features.N" or "pixel". */
void tap_name(const dpsim_model *model, int i, char *out, size_t len);

/**
 * Write the len bytes of buf to stdout (path NULL or "-") or atomically to
 * path. @return EXIT_OK or EXIT_DATA (reported).
 */
int output_commit(dpsim_ctx *ctx, const char *path, const char *buf, size_t len);

#endif
