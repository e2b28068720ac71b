/*
 * cmd_optimize.c - `dpsim optimize --target T.png --out O.png`: start from
 * noise, gray or an image and run Adam on the pixels (clamped to [0,1]
 * after every step) to minimise the perceptual distance to T (or, with
 * --mse, the mean squared pixel error: the baseline). Writes the image, a
 * CSV of distance and MSE per step, and optionally the loss curve as PNG.
 * The target's features are extracted once (dpsim_gradient_to).
 */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "model_opts.h"
#include "progress.h"

static const char *const usage[] = {
    "usage: dpsim optimize --target T.png --out O.png [options]\n"
    "\n"
    "Reconstruct image T by gradient descent on the pixels of a starting image:\n"
    "Adam (beta1 0.9, beta2 0.999, eps 1e-8) minimises the perceptual distance to T,\n"
    "pixels are clamped to [0,1] after every step. The gradient is exact (dpsim's\n"
    "deep perceptual loss, any net and method).\n"
    "\n"
    "options:\n"
    "  --target FILE      the image to reconstruct (required)\n"
    "  --out FILE.png     the result, written as 8-bit PNG (required)\n"
    "  --init I           noise (default: uniform, see --seed), gray (0.5 everywhere),\n"
    "                     or an image FILE of the target's size\n"
    "  --steps N          Adam steps (default 200)\n"
    "  --lr X             Adam learning rate in pixel units (default 0.01)\n"
    "  --seed N           seed of the noise start (default 1)\n"
    "  --mse              minimise the mean squared pixel error instead (the baseline\n"
    "                     to compare with; the CSV still records the distance)\n"
    "  --csv FILE         loss per step (default: O.png with .csv): step,distance,mse;\n"
    "                     row k is the image after k steps\n"
    "  --plot FILE.png    draw the loss curve (log scale) as a PNG\n"
    "  --net, --method, --no-norm, --norm, --pixel-layer, --version, --no-lin,\n"
    "  --taps, --trunk, --lin\n"
    "                     choose the metric exactly as in dpsim compare\n"
    "  -q, --quiet        no progress bar and no provenance line\n"
    "  -h, --help         this help\n"
    "\n"
    "output: the final distance and MSE on stdout (`distance D mse M`); the\n"
    "provenance line on stderr.\n"
    "\n"
    "examples:\n"
    "  dpsim optimize --target photo.png --out recon.png --plot loss.png\n"
    "  dpsim optimize --target photo.png --init gray --steps 500 --lr 0.005 --out o.png\n"
    "  dpsim optimize --target photo.png --method sort --net vgg --out o.png\n"
    "  dpsim optimize --target photo.png --mse --out baseline.png\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n",
    NULL,
};

typedef struct optimize_args {
    model_opts mo;
    const char *target, *out, *init, *csv, *plot;
    int steps, quiet, mse;
    double lr;
    unsigned long long seed;
    char csv_default[4096];
} optimize_args;

enum { OPT_TARGET = OPT_MODEL_END, OPT_OUT, OPT_INIT, OPT_STEPS, OPT_LR, OPT_SEED, OPT_MSE,
       OPT_CSV, OPT_PLOT };

static const struct option long_options[] = {
    {"target", required_argument, NULL, OPT_TARGET}, {"out", required_argument, NULL, OPT_OUT},
    {"init", required_argument, NULL, OPT_INIT},     {"steps", required_argument, NULL, OPT_STEPS},
    {"lr", required_argument, NULL, OPT_LR},         {"seed", required_argument, NULL, OPT_SEED},
    {"mse", no_argument, NULL, OPT_MSE},             {"csv", required_argument, NULL, OPT_CSV},
    {"plot", required_argument, NULL, OPT_PLOT},     MODEL_LONG_OPTIONS,
    {"quiet", no_argument, NULL, 'q'},               CLI_HELP_OPTION_END,
};

static int parse_number(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return cli_usage_error("optimize ", "%s '%s': expected a number from %g to %g", opt, s,
                               lo, hi);
    *out = v;
    return -1;
}

/* optimize's own options (a cli_option_fn). */
static int parse_own(void *self, int c, const char *arg, const char *cmd)
{
    optimize_args *a = self;
    double v = 0.0;
    int rc;
    switch (c) {
    case OPT_TARGET: a->target = arg; return -1;
    case OPT_OUT: a->out = arg; return -1;
    case OPT_INIT: a->init = arg; return -1;
    case OPT_CSV: a->csv = arg; return -1;
    case OPT_PLOT: a->plot = arg; return -1;
    case OPT_MSE: a->mse = 1; return -1;
    case OPT_STEPS:
        if ((rc = parse_number("--steps", arg, 0, 1000000, &v)) >= 0)
            return rc;
        if (v != floor(v))
            return cli_usage_error(cmd, "--steps '%s': expected a whole number", arg);
        a->steps = (int)v;
        return -1;
    case OPT_LR: return parse_number("--lr", arg, 1e-9, 10.0, &a->lr);
    case OPT_SEED:
        if ((rc = parse_number("--seed", arg, 0, 1e15, &v)) < 0)
            a->seed = (unsigned long long)v;
        return rc;
    case 'q': a->quiet = 1; return -1;
    default: return -2;
    }
}

static int parse_args(int argc, char **argv, optimize_args *a)
{
    static const cli_command cmd = {"optimize ", usage, "qh", long_options};
    memset(a, 0, sizeof *a);
    model_opts_init(&a->mo);
    a->init = "noise";
    a->steps = 200;
    a->lr = 0.01;
    a->seed = 1;
    const cli_option_group groups[] = {{model_opts_parse, &a->mo}, {parse_own, a}, {NULL, NULL}};
    int rc = cli_parse_options(&cmd, argc, argv, groups);
    if (rc >= 0)
        return rc;
    if (optind < argc)
        return cli_usage_error("optimize ", "unexpected argument '%s' (images are given with "
                               "--target and --init)", argv[optind]);
    if (!a->target || !a->out)
        return cli_usage_error("optimize ", "--target FILE and --out FILE.png are required");
    /* optimize names every option dists excludes in one message */
    const model_opts *mo = &a->mo;
    if (mo->model.method == DPSIM_METHOD_DISTS && (mo->model.use_lin || !mo->model.lin_path) &&
        (mo->norm_flag || mo->model.pixel_layer || mo->model.n_taps || mo->version_given ||
         (mo->net_given && mo->model.net != DPSIM_NET_VGG16)))
        return cli_usage_error("optimize ", "--method dists: VGG-16 with its own taps, "
                               "preprocessing and no normalisation; --norm, --no-norm, "
                               "--pixel-layer, --taps, --version and other nets do not apply");
    if ((rc = model_opts_check(&a->mo, "optimize ")) >= 0)
        return rc;
    if (!a->csv) {
        size_t len = strlen(a->out);
        const char *dot = strrchr(a->out, '.'), *slash = strrchr(a->out, '/');
        if (dot && (!slash || dot > slash))
            len = (size_t)(dot - a->out);
        snprintf(a->csv_default, sizeof a->csv_default, "%.*s.csv", (int)len, a->out);
        a->csv = a->csv_default;
    }
    return -1;
}

static uint64_t splitmix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The starting image x (3, h, w); returns EXIT_OK or an exit code. */
static int make_start(dpsim_ctx *ctx, const optimize_args *a, const dpsim_image *target,
                      float *x)
{
    const size_t n = (size_t)3 * target->width * target->height;
    if (strcmp(a->init, "noise") == 0) {
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((double)(splitmix64((a->seed << 40) ^ i) >> 40) / 16777216.0);
        return EXIT_OK;
    }
    if (strcmp(a->init, "gray") == 0) {
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f;
        return EXIT_OK;
    }
    dpsim_image *im = NULL;
    dpsim_status s = dpsim_image_read(ctx, a->init, &im);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, "init");
    int rc = EXIT_OK;
    if (im->width != target->width || im->height != target->height) {
        cli_error("--init '%s' is %dx%d, the target '%s' is %dx%d; expected equal sizes",
                  a->init, im->width, im->height, a->target, target->width, target->height);
        rc = EXIT_DATA;
    } else {
        memcpy(x, im->pixels, n * sizeof(float));
    }
    dpsim_image_free(im);
    return rc;
}

static double mse(const float *x, const float *t, size_t n, float *grad)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - t[i];
        s += d * d;
        if (grad)
            grad[i] = (float)(2.0 * d / (double)n);
    }
    return s / (double)n;
}

typedef struct adam {
    double lr, beta1, beta2, eps;
    long t;
    double *m, *v; /* (n) moments */
} adam;

/* One Adam step on x with gradient g, then clamp x to [0,1]. */
static void adam_step(adam *o, float *x, const float *g, size_t n)
{
    o->t++;
    const double c1 = 1.0 - pow(o->beta1, (double)o->t), c2 = 1.0 - pow(o->beta2, (double)o->t);
    for (size_t i = 0; i < n; i++) {
        o->m[i] = o->beta1 * o->m[i] + (1.0 - o->beta1) * g[i];
        o->v[i] = o->beta2 * o->v[i] + (1.0 - o->beta2) * (double)g[i] * g[i];
        double step = o->lr * (o->m[i] / c1) / (sqrt(o->v[i] / c2) + o->eps);
        double y = (double)x[i] - step;
        x[i] = (float)(y < 0.0 ? 0.0 : y > 1.0 ? 1.0 : y);
    }
}

static int write_png(dpsim_ctx *ctx, const char *path, const float *x, int w, int h)
{
    const size_t hw = (size_t)w * h;
    uint8_t *rgb = malloc(hw * 3);
    if (!rgb) {
        cli_error("out of memory for a %dx%d image", w, h);
        return EXIT_DATA;
    }
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++)
            rgb[i * 3 + c] = (uint8_t)lrintf(x[(size_t)c * hw + i] * 255.0f);
    dpsim_status s = dpsim_png_write_rgb8(ctx, path, rgb, w, h);
    free(rgb);
    return s == DPSIM_OK ? EXIT_OK : cli_fail(ctx, s, "output");
}

static int write_csv(dpsim_ctx *ctx, const char *path, const double *dist, const double *err,
                     int rows)
{
    size_t cap = 64 + (size_t)rows * 64, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        cli_error("out of memory for the CSV");
        return EXIT_DATA;
    }
    len += (size_t)snprintf(buf, cap, "step,distance,mse\n");
    for (int k = 0; k < rows; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%d,%.9g,%.9g\n", k, dist[k], err[k]);
    dpsim_status s = dpsim_file_write_atomic(ctx, path, buf, len);
    free(buf);
    return s == DPSIM_OK ? EXIT_OK : cli_fail(ctx, s, "csv");
}

/* Adam from x; dist/err (steps + 1) get the distance and MSE of x after k steps. */
static int descend(dpsim_ctx *ctx, const optimize_args *a, const dpsim_model *model,
                   const dpsim_image *target, const dpsim_features *ft, float *x, double *dist,
                   double *err)
{
    const int w = target->width, h = target->height;
    const size_t n = (size_t)3 * w * h;
    float *g = malloc(n * sizeof(float));
    adam o = {a->lr, 0.9, 0.999, 1e-8, 0, calloc(n, sizeof(double)), calloc(n, sizeof(double))};
    int rc = EXIT_DATA;
    if (!g || !o.m || !o.v) {
        cli_error("out of memory for a %dx%d optimisation", w, h);
        goto done;
    }
    progress bar;
    progress_start(&bar, "steps", a->steps, a->quiet);
    for (int k = 0; k <= a->steps; k++) {
        const int last = k == a->steps;
        dpsim_status s = dpsim_gradient_to(ctx, model, x, w, h, ft, &dist[k],
                                           a->mse || last ? NULL : g);
        if (s != DPSIM_OK) {
            progress_end(&bar);
            cli_fail(ctx, s, "gradient");
            goto done;
        }
        err[k] = mse(x, target->pixels, n, a->mse && !last ? g : NULL);
        if (!last) {
            adam_step(&o, x, g, n);
            progress_add(&bar, 1);
        }
    }
    progress_end(&bar);
    rc = EXIT_OK;
done:
    free(g);
    free(o.m);
    free(o.v);
    return rc;
}

/* The optimisation (a model_opts_run callback). */
static int run(dpsim_ctx *ctx, const void *arg)
{
    const optimize_args *a = arg;
    dpsim_model *model = NULL;
    dpsim_image *target = NULL;
    dpsim_features *ft = NULL;
    float *x = NULL;
    double *dist = calloc((size_t)a->steps + 1, sizeof(double));
    double *err = calloc((size_t)a->steps + 1, sizeof(double));
    int rc = EXIT_DATA;
    dpsim_status s;
    if (!dist || !err) {
        cli_error("out of memory for %d steps", a->steps);
        goto done;
    }
    if ((s = dpsim_image_read(ctx, a->target, &target)) != DPSIM_OK) {
        cli_fail(ctx, s, "target");
        goto done;
    }
    x = malloc((size_t)3 * target->width * target->height * sizeof(float));
    if (!x) {
        cli_error("out of memory for a %dx%d image", target->width, target->height);
        goto done;
    }
    if ((rc = make_start(ctx, a, target, x)) != EXIT_OK)
        goto done;
    rc = EXIT_DATA;
    if (model_opts_load(ctx, &a->mo, 0, &model) != EXIT_OK)
        goto done;
    if ((s = dpsim_extract(ctx, model, target->pixels, target->width, target->height, &ft)) !=
        DPSIM_OK) {
        cli_fail(ctx, s, "target");
        goto done;
    }
    if (!a->quiet) {
        char prov[1024];
        dpsim_model_provenance(model, prov, sizeof prov);
        fprintf(stderr, "dpsim: %s\n", prov);
        fprintf(stderr, "dpsim: optimize: %s, Adam lr %g, %d steps, from %s\n",
                a->mse ? "pixel MSE (baseline)" : "perceptual distance", a->lr, a->steps,
                a->init);
    }
    if ((rc = descend(ctx, a, model, target, ft, x, dist, err)) != EXIT_OK ||
        (rc = write_png(ctx, a->out, x, target->width, target->height)) != EXIT_OK ||
        (rc = write_csv(ctx, a->csv, dist, err, a->steps + 1)) != EXIT_OK)
        goto done;
    if (a->plot && (s = loss_plot_png(ctx, a->plot, a->mse ? err : dist, a->steps + 1)) !=
                       DPSIM_OK) {
        rc = cli_fail(ctx, s, "plot");
        goto done;
    }
    printf("distance %.9g mse %.9g\n", dist[a->steps], err[a->steps]);
    rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_DATA;
done:
    free(dist);
    free(err);
    free(x);
    dpsim_features_free(ft);
    dpsim_model_free(model);
    dpsim_image_free(target);
    return rc;
}

int cmd_optimize(int argc, char **argv)
{
    optimize_args args;
    int rc = parse_args(argc, argv, &args);
    return rc >= 0 ? rc : model_opts_run(&args.mo, run, &args);
}
