/*
 * fuzz_npy.c - libFuzzer target for dpsim_npy_parse (BAPPS judgments).
 * Contract: on failure the values and count are untouched and an error is
 * set; on success the count is within the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpsim/dpsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 0;
    double values[16] = {0};
    size_t n = 12345;
    dpsim_status s = dpsim_npy_parse(ctx, data, size, "fuzz", values, 16, &n);
    if (s == DPSIM_OK ? n > 16 : (n != 12345 || !*dpsim_ctx_last_error(ctx)))
        abort();
    dpsim_ctx_free(ctx);
    return 0;
}
