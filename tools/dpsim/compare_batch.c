/*
 * compare_batch.c - `dpsim compare` batch forms (see compare_batch.h): build
 * the items and pairs of the form, run them (batch.c), write the results.
 */
#define _POSIX_C_SOURCE 200809L
#include "compare_batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
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
    case MODE_REF:
        if ((rc = source_add(b, ctx, a->ref, 1, &first, &count)) != EXIT_OK)
            return rc;
        if (count != 1) {
            cli_error("--ref '%s': holds %zu images, expected one reference", a->ref, count);
            return EXIT_DATA;
        }
        for (int i = 0; i < a->n_inputs && rc == EXIT_OK; i++)
            if ((rc = source_add(b, ctx, a->inputs[i], a->n_inputs == 1, &first, &count)) ==
                EXIT_OK)
                for (size_t k = 0; k < count && rc == EXIT_OK; k++)
                    if (!batch_add_pair(b, 0, first + k))
                        rc = cli_fail(NULL, DPSIM_E_NOMEM, "pairs");
        return rc;
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
    case MODE_MANIFEST: return manifest_add(b, a->manifest);
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

/* Render the results into a memory buffer, then write them out. */
static int write_results(dpsim_ctx *ctx, const compare_batch_args *a, const batch *b,
                         size_t unmatched, const char *prov)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        cli_error("out of memory for the results");
        return EXIT_DATA;
    }
    run_info info = {mode_names[a->mode], prov, unmatched};
    int rc = EXIT_OK;
    if (a->matrix)
        rc = output_matrix(mem, b, a->bo->format, &info);
    else
        output_pairs(mem, b, a->bo->format, &info);
    if (fclose(mem) != 0 && rc == EXIT_OK) {
        cli_error("out of memory for the results");
        rc = EXIT_DATA;
    }
    if (rc == EXIT_OK)
        rc = batch_finish(ctx, a->bo, b, prov, buf, len);
    free(buf);
    return rc;
}

int compare_batch_run(const compare_batch_args *a)
{
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK) {
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
        batch_opts_apply(a->bo, &b);
        b.per_tap = a->per_layer;
        b.maps_dir = a->maps_dir;
        rc = build(&b, ctx, a, &unmatched);
    }
    /* unmatched names with --keep-going: score the rest, then exit 1 */
    const int built = rc == EXIT_OK, failed = built && unmatched;
    if (built)
        rc = batch_run(&b);
    if (built && (rc == EXIT_OK || a->bo->keep_going)) {
        char prov[1024];
        dpsim_model_provenance(model, prov, sizeof prov);
        int wrc = write_results(ctx, a, &b, unmatched, prov);
        rc = wrc != EXIT_OK ? wrc : rc;
    }
    if (rc == EXIT_OK && failed)
        rc = EXIT_DATA;
    batch_free(&b);
    dpsim_model_free(model);
    dpsim_ctx_free(ctx);
    return rc;
}
