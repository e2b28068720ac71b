/*
 * test_eval_alloc.c - allocation-failure injection over the evaluation,
 * distortion and weights-writing paths (built only with
 * -Dalloc_failure_injection=true, run under ASan in CI): with the n-th and
 * every later allocation failing, each path returns DPSIM_E_NOMEM (with a
 * message where it takes a context), leaves its out-parameter untouched and
 * leaks nothing, for every n until it gets through.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocsweep.h"
#include "check.h"
#include "dpsim/dpsim.h"

static dpsim_ctx *ctx;
static char fixtures[2048];

static dpsim_status op_dataset(void)
{
    char dir[2100];
    snprintf(dir, sizeof dir, "%s/2afc", fixtures);
    dpsim_dataset *ds = alloc_untouched();
    dpsim_status s = dpsim_dataset_open(ctx, DPSIM_DATASET_2AFC, dir, &ds);
    if (s != DPSIM_OK) {
        CHECK(ds == alloc_untouched());
        return s;
    }
    double d[20] = {0}, per[3], overall, pooled;
    for (int i = 0; i < 20; i++)
        d[i] = 0.1 * (i % 7);
    s = dpsim_dataset_score(ctx, ds, d, per, &overall, &pooled);
    dpsim_dataset_free(ds);
    return s;
}

static dpsim_status op_csv(void)
{
    static const char *const cols[3] = {"reference", "distorted", "score"};
    char path[2100];
    snprintf(path, sizeof path, "%s/mos/mos.csv", fixtures);
    dpsim_csv *csv = alloc_untouched();
    dpsim_status s = dpsim_csv_read(ctx, path, cols, 3, &csv);
    if (s == DPSIM_OK)
        dpsim_csv_free(csv);
    else
        CHECK(csv == alloc_untouched());
    return s;
}

static dpsim_status op_npy(void)
{
    char path[2100];
    snprintf(path, sizeof path, "%s/jnd/val/mixed/same/000002.npy", fixtures);
    double v[2];
    size_t n = 99;
    dpsim_status s = dpsim_npy_read(ctx, path, v, 2, &n);
    if (s != DPSIM_OK)
        CHECK(n == 99);
    return s;
}

static dpsim_status op_mos(void)
{
    const double d[6] = {0.1, 0.3, 0.2, 0.5, 0.4, 0.9}, m[6] = {5, 3, 4.5, 2, 2.5, 1};
    dpsim_mos_stats st;
    return dpsim_score_mos(ctx, d, m, 6, &st);
}

static dpsim_status op_blur(void)
{
    static float in[3 * 20 * 20], out[3 * 20 * 20];
    dpsim_distort_params p = {3.0, 0.0, 7};
    return dpsim_distort_apply(ctx, DPSIM_DISTORT_BLUR, &p, in, 20, 20, out);
}

int main(void)
{
    const char *root = getenv("DPSIM_SOURCE_ROOT");
    if (!root || dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 1;
    snprintf(fixtures, sizeof fixtures, "%s/tests/eval/fixtures", root);
    alloc_sweep(ctx, "dataset open + score", op_dataset, DPSIM_OK);
    alloc_sweep(ctx, "csv read", op_csv, DPSIM_OK);
    alloc_sweep(ctx, "npy read", op_npy, DPSIM_OK);
    alloc_sweep(ctx, "mos scores", op_mos, DPSIM_OK);
    alloc_sweep(ctx, "blur", op_blur, DPSIM_OK);
    dpsim_ctx_free(ctx);
    return check_report();
}
