/*
 * cmd_search.c - `dpsim search QUERY DB...`: the k images of the database
 * (folders, images, feature files) closest to the query. The query's
 * features are extracted once; database images are extracted one at a time
 * (or read from a feature file) and compared with it. The mean and gram
 * methods compare per-tap vectors (channel means) or c x c Gram matrices, so
 * images of any size; the others compare maps position by position or rank
 * by rank and need images of the query's size or --size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_opts.h"
#include "cli.h"
#include "cli_options.h"
#include "sources.h"

static const char *const usage[] = {
    "usage: dpsim search [options] QUERY DIR|IMAGES|FEATURES...\n"
    "\n"
    "List the k database images closest to QUERY (an image, or a feature file\n"
    "with one record), nearest first; ties keep database order (the query itself,\n"
    "if in the database, comes first at 0). The database is any mix of folders\n"
    "(searched recursively), images and feature files (dpsim index), which skip\n"
    "decoding and extraction. Every image is extracted once.\n"
    "\n"
    "Sizes: --method mean compares one vector of channel means per tap (a vector\n"
    "search) and --method gram c x c Gram matrices: images of any size. The\n"
    "other methods compare position by position (spatial, spatial+X, dists) or\n"
    "rank by rank (sort), so every database image must have the query's size:\n"
    "another size is an error (with --keep-going: skipped and reported), unless\n"
    "--size WxH resizes every image first.\n"
    "\n"
    "options:\n"
    "  -k, --k N          how many results (default 10; 0 = all)\n"
    MODEL_OPTIONS_HELP,
    BATCH_OPTIONS_HELP
    "  -h, --help         this help\n"
    "\n"
    "output: text `rank  distance  name`; CSV rank,name,distance; JSON with the\n"
    "query, results, failed, provenance and the extraction count.\n"
    "\n"
    "examples:\n"
    "  dpsim search query.png photos/\n"
    "  dpsim index -o photos.dpf photos/ && dpsim search -k 5 --json query.png photos.dpf\n"
    "  dpsim search --method mean --no-lin --csv query.jpg photos/\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n",
    NULL,
};

static const struct option long_options[] = {
    MODEL_LONG_OPTIONS,
    BATCH_LONG_OPTIONS,
    {"k", required_argument, NULL, 'k'},
    CLI_HELP_OPTION_END,
};

typedef struct search_args {
    model_opts mo;
    batch_opts bo;
    long k;
    const char *query;
    char **db;
    int n_db;
} search_args;

/* -k N (a cli_option_fn; self is the count). */
static int parse_k(void *self, int c, const char *arg, const char *cmd)
{
    if (c != 'k')
        return -2;
    long *k = self;
    char *end;
    *k = strtol(arg, &end, 10);
    if (end == arg || *end || *k < 0)
        return cli_usage_error(cmd, "--k '%s': expected a count >= 0", arg);
    return -1;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, search_args *a)
{
    memset(a, 0, sizeof *a);
    model_opts_init(&a->mo);
    batch_opts_init(&a->bo);
    a->k = 10;
    static const cli_command cmd = {"search ", usage, BATCH_SHORT_OPTIONS "k:", long_options};
    const cli_option_group groups[] = {
        {model_opts_parse, &a->mo}, {batch_opts_parse, &a->bo}, {parse_k, &a->k}, {NULL, NULL}};
    int rc = cli_parse_options(&cmd, argc, argv, groups);
    if (rc >= 0)
        return rc;
    if (argc - optind < 2)
        return cli_usage_error("search ", "expected a query and a database (folder, images or "
                               "feature files), got %d argument%s", argc - optind,
                               argc - optind == 1 ? "" : "s");
    a->query = argv[optind];
    a->db = argv + optind + 1;
    a->n_db = argc - optind - 1;
    return model_opts_check(&a->mo, "search ");
}

static const batch *rank_batch; /* qsort has no user pointer in C11 */

/* nearest first; equal distances keep database order */
static int by_distance(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    double di = rank_batch->pairs[i].distance, dj = rank_batch->pairs[j].distance;
    if (di != dj)
        return di < dj ? -1 : 1;
    return i < j ? -1 : i > j;
}

static void print_results(FILE *fp, const search_args *a, const batch *b, const size_t *order,
                          size_t n, const char *prov)
{
    const out_format f = a->bo.format;
    if (f == FORMAT_CSV)
        fputs("rank,name,distance\r\n", fp);
    if (f == FORMAT_JSON) {
        fputs("{\"query\":", fp);
        json_string(fp, b->items[0].name);
        fputs(",\"provenance\":", fp);
        json_string(fp, prov);
        fprintf(fp, ",\"dpsim_version\":\"%s\",\"extractions\":%ld,\"searched\":%zu,"
                "\"results\":[", dpsim_version_string(), b->extractions, b->n_pairs);
    }
    for (size_t r = 0; r < n; r++) {
        const batch_pair *p = &b->pairs[order[r]];
        const char *name = b->items[p->b].name;
        if (f == FORMAT_TEXT) {
            fprintf(fp, "%zu  %.9g  %s\n", r + 1, p->distance, name);
        } else if (f == FORMAT_CSV) {
            fprintf(fp, "%zu,", r + 1);
            csv_string(fp, name);
            fprintf(fp, ",%.9g\r\n", p->distance);
        } else {
            fprintf(fp, "%s{\"rank\":%zu,\"name\":", r ? "," : "", r + 1);
            json_string(fp, name);
            fprintf(fp, ",\"distance\":%.17g}", p->distance);
        }
    }
    if (f == FORMAT_JSON) {
        fputs("],\"failed\":[", fp);
        int first = 1;
        for (size_t i = 0; i < b->n_pairs; i++)
            if (b->pairs[i].error) {
                fputs(first ? "{\"name\":" : ",{\"name\":", fp);
                json_string(fp, b->items[b->pairs[i].b].name);
                fputs(",\"error\":", fp);
                json_string(fp, b->pairs[i].error);
                fputc('}', fp);
                first = 0;
            }
        fputs("]}\n", fp);
    }
}

/* The scored pairs nearest first, the k first printed. */
static int render(FILE *fp, const batch *b, const char *prov, const void *arg)
{
    const search_args *a = arg;
    size_t *order = malloc((b->n_pairs ? b->n_pairs : 1) * sizeof *order), n = 0;
    if (!order) {
        cli_error("out of memory for the results");
        return EXIT_DATA;
    }
    for (size_t i = 0; i < b->n_pairs; i++)
        if (!b->pairs[i].error)
            order[n++] = i;
    rank_batch = b;
    qsort(order, n, sizeof *order, by_distance);
    if (a->k > 0 && (size_t)a->k < n)
        n = (size_t)a->k;
    print_results(fp, a, b, order, n, prov);
    free(order);
    return EXIT_OK;
}

/* The search (a model_opts_run callback). */
static int run(dpsim_ctx *ctx, const void *arg)
{
    const search_args *a = arg;
    dpsim_model *model = NULL;
    int rc = model_opts_load(ctx, &a->mo, a->bo.verbose, &model);
    if (rc != EXIT_OK)
        return rc;
    batch b;
    batch_init(&b, model);
    batch_opts_apply(&a->bo, &a->mo, &b);
    rc = source_add_one_vs_many(&b, ctx, "query", a->query, a->db, a->n_db);
    const int built = rc == EXIT_OK;
    if (built)
        rc = batch_run(&b);
    if (built && (rc == EXIT_OK || a->bo.keep_going)) {
        int wrc = batch_emit(ctx, &a->bo, &b, render, a);
        rc = wrc != EXIT_OK ? wrc : rc;
    }
    batch_free(&b);
    dpsim_model_free(model);
    return rc;
}

int cmd_search(int argc, char **argv)
{
    search_args a;
    int rc = parse_args(argc, argv, &a);
    return rc >= 0 ? rc : model_opts_run(&a.mo, run, &a);
}
