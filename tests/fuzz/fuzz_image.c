/*
 * fuzz_image.c - libFuzzer target for dpsim_image_read_memory: every format
 * (PNG, JPEG, BMP, GIF, WebP), chosen by the magic bytes of the input.
 * A successful decode must describe a sane image; a failure must leave the
 * output untouched and say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpsim/dpsim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dpsim_ctx *ctx;
    if (!ctx && dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        abort();
    dpsim_image *img = NULL;
    dpsim_status s = dpsim_image_read_memory(ctx, data, size, "fuzz", &img);
    if (s != DPSIM_OK) {
        if (img || !*dpsim_ctx_last_error(ctx))
            abort();
        return 0;
    }
    if (img->width < 1 || img->height < 1 || img->width > DPSIM_MAX_SIDE ||
        img->height > DPSIM_MAX_SIDE ||
        (int64_t)img->width * img->height > DPSIM_MAX_PIXELS)
        abort();
    size_t n = (size_t)img->width * (size_t)img->height * 3;
    for (size_t i = 0; i < n; i++)
        if (!(img->pixels[i] >= 0.0f && img->pixels[i] <= 1.0f))
            abort();
    dpsim_image_free(img);
    return 0;
}
