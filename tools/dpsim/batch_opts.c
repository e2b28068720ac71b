/*
 * batch_opts.c - parsing the shared batch options (see batch_opts.h).
 */
#include "batch_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void batch_opts_init(batch_opts *bo)
{
    memset(bo, 0, sizeof *bo);
    bo->jobs = 1;
    bo->format = FORMAT_TEXT;
}

static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s || a < 1 || a > DPSIM_MAX_SIDE)
        return 0;
    if (*end == 'x') {
        const char *t = end + 1;
        b = strtol(t, &end, 10);
        if (end == t || b < 1 || b > DPSIM_MAX_SIDE)
            return 0;
    }
    if (*end || a * b > DPSIM_MAX_PIXELS)
        return 0;
    *w = (int)a;
    *h = (int)b;
    return 1;
}

int batch_opts_parse(void *self, int c, const char *arg, const char *cmd)
{
    batch_opts *bo = self;
    switch (c) {
    case 'j': {
        char *end;
        long n = strtol(arg, &end, 10);
        if (end == arg || *end || n < 1 || n > 256)
            return cli_usage_error(cmd, "--jobs '%s': expected a number of threads from 1 to 256",
                                   arg);
        bo->jobs = (int)n;
        return -1;
    }
    case 'o': bo->out_path = arg; return -1;
    case OPT_FORMAT:
        if (!out_format_parse(arg, &bo->format))
            return cli_usage_error(cmd, "--format '%s': expected text, csv or json", arg);
        bo->format_given = 1;
        return -1;
    case OPT_JSON: bo->format = FORMAT_JSON; bo->format_given = 1; return -1;
    case OPT_CSV: bo->format = FORMAT_CSV; bo->format_given = 1; return -1;
    case OPT_KEEP_GOING: bo->keep_going = 1; return -1;
    case OPT_SIZE:
        if (!parse_size(arg, &bo->size_w, &bo->size_h))
            return cli_usage_error(cmd, "--size '%s': expected WxH or N, e.g. 256x256", arg);
        return -1;
    case 'v': bo->verbose = 1; return -1;
    case 'q': bo->quiet = 1; return -1;
    default: return -2;
    }
}

void batch_opts_apply(const batch_opts *bo, const model_opts *mo, batch *b)
{
    b->jobs = bo->jobs;
    b->threads = mo->config.n_threads / bo->jobs > 1 ? mo->config.n_threads / bo->jobs : 1;
    b->keep_going = bo->keep_going;
    b->quiet = bo->quiet;
    b->size_w = bo->size_w;
    b->size_h = bo->size_h;
}

void batch_opts_provenance(const batch_opts *bo, const dpsim_model *model, char *prov,
                           size_t len)
{
    prov[0] = '\0';
    if (!bo->quiet || bo->format == FORMAT_JSON)
        dpsim_model_provenance(model, prov, len);
}

int batch_emit(dpsim_ctx *ctx, const batch_opts *bo, const batch *b, batch_render render,
               const void *arg)
{
    char prov[1024];
    batch_opts_provenance(bo, b->model, prov, sizeof prov);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        cli_error("out of memory for the results");
        return EXIT_DATA;
    }
    int rc = render(mem, b, prov, arg);
    if (fclose(mem) != 0 && rc == EXIT_OK) {
        cli_error("out of memory for the results");
        rc = EXIT_DATA;
    }
    if (rc == EXIT_OK) {
        if (!bo->quiet)
            fprintf(stderr, "dpsim: %s\n", prov);
        if (bo->verbose)
            fprintf(stderr, "dpsim: %ld feature extractions for %zu images, %zu pairs, %d job%s\n",
                    b->extractions, b->n_items, b->n_pairs, bo->jobs, bo->jobs == 1 ? "" : "s");
        rc = output_commit(ctx, bo->out_path, buf, len);
    }
    free(buf);
    return rc;
}
