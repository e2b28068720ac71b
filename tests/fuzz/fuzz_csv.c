/*
 * fuzz_csv.c - libFuzzer target for dpsim_csv_parse with the column sets
 * of the MOS table (dpsim eval mos) and the triplets file (dpsim adapt
 * --triplets). Contract: on failure nothing is returned and an error is set;
 * on success every field of every row is a string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpsim/dpsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(dpsim_ctx *ctx, const uint8_t *data, size_t size, const char *const *cols,
                  int n)
{
    dpsim_csv *csv = NULL;
    dpsim_status s = dpsim_csv_parse(ctx, data, size, "fuzz", cols, n, &csv);
    if (s != DPSIM_OK) {
        if (csv || !*dpsim_ctx_last_error(ctx))
            abort();
        return;
    }
    for (size_t r = 0; r < dpsim_csv_rows(csv); r++)
        for (int c = 0; c < n; c++)
            if (!dpsim_csv_field(csv, r, c) || dpsim_csv_line(csv, r) == 0)
                abort();
    dpsim_csv_free(csv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const mos[3] = {"reference", "distorted", "score"};
    static const char *const triplets[4] = {"reference", "p0", "p1", "judge"};
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 0;
    check(ctx, data, size, mos, 3);
    check(ctx, data, size, triplets, 4);
    dpsim_ctx_free(ctx);
    return 0;
}
