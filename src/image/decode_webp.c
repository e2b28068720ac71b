/*
 * decode_webp.c - still WebP (lossy or lossless) through libwebp -> 8-bit RGB.
 * The features are read first, so the size is checked before any pixel memory
 * exists; libwebp then decodes into our buffer (alpha dropped). Animation is refused.
 */
#include <string.h>

#include <webp/decode.h>

#include "core/alloc.h"
#include "image/image_decode.h"

static const char *status_text(VP8StatusCode st)
{
    switch (st) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "user abort";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data";
    }
    return "unknown status";
}

static dpsim_status webp_fail(VP8StatusCode st, errbuf *e)
{
    if (st == VP8_STATUS_OUT_OF_MEMORY)
        return err_set(e, DPSIM_E_NOMEM, "out of memory in the WebP decoder");
    return err_set(e, DPSIM_E_FORMAT, "%s WebP data (libwebp: %s)",
                   st == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated" : "malformed", status_text(st));
}

dpsim_status decode_webp(const uint8_t *data, size_t size, raw_image *out, errbuf *e)
{
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return err_set(e, DPSIM_E_UNSUPPORTED, "libwebp version mismatch");
    VP8StatusCode st = WebPGetFeatures(data, size, &config.input);
    if (st != VP8_STATUS_OK)
        return webp_fail(st, e);
    if (config.input.has_animation)
        return err_set(e, DPSIM_E_UNSUPPORTED,
                       "animated WebP is not supported, expected a still image");
    int width = config.input.width, height = config.input.height;
    dpsim_status s = image_check_size(width, height, e);
    if (s != DPSIM_OK)
        return s;
    uint8_t *rgb = image_samples_alloc(width, height, 3, 8); /* (height, width, 3) */
    if (!rgb)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for %dx%d pixels", width, height);
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = rgb;
    config.output.u.RGBA.stride = width * 3;
    config.output.u.RGBA.size = (size_t)width * (size_t)height * 3;
    st = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (st != VP8_STATUS_OK) {
        dp_free(rgb);
        return webp_fail(st, e);
    }
    out->width = width;
    out->height = height;
    out->channels = 3;
    out->bits = 8;
    out->src_channels = config.input.has_alpha ? 4 : 3;
    out->alpha_dropped = config.input.has_alpha != 0;
    out->samples = rgb;
    return DPSIM_OK;
}
