/*
 * cmd_features.c - `dpsim features IMG... -o F` and `dpsim index DIR -o F`:
 * extract every image's features once (in parallel with --jobs) and save
 * them, in input order, with the model's provenance in a feature file
 * (doc/FEATURES.md) that the batch commands read instead of the images.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_opts.h"
#include "cli.h"
#include "cli_options.h"
#include "sources.h"

static const char *const usage[] = {
    "usage: dpsim features [options] -o FILE IMAGE|DIR|FEATURES...\n"
    "       dpsim index [options] -o FILE DIR\n"
    "\n"
    "Extract the features of every image once and save them with the settings\n"
    "that made them (net, taps, LPIPS version, weight hashes, --size) in a feature\n"
    "file (format: doc/FEATURES.md). dpsim compare and dpsim search read it\n"
    "wherever images are expected, and refuse it when their own settings differ.\n"
    "Records are named by the path as given (features) or the path relative to\n"
    "DIR (index; folders are searched recursively, sorted). Feature files given\n"
    "as inputs are copied in (merging sets made with the same settings).\n"
    "Method and normalisation do not change features, the weights files do: a\n"
    "file made with the LPIPS lin weights serves spatial, spatial+mean and\n"
    "spatial+sort; one made with --no-lin serves mean, sort and gram.\n"
    "Spatial features are large (SqueezeNet at 256x256: 8.8 MB per image);\n"
    "--size fixes one size for all.\n"
    "\n"
    "options:\n"
    MODEL_OPTIONS_HELP,
    BATCH_OPTIONS_HELP
    "  -h, --help         this help\n"
    "\n"
    "examples:\n"
    "  dpsim index -o photos.dpf -j 4 photos/\n"
    "  dpsim features -o two.dpf a.png b.png\n"
    "  dpsim index --size 256 --net alex -o set.dpf set/\n"
    "  dpsim compare --all-pairs --matrix photos.dpf\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n",
    NULL,
};

static const struct option long_options[] = {
    MODEL_LONG_OPTIONS,
    BATCH_LONG_OPTIONS,
    CLI_HELP_OPTION_END,
};

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, const char *cmd, model_opts *mo, batch_opts *bo)
{
    model_opts_init(mo);
    batch_opts_init(bo);
    const cli_command command = {cmd, usage, BATCH_SHORT_OPTIONS, long_options};
    const cli_option_group groups[] = {
        {model_opts_parse, mo}, {batch_opts_parse, bo}, {NULL, NULL}};
    int rc = cli_parse_options(&command, argc, argv, groups);
    if (rc >= 0)
        return rc;
    if (!bo->out_path)
        return cli_usage_error(cmd, "-o FILE is required: where to save the features");
    if (bo->format_given)
        return cli_usage_error(cmd, "--format/--csv/--json: the output is a feature file");
    int n = argc - optind;
    if (strcmp(cmd, "index ") == 0 && (n != 1 || !is_directory(argv[optind])))
        return cli_usage_error(cmd, "expected one folder, got %d argument%s%s", n,
                               n == 1 ? "" : "s", n == 1 ? " that is not a folder" : "");
    if (n < 1)
        return cli_usage_error(cmd, "expected images, folders or feature files");
    return model_opts_check(mo, cmd);
}

typedef struct saver {
    dpsim_ctx *ctx; /* used under the batch's lock only */
    dpsim_featfile_writer *w;
    int failed;
} saver;

/* The batch's sink: append one image's features to the file. */
static int save_item(void *user, const batch_item *it)
{
    saver *sv = user;
    dpsim_status s = dpsim_featfile_writer_add(sv->ctx, sv->w, it->name, it->feats);
    if (s != DPSIM_OK) {
        sv->failed = 1;
        return cli_fail(sv->ctx, s, "features");
    }
    return 0;
}

/* Extract every item and stream it, in order, into the file; commit when all went well
   (or with keep_going, what went well). */
static int run_and_save(dpsim_ctx *ctx, batch *b, const batch_opts *bo)
{
    char prep[64];
    batch_prep(b, prep, sizeof prep);
    saver sv = {ctx, NULL, 0};
    dpsim_status s = dpsim_featfile_writer_open(ctx, bo->out_path, b->model, prep, &sv.w);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, "features");
    b->sink = save_item;
    b->sink_user = &sv;
    int rc = batch_run(b);
    if (sv.failed || (rc != EXIT_OK && !bo->keep_going)) {
        dpsim_featfile_writer_abort(sv.w);
        return EXIT_DATA;
    }
    s = dpsim_featfile_writer_commit(ctx, sv.w);
    return s != DPSIM_OK ? cli_fail(ctx, s, "features") : rc;
}

typedef struct features_args {
    model_opts mo;
    batch_opts bo;
    int n_inputs;
    char **inputs;
} features_args;

/* Extract and save (a model_opts_run callback). */
static int run(dpsim_ctx *ctx, const void *arg)
{
    const features_args *a = arg;
    const model_opts *mo = &a->mo;
    const batch_opts *bo = &a->bo;
    const int n_inputs = a->n_inputs;
    char **inputs = a->inputs;
    dpsim_model *model = NULL;
    int rc = model_opts_load(ctx, mo, bo->verbose, &model);
    if (rc != EXIT_OK)
        return rc;
    batch b;
    batch_init(&b, model);
    batch_opts_apply(bo, mo, &b);
    for (int i = 0; i < n_inputs && rc == EXIT_OK; i++) {
        size_t first, count;
        rc = source_add(&b, ctx, inputs[i], n_inputs == 1, &first, &count);
    }
    for (size_t i = 0; i < b.n_items; i++)
        b.items[i].keep = 1;
    if (rc == EXIT_OK) {
        rc = run_and_save(ctx, &b, bo);
        char prov[1024];
        dpsim_model_provenance(model, prov, sizeof prov);
        if (!bo->quiet)
            fprintf(stderr, "dpsim: %s\n", prov);
        if (bo->verbose && (rc == EXIT_OK || bo->keep_going))
            fprintf(stderr, "dpsim: %ld feature extractions, %zu of %zu images saved to %s\n",
                    b.extractions, b.n_sunk, b.n_items, bo->out_path);
    }
    batch_free(&b);
    dpsim_model_free(model);
    return rc;
}

static int features_main(int argc, char **argv, const char *cmd)
{
    features_args a;
    int rc = parse_args(argc, argv, cmd, &a.mo, &a.bo);
    if (rc >= 0)
        return rc;
    a.n_inputs = argc - optind;
    a.inputs = argv + optind;
    return model_opts_run(&a.mo, run, &a);
}

int cmd_features(int argc, char **argv) { return features_main(argc, argv, "features "); }
int cmd_index(int argc, char **argv) { return features_main(argc, argv, "index "); }
