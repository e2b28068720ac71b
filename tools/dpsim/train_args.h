/*
 * train_args.h - the training options shared by `dpsim train` and
 * `dpsim adapt` (--seed, --epochs, --decay-epochs, --batch, --lr, --dropout,
 * --init, --log, --out) and the per-epoch log they print and write as CSV.
 */
#ifndef DPSIM_TRAIN_ARGS_H
#define DPSIM_TRAIN_ARGS_H

#include "model_opts.h"

/* getopt values of the training options; a command's own options start at OPT_TRAIN_END. */
enum { TOPT_SEED = OPT_MODEL_END, TOPT_EPOCHS, TOPT_DECAY, TOPT_BATCH, TOPT_LR, TOPT_DROPOUT,
       TOPT_INIT, TOPT_LOG, TOPT_OUT, OPT_TRAIN_END };

#define TRAIN_LONG_OPTIONS                                                                     \
    {"seed", required_argument, NULL, TOPT_SEED},                                              \
    {"epochs", required_argument, NULL, TOPT_EPOCHS},                                          \
    {"decay-epochs", required_argument, NULL, TOPT_DECAY},                                     \
    {"batch", required_argument, NULL, TOPT_BATCH}, {"lr", required_argument, NULL, TOPT_LR},  \
    {"dropout", required_argument, NULL, TOPT_DROPOUT},                                        \
    {"init", required_argument, NULL, TOPT_INIT}, {"log", required_argument, NULL, TOPT_LOG},  \
    {"out", required_argument, NULL, TOPT_OUT}

#define TRAIN_OPTIONS_HELP                                                                     \
    "  --out FILE         where to write the weights (.safetensors; required)\n"               \
    "  --log FILE         per-epoch CSV (default: FILE of --out with .csv)\n"                 \
    "  --seed N           seed of every random choice (default 0)\n"                           \
    "  --epochs N         epochs at the full rate (default 5)\n"                               \
    "  --decay-epochs N   then epochs with the rate falling linearly (default 5)\n"            \
    "  --batch N          triplets per Adam step (default 50)\n"                               \
    "  --lr X             learning rate (default 1e-4; Adam betas 0.5, 0.999)\n"               \
    "  --dropout P        dropout on the differences (default 0.5; 0 = none)\n"

typedef struct train_args {
    dpsim_train_options opt;
    const char *init, *log, *out;
    char log_default[4096];
} train_args;

void train_args_init(train_args *a);
/** A cli_option_fn (self is a train_args): -2 not a training option, -1 handled, or exit code. */
int train_arg(void *self, int opt, const char *arg, const char *cmd);
/** After parsing: --out required; --log defaults to --out's name with .csv. */
int train_args_finish(train_args *a, const char *cmd);

/** Collects the epoch lines: prints each on stdout, keeps the CSV text. */
typedef struct epoch_log {
    char *csv;
    size_t len, cap;
    int quiet;
} epoch_log;

void epoch_log_line(void *user, const dpsim_train_epoch *e);
/** Write the CSV atomically; returns EXIT_OK or EXIT_DATA (message printed). */
int epoch_log_write(dpsim_ctx *ctx, epoch_log *log, const char *path);
void epoch_log_free(epoch_log *log);

#endif
