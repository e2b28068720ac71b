/*
 * batch_opts.h - options shared by the batch commands (compare's batch
 * forms, search, features, index): output file and format, worker threads,
 * keep going, the fixed-size policy, verbosity. Same pattern as model_opts.h.
 */
#ifndef DPSIM_BATCH_OPTS_H
#define DPSIM_BATCH_OPTS_H

#include "batch.h"
#include "batch_output.h"
#include "model_opts.h"

typedef struct batch_opts {
    int jobs;             /* --jobs N (default 1) */
    int keep_going;
    int size_w, size_h;   /* --size WxH, 0 = images at their own size */
    out_format format;    /* --format, --json, --csv */
    int format_given;
    const char *out_path; /* -o FILE; NULL = stdout */
    int verbose, quiet;
} batch_opts;

enum { OPT_JSON = OPT_MODEL_END, OPT_CSV, OPT_FORMAT, OPT_KEEP_GOING, OPT_SIZE, OPT_BATCH_END };

#define BATCH_SHORT_OPTIONS "j:o:vqh"
#define BATCH_LONG_OPTIONS                                                                     \
    {"jobs", required_argument, NULL, 'j'},                                                    \
    {"output", required_argument, NULL, 'o'},                                                  \
    {"format", required_argument, NULL, OPT_FORMAT},                                           \
    {"json", no_argument, NULL, OPT_JSON},                                                     \
    {"csv", no_argument, NULL, OPT_CSV},                                                       \
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},                                         \
    {"size", required_argument, NULL, OPT_SIZE},                                               \
    {"verbose", no_argument, NULL, 'v'},                                                       \
    {"quiet", no_argument, NULL, 'q'}

#define BATCH_OPTIONS_HELP                                                                     \
    "  --format F         text (default), csv or json; --csv and --json are short forms\n"     \
    "  -o, --output FILE  write the results to FILE (written under a temporary name and\n"     \
    "                     renamed when complete: never a partial file); default stdout\n"      \
    "  -j, --jobs N       worker threads (default 1); results are identical for any N\n"       \
    "  --keep-going       skip unreadable images (reported with their path) and go on;\n"      \
    "                     the exit status is still 1\n"                                        \
    "  --size WxH         resize every image to WxH (bilinear, antialiased) before\n"          \
    "                     extraction, so images of any size can be compared; N = NxN\n"        \
    "  -v, --verbose      say how many feature extractions were made, and the weights\n"       \
    "  -q, --quiet        no provenance line, no progress bar\n"

void batch_opts_init(batch_opts *bo);
/**
 * Handle c if it is a batch option (a cli_option_fn; self is a batch_opts):
 * -2 if not, -1 if handled, or an exit code.
 */
int batch_opts_parse(void *self, int c, const char *arg, const char *cmd);
/** Copy the settings into a batch: mo's --threads shared among the jobs. */
void batch_opts_apply(const batch_opts *bo, const model_opts *mo, batch *b);

/**
 * The model's provenance into prov (len bytes) when the output shows it (not
 * quiet, or JSON), else "": it waits for the weights' digest.
 */
void batch_opts_provenance(const batch_opts *bo, const dpsim_model *model, char *prov,
                           size_t len);

/** Renders a run's results into fp; returns EXIT_OK or an exit code (reported). */
typedef int (*batch_render)(FILE *fp, const batch *b, const char *prov, const void *arg);

/**
 * The end of a batch run: render the results in memory, print the
 * provenance on stderr (unless quiet) and the extraction count (verbose),
 * then write the results to stdout or, atomically, to -o.
 */
int batch_emit(dpsim_ctx *ctx, const batch_opts *bo, const batch *b, batch_render render,
               const void *arg);

#endif
