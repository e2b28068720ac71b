/*
 * model_args.h - the model options shared by eval, train and adapt:
 * --net, --method, --version, --no-lin, --lin, --trunk, --taps, --norm,
 * --no-norm, --pixel-layer, --threads. Each command appends MODEL_LONG_OPTIONS
 * to its getopt table and passes unknown option codes to model_arg().
 */
#ifndef DPSIM_MODEL_ARGS_H
#define DPSIM_MODEL_ARGS_H

#include <getopt.h>

#include "cli.h"

enum { MOPT_NET = 512, MOPT_METHOD, MOPT_VERSION, MOPT_NO_LIN, MOPT_LIN, MOPT_TRUNK, MOPT_TAPS,
       MOPT_NORM, MOPT_NO_NORM, MOPT_PIXEL, MOPT_THREADS };

#define MODEL_LONG_OPTIONS                                                                     \
    {"net", required_argument, NULL, MOPT_NET}, {"method", required_argument, NULL, MOPT_METHOD}, \
    {"version", required_argument, NULL, MOPT_VERSION},                                        \
    {"no-lin", no_argument, NULL, MOPT_NO_LIN}, {"lin", required_argument, NULL, MOPT_LIN},    \
    {"trunk", required_argument, NULL, MOPT_TRUNK},                                            \
    {"taps", required_argument, NULL, MOPT_TAPS}, {"norm", no_argument, NULL, MOPT_NORM},      \
    {"no-norm", no_argument, NULL, MOPT_NO_NORM},                                              \
    {"pixel-layer", no_argument, NULL, MOPT_PIXEL},                                            \
    {"threads", required_argument, NULL, MOPT_THREADS}

#define MODEL_OPTIONS_HELP                                                                     \
    "  --net NAME         squeeze (default), alex, vgg\n"                                      \
    "  --method M         spatial (default), mean, sort, spatial+mean, spatial+sort, gram,\n"  \
    "                     dists (eval only; implies --net vgg)\n"                              \
    "  --version V        LPIPS preprocessing 0.1 (default) or 0.0\n"                          \
    "  --no-lin           every channel weight 1 (unweighted baseline)\n"                      \
    "  --lin FILE         per-channel weights (LPIPS lin file or a dpsim weights file)\n"      \
    "  --trunk FILE       network weights for this run\n"                                      \
    "  --taps LIST        `features` indices, e.g. 3,8,15 (default: the LPIPS taps)\n"         \
    "  --norm, --no-norm  force channel normalisation on / off\n"                              \
    "  --pixel-layer      add the preprocessed input as a first tap\n"                         \
    "  --threads N        worker threads for feature extraction (results do not change)\n"

typedef struct model_args {
    dpsim_model_options model;
    dpsim_config config;
    int norm_flag; /* 0 none, 1 --norm, 2 --no-norm */
} model_args;

/** Defaults: SqueezeNet, LPIPS v0.1, lin weights, one thread. */
void model_args_init(model_args *a);
/**
 * Handle one getopt code. @return -1 if handled, 0 if opt is not a model
 * option, or an exit code (usage error) for a bad value.
 */
int model_arg(model_args *a, int opt, const char *arg, const char *cmd);
/** Checks after parsing (dists, --lin with --no-lin). @return -1 to go on or an exit code. */
int model_args_finish(model_args *a, const char *cmd);
/** Create the context and load the model; prints the error. @return EXIT_OK or EXIT_DATA. */
int model_args_load(const model_args *a, dpsim_ctx **ctx, dpsim_model **model);
/** Print the provenance line on stderr. */
void print_provenance(const dpsim_model *model);

#endif
