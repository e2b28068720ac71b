/*
 * image_decode.h - the private interface of the image module. A decoder turns a
 * whole file in memory into 8/16-bit gray or RGB samples (alpha removed) and says
 * what the file held; image.c makes the planar float dpsim_image. Decoders never
 * print; their errbuf detail lacks the file name, which image.c adds.
 */
#ifndef DPSIM_IMAGE_IMAGE_DECODE_H
#define DPSIM_IMAGE_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct raw_image {
    int width;
    int height;
    int channels;      /* channels in samples: 1 (gray) or 3 (RGB) */
    int bits;          /* 8: samples are uint8_t; 16: uint16_t in host byte order */
    int src_channels;  /* what the file held: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int alpha_dropped; /* 1 if the file had alpha or transparency, which was ignored */
    void *samples;     /* (height, width, channels) interleaved, rows packed; dp_free */
} raw_image;

/*
 * A decoder. On success *out is filled and owns out->samples; on failure *out
 * is untouched, nothing is leaked and e holds "<problem>[, expected <x>]".
 */
typedef dpsim_status (*image_decoder)(const uint8_t *data, size_t size, raw_image *out,
                                      errbuf *e);

dpsim_status decode_png(const uint8_t *data, size_t size, raw_image *out, errbuf *e);
dpsim_status decode_jpeg(const uint8_t *data, size_t size, raw_image *out, errbuf *e);
dpsim_status decode_bmp(const uint8_t *data, size_t size, raw_image *out, errbuf *e);
dpsim_status decode_gif(const uint8_t *data, size_t size, raw_image *out, errbuf *e);
dpsim_status decode_webp(const uint8_t *data, size_t size, raw_image *out, errbuf *e);

/**
 * Check a size read from a file header, before anything is allocated:
 * DPSIM_E_FORMAT for a zero or negative side, DPSIM_E_LIMIT above
 * DPSIM_MAX_SIDE or DPSIM_MAX_PIXELS.
 */
dpsim_status image_check_size(int64_t width, int64_t height, errbuf *e);

/**
 * Allocate zeroed samples for width x height x channels at bits (8 or 16).
 * @return the buffer (free with dp_free) or NULL when out of memory.
 */
void *image_samples_alloc(int width, int height, int channels, int bits);

/**
 * A new library-owned image of width x height (already checked by the
 * caller), pixels zeroed, src_channels/src_bits/alpha_dropped 0, format "".
 * @return NULL when out of memory.
 */
dpsim_image *image_new(int width, int height);

#endif
