/*
 * compare_batch.c - `dpsim compare` batch forms (see compare_batch.h): build
 * the items and pairs of the form, run them (batch.c), write the results.
 */
#include "compare_batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "manifest.h"
#include "sources.h"

static const char *const mode_names[] = {"single", "pairs", "ref", "all-pairs", "manifest"};

/* Items and pairs of the form. Returns EXIT_OK or an exit code (reported). */
static int build(batch *b, dpsim_ctx *ctx, const compare_batch_args *a, size_t *unmatched)
{
    size_t first, count, total = 0;
    int rc = EXIT_OK;
    switch (a->mode) {
    case MODE_BY_NAME: {
        size_t first_b, count_b;
        if ((rc = source_add(b, ctx, a->inputs[0], 1, &first, &count)) != EXIT_OK ||
            (rc = source_add(b, ctx, a->inputs[1], 1, &first_b, &count_b)) != EXIT_OK)
            return rc;
        return pair_by_name(b, first, count, first_b, count_b, a->bo->keep_going, unmatched);
    }
    case MODE_REF: return source_add_one_vs_many(b, ctx, "--ref", a->ref, a->inputs, a->n_inputs);
    case MODE_ALL:
        for (int i = 0; i < a->n_inputs && rc == EXIT_OK; i++)
            if ((rc = source_add(b, ctx, a->inputs[i], a->n_inputs == 1, &first, &count)) ==
                EXIT_OK)
                total += count;
        if (rc != EXIT_OK)
            return rc;
        if (total < 2) {
            cli_error("--all-pairs: %zu image%s given, expected at least two", total,
                      total == 1 ? "" : "s");
            return EXIT_DATA;
        }
        for (size_t i = 0; i < total && rc == EXIT_OK; i++)
            for (size_t j = i + 1; j < total && rc == EXIT_OK; j++)
                if (!batch_add_pair(b, i, j))
                    rc = cli_fail(NULL, DPSIM_E_NOMEM, "pairs");
        return rc;
    case MODE_MANIFEST: return manifest_add(b, ctx, a->manifest);
    case MODE_SINGLE: break;
    }
    return EXIT_USAGE;
}

static int make_maps_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && is_directory(dir)))
        return EXIT_OK;
    cli_error("--maps '%s': cannot create the folder: %s", dir,
              errno == EEXIST ? "a file of that name exists" : strerror(errno));
    return EXIT_DATA;
}

typedef struct render_args {
    const compare_batch_args *a;
    size_t unmatched;
} render_args;

static int render(FILE *fp, const batch *b, const char *prov, const void *arg)
{
    const render_args *r = arg;
    run_info info = {mode_names[r->a->mode], prov, r->unmatched};
    if (r->a->matrix)
        return output_matrix(fp, b, r->a->bo->format, &info);
    output_pairs(fp, b, r->a->bo->format, &info);
    return EXIT_OK;
}

int compare_batch_run(const compare_batch_args *a)
{
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, &a->mo->config) != DPSIM_OK) {
        cli_error("cannot create a context (out of memory)");
        return EXIT_DATA;
    }
    dpsim_model *model = NULL;
    batch b;
    batch_init(&b, NULL);
    size_t unmatched = 0;
    int rc = model_opts_load(ctx, a->mo, a->bo->verbose, &model);
    if (rc == EXIT_OK && a->maps_dir)
        rc = make_maps_dir(a->maps_dir);
    if (rc == EXIT_OK) {
        batch_init(&b, model);
        batch_opts_apply(a->bo, a->mo, &b);
        b.per_tap = a->per_layer;
        b.maps_dir = a->maps_dir;
        rc = build(&b, ctx, a, &unmatched);
    }
    /* unmatched names with --keep-going: score the rest, then exit 1 */
    const int built = rc == EXIT_OK, failed = built && unmatched;
    if (built)
        rc = batch_run(&b);
    if (built && (rc == EXIT_OK || a->bo->keep_going)) {
        render_args r = {a, unmatched};
        int wrc = batch_emit(ctx, a->bo, &b, render, &r);
        rc = wrc != EXIT_OK ? wrc : rc;
    }
    if (rc == EXIT_OK && failed)
        rc = EXIT_DATA;
    batch_free(&b);
    dpsim_model_free(model);
    dpsim_ctx_free(ctx);
    return rc;
}
