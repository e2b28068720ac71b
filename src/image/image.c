/*
 * image.c - the public image API: format detection by content (magic bytes),
 * dispatch to the decoders, conversion of their samples to (3, H, W) planar
 * float: 8-bit p -> (float)p / 255.0f, 16-bit p -> (float)p / 65535.0f (one
 * correctly rounded float division, as torch's x.float() / 255), gray replicated.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "core/fileio.h"
#include "image/image_decode.h"

/* Image files larger than this are refused before being read (1 GiB). */
#define MAX_FILE_SIZE ((size_t)1 << 30)

typedef struct image_format {
    const char *name;      /* dpsim_image.format */
    const char *display;   /* in messages */
    const uint8_t *magic;  /* at offset 0 */
    size_t magic_len;
    const uint8_t *magic2; /* NULL, or 4 more bytes at offset 8 (WebP, after the RIFF size) */
    image_decoder decode;
} image_format;

#define MAGIC2_OFFSET 8

static const uint8_t png_magic[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_magic[] = {0xff, 0xd8, 0xff};
static const uint8_t bmp_magic[] = {'B', 'M'};
static const uint8_t gif87_magic[] = {'G', 'I', 'F', '8', '7', 'a'};
static const uint8_t gif89_magic[] = {'G', 'I', 'F', '8', '9', 'a'};
static const uint8_t riff_magic[] = {'R', 'I', 'F', 'F'};
static const uint8_t webp_magic[] = {'W', 'E', 'B', 'P'};

static const image_format formats[] = {
    {"png", "PNG", png_magic, sizeof png_magic, NULL, decode_png},
    {"jpeg", "JPEG", jpeg_magic, sizeof jpeg_magic, NULL, decode_jpeg},
    {"bmp", "BMP", bmp_magic, sizeof bmp_magic, NULL, decode_bmp},
    {"gif", "GIF", gif87_magic, sizeof gif87_magic, NULL, decode_gif},
    {"gif", "GIF", gif89_magic, sizeof gif89_magic, NULL, decode_gif},
    {"webp", "WebP", riff_magic, sizeof riff_magic, webp_magic, decode_webp},
};

#define SUPPORTED_LIST "PNG, JPEG, BMP, GIF or WebP"

// ---- shared helpers (image_decode.h) ----

dpsim_status image_check_size(int64_t width, int64_t height, errbuf *e)
{
    if (width <= 0 || height <= 0)
        return err_set(e, DPSIM_E_FORMAT, "invalid size %lldx%lld, expected at least 1x1",
                       (long long)width, (long long)height);
    if (width > DPSIM_MAX_SIDE || height > DPSIM_MAX_SIDE ||
        width * height > (int64_t)DPSIM_MAX_PIXELS)
        return err_set(e, DPSIM_E_LIMIT,
                       "size %lldx%lld exceeds the limit, expected at most %d pixels per side "
                       "and %d pixels in all",
                       (long long)width, (long long)height, DPSIM_MAX_SIDE, DPSIM_MAX_PIXELS);
    return DPSIM_OK;
}

void *image_samples_alloc(int width, int height, int channels, int bits)
{
    size_t n;
    if (!size_mul((size_t)width, (size_t)height, &n) || !size_mul(n, (size_t)channels, &n) ||
        !size_mul(n, (size_t)(bits / 8), &n))
        return NULL;
    return dp_calloc(n, 1);
}

dpsim_image *image_new(int width, int height)
{
    size_t n;
    if (!size_mul((size_t)width, (size_t)height, &n) || !size_mul(n, 3, &n))
        return NULL;
    dpsim_image *img = dp_calloc(1, sizeof *img);
    if (!img)
        return NULL;
    img->pixels = dp_calloc(n, sizeof *img->pixels);
    if (!img->pixels) {
        dp_free(img);
        return NULL;
    }
    img->width = width;
    img->height = height;
    return img;
}

// ---- detection and conversion ----

/* 1 if the first n bytes of data (n <= the pattern's length) agree with f's magic bytes */
static int matches(const image_format *f, const uint8_t *data, size_t n)
{
    size_t head = n < f->magic_len ? n : f->magic_len;
    if (memcmp(data, f->magic, head) != 0)
        return 0;
    if (!f->magic2 || n <= MAGIC2_OFFSET)
        return 1;
    size_t tail = n - MAGIC2_OFFSET < 4 ? n - MAGIC2_OFFSET : 4;
    return memcmp(data + MAGIC2_OFFSET, f->magic2, tail) == 0;
}

/* The format of data, or NULL. *partial is set when data is a strict prefix of a signature. */
static const image_format *detect(const uint8_t *data, size_t size, const image_format **partial)
{
    *partial = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const image_format *f = &formats[i];
        size_t need = f->magic2 ? MAGIC2_OFFSET + 4 : f->magic_len;
        if (size >= need && matches(f, data, need))
            return f;
        if (size < need && matches(f, data, size))
            *partial = f;
    }
    return NULL;
}

/* samples (H, W, C) interleaved, C in {1, 3} -> pixels (3, H, W) planar in [0, 1] */
static void to_planar(const raw_image *raw, float *pixels)
{
    size_t n = (size_t)raw->width * (size_t)raw->height;
    int ch = raw->channels;
    for (int c = 0; c < 3; c++) {
        float *plane = pixels + (size_t)c * n;
        size_t src_c = ch == 1 ? 0 : (size_t)c;
        if (raw->bits == 8) {
            const uint8_t *s = raw->samples;
            for (size_t i = 0; i < n; i++)
                plane[i] = (float)s[i * (size_t)ch + src_c] / 255.0f;
        } else {
            const uint16_t *s = raw->samples;
            for (size_t i = 0; i < n; i++)
                plane[i] = (float)s[i * (size_t)ch + src_c] / 65535.0f;
        }
    }
}

static dpsim_status read_memory(dpsim_ctx *ctx, const uint8_t *data, size_t size,
                                const char *name, dpsim_image **out)
{
    if (size == 0)
        return ctx_fail(ctx, DPSIM_E_FORMAT, "image '%s': empty file, expected " SUPPORTED_LIST,
                        name);
    const image_format *partial;
    const image_format *f = detect(data, size, &partial);
    if (!f && partial)
        return ctx_fail(ctx, DPSIM_E_FORMAT, "image '%s': truncated %s data (%zu bytes)", name,
                        partial->display, size);
    if (!f)
        return ctx_fail(ctx, DPSIM_E_FORMAT,
                        "image '%s': not a supported image (expected " SUPPORTED_LIST ")", name);
    raw_image raw;
    errbuf e;
    dpsim_status s = f->decode(data, size, &raw, &e);
    if (s != DPSIM_OK)
        return ctx_fail(ctx, s, "image '%s': %s", name, e.msg);
    dpsim_image *img = image_new(raw.width, raw.height);
    if (!img) {
        dp_free(raw.samples);
        return ctx_fail(ctx, DPSIM_E_NOMEM, "image '%s': out of memory for %dx%d pixels", name,
                        raw.width, raw.height);
    }
    to_planar(&raw, img->pixels);
    dp_free(raw.samples);
    img->src_channels = raw.src_channels;
    img->src_bits = raw.bits;
    img->alpha_dropped = raw.alpha_dropped;
    memcpy(img->format, f->name, strlen(f->name) + 1);
    *out = img;
    return DPSIM_OK;
}

// ---- public API ----

dpsim_status dpsim_image_read_memory(dpsim_ctx *ctx, const void *data, size_t size,
                                     const char *name, dpsim_image **out)
{
    ctx_clear(ctx);
    if (!name)
        name = "<memory>";
    if (!out || (!data && size > 0))
        return ctx_fail(ctx, DPSIM_E_INVAL, "image '%s': %s is NULL", name,
                        out ? "data" : "the output pointer");
    return read_memory(ctx, data, size, name, out);
}

dpsim_status dpsim_image_read(dpsim_ctx *ctx, const char *path, dpsim_image **out)
{
    ctx_clear(ctx);
    if (!path || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "image read: %s is NULL",
                        path ? "the output pointer" : "the path");
    uint8_t *data;
    size_t size;
    errbuf e;
    dpsim_status s = file_read_all(path, MAX_FILE_SIZE, &data, &size, &e);
    if (s != DPSIM_OK)
        return ctx_fail(ctx, s, "image %s", e.msg);
    s = read_memory(ctx, data, size, path, out);
    dp_free(data);
    return s;
}

dpsim_status dpsim_image_create(dpsim_ctx *ctx, int width, int height, dpsim_image **out)
{
    ctx_clear(ctx);
    if (!out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "image create: the output pointer is NULL");
    errbuf e;
    dpsim_status s = image_check_size(width, height, &e);
    if (s != DPSIM_OK)
        return ctx_fail(ctx, s == DPSIM_E_FORMAT ? DPSIM_E_INVAL : s, "image create: %s", e.msg);
    dpsim_image *img = image_new(width, height);
    if (!img)
        return ctx_fail(ctx, DPSIM_E_NOMEM, "image create: out of memory for %dx%d pixels",
                        width, height);
    *out = img;
    return DPSIM_OK;
}

void dpsim_image_free(dpsim_image *image)
{
    if (!image)
        return;
    dp_free(image->pixels);
    dp_free(image);
}
