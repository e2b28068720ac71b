/*
 * model_opts.h - the model options every command that extracts features
 * shares (--net, --method, --norm/--no-norm, --pixel-layer, --version,
 * --no-lin, --taps, --trunk, --lin, --threads, --precision): their getopt
 * table entries, parsing, the method's consistency rules, help text, and
 * creating the context and loading the model they describe.
 */
#ifndef DPSIM_MODEL_OPTS_H
#define DPSIM_MODEL_OPTS_H

#include <getopt.h>

#include <dpsim/dpsim.h>

typedef struct model_opts {
    dpsim_model_options model;
    dpsim_config config; /* --threads (default: the online CPUs) */
    int net_given, version_given;
    int norm_flag; /* 0 none, 1 --norm, 2 --no-norm */
} model_opts;

/* getopt values of the model options; a command's own options start at OPT_MODEL_END. */
enum { OPT_NET = 256, OPT_VERSION, OPT_NO_LIN, OPT_TAPS, OPT_TRUNK, OPT_LIN, OPT_METHOD,
       OPT_NORM, OPT_NO_NORM, OPT_PIXEL, OPT_THREADS, OPT_PRECISION, OPT_MODEL_END };

/* Entries for a struct option table. */
#define MODEL_LONG_OPTIONS                                                                     \
    {"net", required_argument, NULL, OPT_NET},                                                 \
    {"version", required_argument, NULL, OPT_VERSION},                                         \
    {"no-lin", no_argument, NULL, OPT_NO_LIN},                                                 \
    {"taps", required_argument, NULL, OPT_TAPS},                                               \
    {"trunk", required_argument, NULL, OPT_TRUNK},                                             \
    {"lin", required_argument, NULL, OPT_LIN},                                                 \
    {"method", required_argument, NULL, OPT_METHOD},                                           \
    {"norm", no_argument, NULL, OPT_NORM},                                                     \
    {"no-norm", no_argument, NULL, OPT_NO_NORM},                                               \
    {"pixel-layer", no_argument, NULL, OPT_PIXEL},                                             \
    {"threads", required_argument, NULL, OPT_THREADS},                                         \
    {"precision", required_argument, NULL, OPT_PRECISION}

/* Help lines for the model options (two-space indent, 80 columns). */
#define MODEL_OPTIONS_HELP                                                                     \
    "  --net NAME         squeeze (default; SqueezeNet 1.1), alex (AlexNet), vgg (VGG-16)\n"   \
    "  --method M         spatial (default; LPIPS), mean, sort, spatial+mean, spatial+sort,\n" \
    "                     gram, dists (VGG-16 with L2 pooling; implies --net vgg)\n"           \
    "  --no-norm          no unit normalisation along channels (spatial, mean, sort)\n"        \
    "  --norm             force it on (gram is unnormalised by default)\n"                     \
    "  --pixel-layer      add the preprocessed input as an extra first tap `pixel`\n"          \
    "  --version V        LPIPS version 0.1 (default) or 0.0 (not for dists)\n"                \
    "  --no-lin           unweighted baseline: every channel weight is 1\n"                    \
    "  --taps LIST        `features` indices to compare, e.g. 3,8,15 (default: LPIPS taps)\n"  \
    "  --trunk FILE       network weights (PyTorch .pth or .safetensors) for this run\n"       \
    "  --lin FILE         per-channel weights: an LPIPS lin file (spatial term), DISTS\n"      \
    "                     weights.pt (dists), or a dpsim weights file (doc/WEIGHTS.md)\n"   \
    "  --threads N        threads for each extraction (default: all CPUs; with --jobs J,\n"   \
    "                     N / J each); results are the same bits for any N\n"                 \
    "  --precision P      fp32 (default) or opt-in bf16 (AVX512-BF16 CPUs only)\n"

void model_opts_init(model_opts *mo);

/**
 * Handle getopt's c if it is a model option (a cli_option_fn; self is a model_opts).
 * @param cmd the command name with a trailing space ("compare ") for messages
 * @return -2 if c is not a model option, -1 if it was handled, or an exit code.
 */
int model_opts_parse(void *self, int c, const char *arg, const char *cmd);

/**
 * After parsing: the rules between options (--lin with --no-lin, what dists
 * allows; dists implies vgg). @return -1 to go on, or an exit code.
 */
int model_opts_check(model_opts *mo, const char *cmd);

/** 1 if the method has a spatial term (and so a distance map). */
int method_has_spatial(dpsim_method m);

/** Load the model, report a failure; with verbose, name the weights files. */
int model_opts_load(dpsim_ctx *ctx, const model_opts *mo, int verbose, dpsim_model **out);

/**
 * Run run(ctx, arg) in a context made with the options' settings (--threads),
 * then free it. @return run's exit code, or EXIT_DATA (reported) without a context.
 */
int model_opts_run(const model_opts *mo, int (*run)(dpsim_ctx *ctx, const void *arg),
                   const void *arg);

/**
 * Like model_opts_run with the model loaded too: unless quiet, its provenance
 * line is printed on stderr before run(ctx, model, arg); both freed after.
 * @return run's exit code, or EXIT_DATA (reported) when no model.
 */
int model_opts_run_model(const model_opts *mo, int quiet,
                         int (*run)(dpsim_ctx *ctx, const dpsim_model *model, const void *arg),
                         const void *arg);

#endif
