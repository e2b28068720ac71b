/*
 * cmd_adapt.c - `dpsim adapt`: adapt the per-channel weights to a context
 * given as a ranking of distortions (SPEC section 8), or to the user's own
 * triplets (--triplets FILE.csv); print and write baseline vs adapted 2AFC.
 */
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "image_list.h"
#include "train_args.h"

static const char *const usage[] = {
    "usage: dpsim adapt --images DIR --ranking K1,K2,... --out W.safetensors [options]\n"
    "       dpsim adapt --triplets FILE.csv --out W.safetensors [options]\n"
    "\n"
    "Adapt a metric's per-channel weights to a context: a ranking of distortions, most\n"
    "similar first (rotate, translate, darken, hue, blur, zoom; see dpsim distort --help;\n"
    "2 to 6 of them). The images of DIR are split by the seed: --holdout of them are\n"
    "held out. Every epoch, each training image gets two different distortions of the\n"
    "ranking, drawn afresh -> a triplet (x, x0, x1) labelled 1 if x1's distortion ranks\n"
    "earlier. Training is dpsim train's recipe (ranking head, BCE, Adam, 5 + 5 epochs,\n"
    "dropout, weights >= 0) starting from the metric's own weights, plus the sync loss\n"
    "10 * BCE(sigmoid(d(x,x0) - d(x,x1)), J) until the held-out 2AFC first exceeds 0.5.\n"
    "At the end the baseline (the metric as given) and the adapted weights are scored\n"
    "on the same fixed triplets of the held-out images and of --val-images.\n"
    "With --triplets, the CSV gives the triplets itself: columns reference, p0, p1,\n"
    "judge (judge = 1 when p1 is the more similar one, or a fraction; paths relative to\n"
    "the CSV's folder), e.g. made with your own distortion commands; every tenth one is\n"
    "held out for validation.\n"
    "\n",
    "options:\n"
    "  --images DIR       the images to adapt on (png, jpg, ... sorted by name)\n"
    "  --ranking LIST     the distortions, most similar first, e.g. blur,rotate,hue\n"
    "  --val-images DIR2  a second, different image set to score on\n"
    "  --size N           centre-crop every image to a square and resize it to N x N\n"
    "  --holdout F        fraction of DIR held out (default 0.2)\n"
    "  --draws N          triplets per held-out or second-set image (default 4)\n"
    "  --train-draws N    triplets per training image and epoch (default 1)\n"
    "  --negatives        also triplets whose x1 is a distortion of another image\n"
    "  --triplets FILE    train on the triplets of a CSV instead (see above)\n"
    "  --report FILE      the baseline/adapted table as CSV (default: --out's name\n"
    "                     with .report.csv)\n"
    TRAIN_OPTIONS_HELP
    MODEL_OPTIONS_HELP
    "  -q, --quiet        no epoch lines, no provenance\n"
    "  -h, --help         this help\n"
    "\n"
    "examples:\n"
    "  dpsim adapt --images photos/ --ranking blur,rotate,translate,darken,hue,zoom \\\n"
    "              --val-images other/ --size 64 --out adapted.safetensors\n"
    "  dpsim adapt --triplets mine.csv --out mine.safetensors\n"
    "  dpsim compare --lin adapted.safetensors a.png b.png\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n",
    NULL,
};

enum { OPT_IMAGES = OPT_TRAIN_END, OPT_RANKING, OPT_VAL_IMAGES, OPT_SIZE, OPT_HOLDOUT, OPT_DRAWS,
       OPT_TRAIN_DRAWS, OPT_NEGATIVES, OPT_TRIPLETS, OPT_REPORT };

typedef struct cmd_args {
    model_opts m;
    train_args t;
    dpsim_adapt_options a;
    const char *images, *val_images, *triplets, *report;
    char report_default[4096];
    int size, quiet;
} cmd_args;

static int parse_ranking(const char *s, dpsim_adapt_options *a)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    a->n_ranking = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (a->n_ranking == DPSIM_DISTORT_COUNT ||
            dpsim_distortion_parse(tok, &a->ranking[a->n_ranking]) != DPSIM_OK)
            return 0;
        for (int i = 0; i < a->n_ranking; i++)
            if (a->ranking[i] == a->ranking[a->n_ranking])
                return 0;
        a->n_ranking++;
    }
    return a->n_ranking >= 2;
}

/* adapt's own options (a cli_option_fn). */
static int parse_own(void *self, int c, const char *arg, const char *cmd)
{
    (void)cmd;
    cmd_args *a = self;
    char *end;
    switch (c) {
    case OPT_IMAGES: a->images = arg; return -1;
    case OPT_VAL_IMAGES: a->val_images = arg; return -1;
    case OPT_TRIPLETS: a->triplets = arg; return -1;
    case OPT_REPORT: a->report = arg; return -1;
    case OPT_NEGATIVES: a->a.negatives = 1; return -1;
    case OPT_RANKING:
        if (!parse_ranking(arg, &a->a))
            return cli_usage_error("adapt ", "--ranking '%s': expected 2 to 6 different "
                                   "distortions of rotate, translate, darken, hue, blur, zoom, "
                                   "comma-separated", arg);
        return -1;
    case OPT_SIZE:
        a->size = (int)strtol(arg, &end, 10);
        if (*end || a->size < 17 || a->size > 4096)
            return cli_usage_error("adapt ", "--size '%s': expected 17 to 4096", arg);
        return -1;
    case OPT_HOLDOUT:
        a->a.holdout = strtod(arg, &end);
        if (*end || !(a->a.holdout > 0 && a->a.holdout < 1))
            return cli_usage_error("adapt ", "--holdout '%s': expected a fraction in (0, 1)", arg);
        return -1;
    case OPT_DRAWS:
    case OPT_TRAIN_DRAWS: {
        int *n = c == OPT_DRAWS ? &a->a.eval_draws : &a->a.train_draws;
        *n = (int)strtol(arg, &end, 10);
        if (*end || *n < 1 || *n > 1000)
            return cli_usage_error("adapt ", "--%s '%s': expected 1 to 1000",
                                   c == OPT_DRAWS ? "draws" : "train-draws", arg);
        return -1;
    }
    case 'q': a->quiet = 1; return -1;
    default: return -2;
    }
}

static int parse_args(int argc, char **argv, cmd_args *a)
{
    static const struct option long_options[] = {
        MODEL_LONG_OPTIONS,
        TRAIN_LONG_OPTIONS,
        {"images", required_argument, NULL, OPT_IMAGES},
        {"ranking", required_argument, NULL, OPT_RANKING},
        {"val-images", required_argument, NULL, OPT_VAL_IMAGES},
        {"size", required_argument, NULL, OPT_SIZE},
        {"holdout", required_argument, NULL, OPT_HOLDOUT},
        {"draws", required_argument, NULL, OPT_DRAWS},
        {"train-draws", required_argument, NULL, OPT_TRAIN_DRAWS},
        {"negatives", no_argument, NULL, OPT_NEGATIVES},
        {"triplets", required_argument, NULL, OPT_TRIPLETS},
        {"report", required_argument, NULL, OPT_REPORT},
        {"quiet", no_argument, NULL, 'q'},
        CLI_HELP_OPTION_END,
    };
    static const cli_command cmd = {"adapt ", usage, "qh", long_options};
    memset(a, 0, sizeof *a);
    model_opts_init(&a->m);
    train_args_init(&a->t);
    dpsim_adapt_options_init(&a->a);
    const cli_option_group groups[] = {
        {model_opts_parse, &a->m}, {train_arg, &a->t}, {parse_own, a}, {NULL, NULL}};
    int rc = cli_parse_options(&cmd, argc, argv, groups);
    if (rc >= 0)
        return rc;
    if (argc != optind)
        return cli_usage_error("adapt ", "unexpected argument '%s'", argv[optind]);
    if (!a->triplets && (!a->images || !a->a.n_ranking))
        return cli_usage_error("adapt ", "expected --images DIR and --ranking LIST, or "
                               "--triplets FILE.csv");
    if (a->triplets && (a->images || a->a.n_ranking || a->val_images || a->a.negatives))
        return cli_usage_error("adapt ", "--triplets excludes --images, --ranking, "
                               "--val-images and --negatives");
    if (a->m.model.method == DPSIM_METHOD_DISTS)
        return cli_usage_error("adapt ", "--method dists: its alpha/beta are not per-channel "
                               "weights of a sum");
    if (a->t.init)
        return cli_usage_error("adapt ", "--init does not apply: adaptation starts from the "
                               "metric's own weights (--lin FILE to choose them)");
    rc = model_opts_check(&a->m, "adapt ");
    if (rc < 0)
        rc = train_args_finish(&a->t, "adapt ");
    if (rc >= 0)
        return rc;
    if (!a->report) {
        const char *dot = strrchr(a->t.out, '.'), *slash = strrchr(a->t.out, '/');
        int stem = dot && (!slash || dot > slash) ? (int)(dot - a->t.out) : (int)strlen(a->t.out);
        snprintf(a->report_default, sizeof a->report_default, "%.*s.report.csv", stem, a->t.out);
        a->report = a->report_default;
    }
    a->t.opt.init_from_model = 1;
    a->a.train = a->t.opt;
    return -1;
}

/* print the table and keep its CSV in csv (len bytes) */
static void report(const cmd_args *a, const dpsim_adapt_report *r, char *csv, size_t len)
{
    int n = snprintf(csv, len, "set,images,triplets,baseline_2afc,adapted_2afc\n"
                     "heldout,%zu,%zu,%.2f,%.2f\n", r->n_heldout_images,
                     r->n_heldout_images * (size_t)a->a.eval_draws, 100 * r->baseline_heldout,
                     100 * r->adapted_heldout);
    if (a->val_images)
        snprintf(csv + n, len - (size_t)n, "second,%zu,%zu,%.2f,%.2f\n",
                      r->n_second_images, r->n_second_images * (size_t)a->a.eval_draws,
                      100 * r->baseline_second, 100 * r->adapted_second);
    {
        printf("%-10s %7s %9s %9s %9s\n", "set", "images", "triplets", "baseline", "adapted");
        printf("%-10s %7zu %9zu %9.2f %9.2f\n", "held-out", r->n_heldout_images,
               r->n_heldout_images * (size_t)a->a.eval_draws, 100 * r->baseline_heldout,
               100 * r->adapted_heldout);
        if (a->val_images)
            printf("%-10s %7zu %9zu %9.2f %9.2f\n", "second", r->n_second_images,
                   r->n_second_images * (size_t)a->a.eval_draws, 100 * r->baseline_second,
                   100 * r->adapted_second);
    }
}

/* --triplets FILE: images listed once each, the triplets as indices */
static int adapt_triplets(const cmd_args *a, dpsim_ctx *ctx, const dpsim_model *model,
                          epoch_log *log, dpsim_weights **w)
{
    static const char *const cols[4] = {"reference", "p0", "p1", "judge"};
    dpsim_csv *csv;
    dpsim_status s = dpsim_csv_read(ctx, a->triplets, cols, 4, &csv);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, a->triplets);
    const size_t n = dpsim_csv_rows(csv);
    char *dup = strdup(a->triplets);
    const char *dir = dup ? dirname(dup) : ".";
    size_t *idx = malloc(3 * (n ? n : 1) * sizeof *idx);
    double *h = malloc((n ? n : 1) * sizeof *h);
    image_list imgs;
    memset(&imgs, 0, sizeof imgs);
    int rc = idx && h ? EXIT_OK : EXIT_DATA;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        const char *judge = dpsim_csv_field(csv, i, 3);
        char *end;
        h[i] = strtod(judge, &end);
        if (end == judge || *end || !(h[i] >= 0 && h[i] <= 1)) {
            cli_error("csv '%s': line %zu: judge '%s', expected a number in [0, 1]",
                      a->triplets, dpsim_csv_line(csv, i), judge);
            rc = EXIT_DATA;
        }
        for (int k = 0; k < 3 && rc == EXIT_OK; k++) {
            const char *rel = dpsim_csv_field(csv, i, k);
            char path[4096];
            snprintf(path, sizeof path, "%s%s%s", rel[0] == '/' ? "" : dir,
                     rel[0] == '/' ? "" : "/", rel);
            long found = -1;
            for (size_t j = 0; j < imgs.n && found < 0; j++)
                if (strcmp(imgs.path[j], path) == 0)
                    found = (long)j;
            if (found < 0 && (found = image_list_add(ctx, &imgs, path, a->size)) < 0)
                rc = EXIT_DATA;
            idx[3 * i + (size_t)k] = (size_t)found;
        }
    }
    if (rc == EXIT_OK && n == 0) {
        cli_error("csv '%s': no triplets", a->triplets);
        rc = EXIT_DATA;
    }
    if (rc == EXIT_OK) {
        dpsim_image_set set = image_list_set(&imgs);
        s = dpsim_train_triplets(ctx, model, &set, idx, h, n, &a->a.train, 1, epoch_log_line,
                                 log, w);
        if (s != DPSIM_OK)
            rc = cli_fail(ctx, s, a->triplets);
    }
    image_list_free(&imgs);
    free(idx);
    free(h);
    free(dup);
    dpsim_csv_free(csv);
    return rc;
}

static int adapt_ranking(const cmd_args *a, dpsim_ctx *ctx, const dpsim_model *model,
                         epoch_log *log, dpsim_weights **w, char *csv, size_t len)
{
    image_list imgs, second;
    memset(&second, 0, sizeof second);
    int rc = image_list_load_dir(ctx, a->images, a->size, &imgs);
    if (rc != EXIT_OK)
        return rc;
    if (a->val_images && (rc = image_list_load_dir(ctx, a->val_images, a->size, &second))) {
        image_list_free(&imgs);
        return rc;
    }
    dpsim_image_set set = image_list_set(&imgs), set2 = image_list_set(&second);
    dpsim_adapt_report r;
    dpsim_status s = dpsim_adapt(ctx, model, &set, a->val_images ? &set2 : NULL, &a->a,
                                 epoch_log_line, log, w, &r);
    if (s != DPSIM_OK)
        rc = cli_fail(ctx, s, a->images);
    else
        report(a, &r, csv, len);
    image_list_free(&imgs);
    image_list_free(&second);
    return rc;
}

/* Adapt and write the weights, the log and the report (a model_opts_run_model callback). */
static int run_adapt(dpsim_ctx *ctx, const dpsim_model *model, const void *arg)
{
    const cmd_args *a = arg;
    int rc = EXIT_OK;
    epoch_log log;
    memset(&log, 0, sizeof log);
    log.quiet = a->quiet;
    dpsim_weights *w = NULL;
    char csv[2048] = "";
    rc = a->triplets ? adapt_triplets(a, ctx, model, &log, &w)
                    : adapt_ranking(a, ctx, model, &log, &w, csv, sizeof csv);
    if (rc == EXIT_OK) {
        char summary[1024], ranking[128] = "";
        for (int i = 0; i < a->a.n_ranking; i++)
            snprintf(ranking + strlen(ranking), sizeof ranking - strlen(ranking), "%s%s",
                     i ? "," : "", dpsim_distortion_name(a->a.ranking[i]));
        snprintf(summary, sizeof summary, "dpsim adapt %s %s, seed %llu, epochs %d+%d, "
                 "batch %d, lr %g, dropout %g%s", a->triplets ? "--triplets" : a->images,
                 a->triplets ? a->triplets : ranking, (unsigned long long)a->t.opt.seed,
                 a->t.opt.epochs, a->t.opt.decay_epochs, a->t.opt.batch, a->t.opt.lr,
                 a->t.opt.dropout, a->a.negatives ? ", negatives" : "");
        dpsim_status s = dpsim_weights_save(ctx, model, w, a->t.out, summary);
        rc = s == DPSIM_OK ? epoch_log_write(ctx, &log, a->t.log) : cli_fail(ctx, s, a->t.out);
    }
    if (rc == EXIT_OK && !a->triplets) {
        dpsim_status s = dpsim_file_write_atomic(ctx, a->report, csv, strlen(csv));
        if (s != DPSIM_OK)
            rc = cli_fail(ctx, s, a->report);
    }
    if (rc == EXIT_OK && !a->quiet)
        fprintf(stderr, "dpsim: wrote %s, %s%s%s\n", a->t.out, a->t.log,
                a->triplets ? "" : " and ", a->triplets ? "" : a->report);
    epoch_log_free(&log);
    dpsim_weights_free(w);
    return rc;
}

int cmd_adapt(int argc, char **argv)
{
    cmd_args a;
    int rc = parse_args(argc, argv, &a);
    return rc >= 0 ? rc : model_opts_run_model(&a.m, a.quiet, run_adapt, &a);
}
