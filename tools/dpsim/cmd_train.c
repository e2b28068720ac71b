/*
 * cmd_train.c - `dpsim train DIR --out W.safetensors`: learn the per-channel
 * weights of a method on BAPPS 2AFC triplets (SPEC section 7), print and
 * log 2AFC per epoch, write a weights file that --lin loads.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "progress.h"
#include "train_args.h"

static const char *const usage[] = {
    "usage: dpsim train [options] DIR --out W.safetensors\n"
    "\n"
    "Learn the per-channel weights (LPIPS \"lin\") of a comparison method on the BAPPS\n"
    "2AFC triplets in DIR (layout as in dpsim eval --help), with the LPIPS recipe: the\n"
    "network frozen, each triplet's differences computed once and cached, dropout 0.5\n"
    "on them, the ranking head (1x1 convs 5-32-32-1 on d0, d1, d0-d1, d0/(d1+0.1),\n"
    "d1/(d0+0.1), LeakyReLU 0.2, sigmoid), BCE against the judges' fraction, Adam\n"
    "(lr 1e-4, betas 0.5, 0.999), batches of 50, 5 epochs then 5 with the rate\n"
    "falling linearly, weights clamped to >= 0 after every step. Every method but\n"
    "dists is trainable: one weight vector per term and tap. Weights start at 1/C\n"
    "(or from --init). Each epoch prints the loss and the 2AFC (x100) of the training\n"
    "and validation triplets without dropout; the same goes to the --log CSV.\n"
    "The run is the same bit for bit for a seed.\n"
    "\n"
    "options:\n"
    TRAIN_OPTIONS_HELP
    "  --val DIR          validation triplets (default: 10% of DIR held out by the seed)\n"
    "  --init FILE        start from these weights (a dpsim or LPIPS lin file)\n"
    "  --cache-gib X      memory for the cached differences (default 16); past it, each\n"
    "                     batch is recomputed from the images every epoch (same result)\n"
    "  --net, --method, --version, --taps, --norm, --no-norm, --pixel-layer, --trunk,\n"
    "  --threads          as in dpsim eval --help\n"
    "  -q, --quiet        no progress, no epoch lines, no provenance\n"
    "  -h, --help         this help\n"
    "\n"
    "examples:\n"
    "  dpsim train dataset/2afc/train --val dataset/2afc/val --out squeeze-lin.safetensors\n"
    "  dpsim train --method spatial+mean --seed 3 --out w.safetensors dataset/2afc/train\n"
    "  dpsim eval 2afc --lin squeeze-lin.safetensors dataset/2afc/val\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n",
    NULL,
};

enum { OPT_VAL = OPT_TRAIN_END, OPT_CACHE };

typedef struct cmd_args {
    model_opts m;
    train_args t;
    const char *dir, *val;
    int quiet;
} cmd_args;

/* train's own options (a cli_option_fn). */
static int parse_own(void *self, int c, const char *arg, const char *cmd)
{
    cmd_args *a = self;
    char *end;
    switch (c) {
    case OPT_VAL: a->val = arg; return -1;
    case OPT_CACHE:
        a->t.opt.max_cache_gib = strtod(arg, &end);
        if (*end || !(a->t.opt.max_cache_gib > 0))
            return cli_usage_error(cmd, "--cache-gib '%s': expected a number > 0", arg);
        return -1;
    case 'q': a->quiet = 1; return -1;
    default: return -2;
    }
}

static int parse_args(int argc, char **argv, cmd_args *a)
{
    static const struct option long_options[] = {
        MODEL_LONG_OPTIONS,
        TRAIN_LONG_OPTIONS,
        {"val", required_argument, NULL, OPT_VAL},
        {"cache-gib", required_argument, NULL, OPT_CACHE},
        {"quiet", no_argument, NULL, 'q'},
        CLI_HELP_OPTION_END,
    };
    static const cli_command cmd = {"train ", usage, "qh", long_options};
    memset(a, 0, sizeof *a);
    model_opts_init(&a->m);
    train_args_init(&a->t);
    const cli_option_group groups[] = {
        {model_opts_parse, &a->m}, {train_arg, &a->t}, {parse_own, a}, {NULL, NULL}};
    int rc = cli_parse_options(&cmd, argc, argv, groups);
    if (rc >= 0)
        return rc;
    if (argc - optind != 1)
        return cli_usage_error("train ", "expected one dataset folder, got %d arguments",
                               argc - optind);
    a->dir = argv[optind];
    if (a->m.model.lin_path || !a->m.model.use_lin)
        return cli_usage_error("train ", "--lin/--no-lin do not apply: training starts from 1/C "
                               "per channel, or from --init FILE");
    if (a->m.model.method == DPSIM_METHOD_DISTS)
        return cli_usage_error("train ", "--method dists: its alpha/beta are not per-channel "
                               "weights of a sum; train spatial, mean, sort, spatial+mean, "
                               "spatial+sort or gram");
    rc = model_opts_check(&a->m, "train ");
    if (rc < 0)
        rc = train_args_finish(&a->t, "train ");
    if (rc >= 0)
        return rc;
    a->m.model.use_lin = a->t.init != NULL;
    a->m.model.lin_path = a->t.init;
    a->t.opt.init_from_model = a->t.init != NULL;
    return -1;
}

static void on_progress(void *user, size_t done, size_t total)
{
    (void)total;
    progress *p = user;
    progress_add(p, (long)done - p->done);
    if (done == total)
        progress_end(p);
}

typedef struct run_state {
    progress bar;
    epoch_log log;
} run_state;

static void on_epoch(void *user, const dpsim_train_epoch *e)
{
    run_state *st = user;
    progress_end(&st->bar);
    epoch_log_line(&st->log, e);
}

/* Train and write the weights and the log (a model_opts_run_model callback). */
static int run_train(dpsim_ctx *ctx, const dpsim_model *model, const void *arg)
{
    const cmd_args *a = arg;
    int rc = EXIT_OK;
    dpsim_dataset *train = NULL, *val = NULL;
    dpsim_status s = dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, a->dir, &train);
    if (s != DPSIM_OK)
        rc = cli_fail(ctx, s, a->dir);
    if (rc == EXIT_OK && a->val &&
        (s = dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, a->val, &val)))
        rc = cli_fail(ctx, s, a->val);
    run_state st;
    memset(&st, 0, sizeof st);
    st.log.quiet = a->quiet;
    dpsim_weights *w = NULL;
    if (rc == EXIT_OK) {
        size_t n = dpsim_dataset_size(train) + (val ? dpsim_dataset_size(val) : 0);
        progress_start(&st.bar, "triplets", (long)n, a->quiet);
        s = dpsim_train_2afc(ctx, model, train, val, &a->t.opt, on_epoch, on_progress, &st, &w);
        progress_end(&st.bar);
        if (s != DPSIM_OK)
            rc = cli_fail(ctx, s, a->dir);
    }
    if (rc == EXIT_OK) {
        char summary[1024];
        snprintf(summary, sizeof summary, "dpsim train %s (%zu triplets)%s%s, seed %llu, "
                 "epochs %d+%d, batch %d, lr %g, dropout %g%s%s", a->dir,
                 dpsim_dataset_size(train), val ? ", val " : "", val ? a->val : "",
                 (unsigned long long)a->t.opt.seed, a->t.opt.epochs, a->t.opt.decay_epochs,
                 a->t.opt.batch, a->t.opt.lr, a->t.opt.dropout, a->t.init ? ", init " : "",
                 a->t.init ? a->t.init : "");
        s = dpsim_weights_save(ctx, model, w, a->t.out, summary);
        rc = s == DPSIM_OK ? epoch_log_write(ctx, &st.log, a->t.log)
                           : cli_fail(ctx, s, a->t.out);
    }
    if (rc == EXIT_OK && !a->quiet)
        fprintf(stderr, "dpsim: wrote %s and %s\n", a->t.out, a->t.log);
    epoch_log_free(&st.log);
    dpsim_weights_free(w);
    dpsim_dataset_free(train);
    dpsim_dataset_free(val);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    cmd_args a;
    int rc = parse_args(argc, argv, &a);
    return rc >= 0 ? rc : model_opts_run_model(&a.m, a.quiet, run_train, &a);
}
