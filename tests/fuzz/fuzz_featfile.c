/*
 * fuzz_featfile.c - libFuzzer target for dpsim_featfile_read_memory, the
 * reader of feature files (doc/FEATURES.md). A successful read must describe
 * consistent records; a failure must leave the output untouched and say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "featfile/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dpsim_ctx *ctx;
    if (!ctx && dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        abort();
    dpsim_featfile *ff = NULL;
    dpsim_status s = dpsim_featfile_read_memory(ctx, data, size, "fuzz", &ff);
    if (s != DPSIM_OK) {
        if (ff || !*dpsim_ctx_last_error(ctx))
            abort();
        return 0;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < dpsim_featfile_count(ff); i++) {
        const dpsim_features *f = dpsim_featfile_features(ff, i);
        const char *name = dpsim_featfile_name(ff, i);
        if (!f || !name || !*name || strlen(name) > DPSIM_FEATFILE_MAX_NAME || f->width < 1 ||
            f->height < 1 || f->n_taps != ff->settings.n_taps)
            abort();
        for (int t = 0; t < f->n_taps; t++)
            bytes += sizeof(float) * (uint64_t)f->c[t] * f->h[t] * f->w[t];
    }
    if (bytes > size) /* every value was read from the input */
        abort();
    dpsim_featfile_free(ff);
    return 0;
}
