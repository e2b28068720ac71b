/*
 * cmd_eval.c - `dpsim eval 2afc|jnd DIR` and `dpsim eval mos FILE.csv`:
 * score a metric against human judgments (SPEC section 6) and print the
 * scores (x100, 2 decimals) as text, CSV or JSON.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_options.h"
#include "model_opts.h"
#include "progress.h"

static const char *const usage[] = {
    "usage: dpsim eval 2afc [options] DIR\n"
    "       dpsim eval jnd  [options] DIR\n"
    "       dpsim eval mos  [options] FILE.csv\n"
    "\n"
    "Score a metric against human judgments.\n"
    "  2afc  BAPPS 2AFC folders: CAT/{ref,p0,p1}/NAME.png and CAT/judge/NAME.npy (one float:\n"
    "        the fraction of judges preferring p1). Per triplet: h if d(ref,p1) < d(ref,p0),\n"
    "        1-h if larger, 0.5 if equal; the mean per category.\n"
    "  jnd   BAPPS JND folders: CAT/{p0,p1}/NAME.png and CAT/same/NAME.npy (fraction judging\n"
    "        the pair the same); VOC average precision of the pairs sorted by distance.\n"
    "  mos   a CSV with a header row and the columns reference, distorted, score (paths\n"
    "        relative to the CSV's folder; other columns are ignored): Spearman (SROCC),\n"
    "        Kendall (KROCC) and Pearson after the 4-parameter logistic fit (PLCC).\n"
    "DIR is a category (it holds p0/) or holds categories one or two levels down\n"
    "(e.g. 2afc/ with val/cnn, val/traditional, ...). Files are taken in name order.\n"
    "Scores are x100 with 2 decimals; `overall` is the mean over categories, `pooled`\n"
    "the score of all items together.\n"
    "\n"
    "options:\n"
    MODEL_OPTIONS_HELP
    "  --csv              print CSV (category,n,score)\n"
    "  --json             print one JSON object\n"
    "  -q, --quiet        no progress bar, no provenance line\n"
    "  -h, --help         this help\n"
    "\n"
    "examples:\n"
    "  dpsim eval 2afc dataset/2afc/val\n"
    "  dpsim eval jnd --net alex --json dataset/jnd/val\n"
    "  dpsim eval 2afc --lin trained.safetensors --csv dataset/2afc/val > scores.csv\n"
    "  dpsim eval mos --no-lin tid2013.csv\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n",
    NULL,
};

typedef struct eval_args {
    model_opts m;
    int csv, json, quiet;
    const char *mode, *path;
} eval_args;

enum { OPT_CSV = OPT_MODEL_END, OPT_JSON };

/* eval's own options (a cli_option_fn). */
static int parse_own(void *self, int c, const char *arg, const char *cmd)
{
    (void)arg;
    (void)cmd;
    eval_args *a = self;
    switch (c) {
    case OPT_CSV: a->csv = 1; return -1;
    case OPT_JSON: a->json = 1; return -1;
    case 'q': a->quiet = 1; return -1;
    default: return -2;
    }
}

static int parse_args(int argc, char **argv, eval_args *a)
{
    static const struct option long_options[] = {
        MODEL_LONG_OPTIONS,
        {"csv", no_argument, NULL, OPT_CSV},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        CLI_HELP_OPTION_END,
    };
    static const cli_command cmd = {"eval ", usage, "qh", long_options};
    memset(a, 0, sizeof *a);
    model_opts_init(&a->m);
    const cli_option_group groups[] = {{model_opts_parse, &a->m}, {parse_own, a}, {NULL, NULL}};
    int rc = cli_parse_options(&cmd, argc, argv, groups);
    if (rc >= 0)
        return rc;
    if (argc - optind != 2)
        return cli_usage_error("eval ", "expected a mode (2afc, jnd, mos) and a path, got %d "
                               "argument%s", argc - optind, argc - optind == 1 ? "" : "s");
    a->mode = argv[optind];
    a->path = argv[optind + 1];
    if (strcmp(a->mode, "2afc") && strcmp(a->mode, "jnd") && strcmp(a->mode, "mos"))
        return cli_usage_error("eval ", "mode '%s': expected 2afc, jnd or mos", a->mode);
    if (a->csv && a->json)
        return cli_usage_error("eval ", "--csv and --json exclude each other");
    return model_opts_check(&a->m, "eval ");
}

static void on_progress(void *user, size_t done, size_t total)
{
    (void)total;
    progress *p = user;
    progress_add(p, (long)done - p->done);
}

static void score_row(int csv, const char *name, size_t n, double score)
{
    if (csv)
        printf("%s,%zu,%.2f\n", name, n, 100.0 * score);
    else
        printf("%-28s %8zu %8.2f\n", name, n, 100.0 * score);
}

static void print_scores(const eval_args *a, const dpsim_dataset *ds, const double *score,
                         double overall, double pooled, const dpsim_model *model)
{
    const int nc = dpsim_dataset_n_categories(ds);
    size_t *count = calloc((size_t)nc, sizeof *count);
    for (size_t i = 0; count && i < dpsim_dataset_size(ds); i++) {
        dpsim_dataset_item it;
        dpsim_dataset_item_get(ds, i, &it);
        count[it.category]++;
    }
    const size_t total = dpsim_dataset_size(ds);
    if (a->json) {
        char prov[1024];
        dpsim_model_provenance(model, prov, sizeof prov);
        printf("{\"mode\": \"%s\", \"categories\": [", a->mode);
        for (int c = 0; c < nc; c++) {
            printf("%s{\"name\": ", c ? ", " : "");
            json_string(stdout, dpsim_dataset_category(ds, c));
            printf(", \"n\": %zu, \"score\": %.2f}", count ? count[c] : 0, 100.0 * score[c]);
        }
        printf("], \"overall\": %.2f, \"pooled\": %.2f, \"n\": %zu, \"provenance\": ",
               100.0 * overall, 100.0 * pooled, total);
        json_string(stdout, prov);
        printf("}\n");
    } else {
        if (a->csv)
            printf("category,n,%s\n", strcmp(a->mode, "2afc") == 0 ? "2afc" : "map");
        else
            printf("%-28s %8s %8s\n", "category", "n", strcmp(a->mode, "2afc") == 0 ? "2afc"
                                                                                   : "mAP");
        for (int c = 0; c < nc; c++)
            score_row(a->csv, dpsim_dataset_category(ds, c), count ? count[c] : 0, score[c]);
        score_row(a->csv, "overall", total, overall);
        score_row(a->csv, "pooled", total, pooled);
    }
    free(count);
}

static int eval_dataset(const eval_args *a, dpsim_ctx *ctx, const dpsim_model *model)
{
    dpsim_dataset *ds;
    dpsim_dataset_kind kind = strcmp(a->mode, "2afc") == 0 ? DPSIM_DATASET_2AFC
                                                           : DPSIM_DATASET_JND;
    dpsim_status s = dpsim_dataset_open(ctx, kind, a->path, &ds);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, a->path);
    const size_t n = dpsim_dataset_size(ds);
    const int nc = dpsim_dataset_n_categories(ds);
    double *d = malloc(2 * n * sizeof *d), *score = malloc((size_t)nc * sizeof *score);
    int rc = EXIT_OK;
    if (!d || !score) {
        cli_error("out of memory for %zu items", n);
        rc = EXIT_DATA;
    }
    progress bar;
    progress_start(&bar, kind == DPSIM_DATASET_2AFC ? "triplets" : "pairs", (long)n, a->quiet);
    if (rc == EXIT_OK && (s = dpsim_dataset_distances(ctx, model, ds, d, on_progress, &bar)))
        rc = cli_fail(ctx, s, a->path);
    progress_end(&bar);
    double overall, pooled;
    if (rc == EXIT_OK && (s = dpsim_dataset_score(ctx, ds, d, score, &overall, &pooled)))
        rc = cli_fail(ctx, s, a->path);
    if (rc == EXIT_OK)
        print_scores(a, ds, score, overall, pooled, model);
    free(d);
    free(score);
    dpsim_dataset_free(ds);
    return rc;
}

/* The distance of one MOS row: both images decoded, sizes must match. */
static int mos_distance(dpsim_ctx *ctx, const dpsim_model *model, const char *dir,
                        const char *rel[2], double *d)
{
    dpsim_features *f[2] = {NULL, NULL};
    int rc = EXIT_OK, w = 0, h = 0;
    for (int k = 0; k < 2 && rc == EXIT_OK; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s%s", rel[k][0] == '/' ? "" : dir,
                 rel[k][0] == '/' ? "" : "/", rel[k]);
        dpsim_image *img;
        dpsim_status s = dpsim_image_read(ctx, path, &img);
        if (s != DPSIM_OK)
            return cli_fail(ctx, s, path);
        if (k == 1 && (img->width != w || img->height != h)) {
            cli_error("image '%s' is %dx%d, its reference is %dx%d; expected equal sizes", path,
                      img->width, img->height, w, h);
            rc = EXIT_DATA;
        }
        w = img->width;
        h = img->height;
        if (rc == EXIT_OK && (s = dpsim_extract(ctx, model, img->pixels, w, h, &f[k])))
            rc = cli_fail(ctx, s, path);
        dpsim_image_free(img);
    }
    dpsim_status s;
    if (rc == EXIT_OK && (s = dpsim_compare(ctx, model, f[0], f[1], d, NULL, NULL)))
        rc = cli_fail(ctx, s, "compare");
    dpsim_features_free(f[0]);
    dpsim_features_free(f[1]);
    return rc;
}

static int eval_mos(const eval_args *a, dpsim_ctx *ctx, const dpsim_model *model)
{
    static const char *const cols[3] = {"reference", "distorted", "score"};
    dpsim_csv *csv;
    dpsim_status s = dpsim_csv_read(ctx, a->path, cols, 3, &csv);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, a->path);
    const size_t n = dpsim_csv_rows(csv);
    double *d = malloc(2 * (n ? n : 1) * sizeof *d), *mos = d ? d + n : NULL; // (2, n)
    char *dup = strdup(a->path);
    const char *dir = dup ? dirname(dup) : ".";
    int rc = EXIT_OK;
    if (!d || !dup) {
        cli_error("out of memory for %zu rows", n);
        rc = EXIT_DATA;
    }
    progress bar;
    progress_start(&bar, "pairs", (long)n, a->quiet);
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        const char *score = dpsim_csv_field(csv, i, 2), *rel[2] = {dpsim_csv_field(csv, i, 0),
                                                                   dpsim_csv_field(csv, i, 1)};
        char *end;
        mos[i] = strtod(score, &end);
        if (end == score || *end) {
            progress_end(&bar);
            cli_error("csv '%s': line %zu: score '%s' is not a number", a->path,
                      dpsim_csv_line(csv, i), score);
            rc = EXIT_DATA;
            break;
        }
        rc = mos_distance(ctx, model, dir, rel, &d[i]);
        progress_add(&bar, 1);
    }
    progress_end(&bar);
    dpsim_mos_stats st;
    if (rc == EXIT_OK && (s = dpsim_score_mos(ctx, d, mos, n, &st)))
        rc = cli_fail(ctx, s, a->path);
    if (rc == EXIT_OK && a->json)
        printf("{\"mode\": \"mos\", \"n\": %zu, \"srocc\": %.6f, \"krocc\": %.6f, \"plcc\": "
               "%.6f, \"logistic\": [%.9g, %.9g, %.9g, %.9g]}\n", n, st.srocc, st.krocc,
               st.plcc, st.logistic[0], st.logistic[1], st.logistic[2], st.logistic[3]);
    else if (rc == EXIT_OK && a->csv)
        printf("n,srocc,krocc,plcc\n%zu,%.6f,%.6f,%.6f\n", n, st.srocc, st.krocc, st.plcc);
    else if (rc == EXIT_OK)
        printf("n      %zu\nsrocc  %.6f\nkrocc  %.6f\nplcc   %.6f\n", n, st.srocc, st.krocc,
               st.plcc);
    free(dup);
    free(d);
    dpsim_csv_free(csv);
    return rc;
}

/* Score the dataset or the MOS file (a model_opts_run_model callback). */
static int run_eval(dpsim_ctx *ctx, const dpsim_model *model, const void *arg)
{
    const eval_args *a = arg;
    return strcmp(a->mode, "mos") == 0 ? eval_mos(a, ctx, model) : eval_dataset(a, ctx, model);
}

int cmd_eval(int argc, char **argv)
{
    eval_args a;
    int rc = parse_args(argc, argv, &a);
    return rc >= 0 ? rc : model_opts_run_model(&a.m, a.quiet, run_eval, &a);
}
