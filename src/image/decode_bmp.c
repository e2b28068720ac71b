/*
 * decode_bmp.c - a defensive BMP parser -> 8-bit RGB. BITMAPINFOHEADER and its
 * V2-V5 extensions; 1/4/8-bit palettised, 16/32-bit BI_RGB or BI_BITFIELDS,
 * 24-bit; bottom-up or top-down. RLE, embedded JPEG/PNG and OS/2 are refused.
 * Every offset and size is checked first: the whole padded pixel array must fit.
 */
#include <string.h>

#include "core/alloc.h"
#include "image/image_decode.h"

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3, BI_JPEG = 4, BI_PNG = 5,
       BI_ALPHABITFIELDS = 6 };

#define FILE_HEADER 14

typedef struct bitfield {
    uint32_t mask;
    int shift;     /* position of the lowest set bit */
    uint32_t max;  /* mask >> shift, the largest field value */
} bitfield;

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 0 if mask is zero or its set bits are not contiguous */
static int bitfield_init(bitfield *f, uint32_t mask)
{
    if (mask == 0)
        return 0;
    int shift = 0;
    while (!(mask >> shift & 1))
        shift++;
    uint32_t max = mask >> shift;
    if ((max & (max + 1)) != 0) /* not of the form 2^k - 1 */
        return 0;
    f->mask = mask;
    f->shift = shift;
    f->max = max;
    return 1;
}

/* A field scaled to 0..255 with rounding: (v * 255 + max / 2) / max. */
static uint8_t bitfield_get(const bitfield *f, uint32_t pixel)
{
    uint64_t v = (pixel & f->mask) >> f->shift;
    return (uint8_t)((v * 255 + f->max / 2) / f->max);
}

typedef struct bmp_info {
    int64_t width;
    int64_t height;    /* > 0, rows stored bottom-up unless top_down */
    int top_down;
    int bpp;
    uint32_t compression;
    uint32_t masks[4]; /* R, G, B, A; used for 16/32-bit */
    size_t palette_off;
    uint32_t palette_len;
    size_t pixel_off;
} bmp_info;

static dpsim_status parse_header(const uint8_t *d, size_t size, bmp_info *bi, errbuf *e)
{
    if (size < FILE_HEADER + 4)
        return err_set(e, DPSIM_E_FORMAT, "truncated BMP data (%zu bytes), expected a header",
                       size);
    uint32_t hsize = le32(d + FILE_HEADER);
    if (hsize == 12 || hsize == 64)
        return err_set(e, DPSIM_E_UNSUPPORTED,
                       "OS/2 BMP header (%u bytes) is not supported, expected a "
                       "BITMAPINFOHEADER (40 bytes) or a V4/V5 header",
                       (unsigned)hsize);
    if (hsize != 40 && hsize != 52 && hsize != 56 && hsize != 108 && hsize != 124)
        return err_set(e, DPSIM_E_FORMAT,
                       "unknown BMP header size %u, expected 40, 52, 56, 108 or 124",
                       (unsigned)hsize);
    if (size < FILE_HEADER + (size_t)hsize)
        return err_set(e, DPSIM_E_FORMAT, "truncated BMP header (%zu bytes), expected %u",
                       size, (unsigned)(FILE_HEADER + hsize));
    const uint8_t *h = d + FILE_HEADER;
    bi->width = (int32_t)le32(h + 4);
    int64_t height = (int32_t)le32(h + 8);
    bi->top_down = height < 0;
    bi->height = height < 0 ? -height : height;
    bi->bpp = (int)le16(h + 14);
    bi->compression = le32(h + 16);
    uint32_t colors_used = le32(h + 32);
    bi->pixel_off = le32(d + 10);

    if (bi->compression == BI_RLE8 || bi->compression == BI_RLE4)
        return err_set(e, DPSIM_E_UNSUPPORTED,
                       "RLE-compressed BMP is not supported, expected uncompressed (BI_RGB or "
                       "BI_BITFIELDS)");
    if (bi->compression == BI_JPEG || bi->compression == BI_PNG)
        return err_set(e, DPSIM_E_UNSUPPORTED,
                       "BMP with embedded JPEG/PNG data is not supported, expected "
                       "uncompressed (BI_RGB or BI_BITFIELDS)");
    if (bi->compression != BI_RGB && bi->compression != BI_BITFIELDS &&
        bi->compression != BI_ALPHABITFIELDS)
        return err_set(e, DPSIM_E_FORMAT, "unknown BMP compression %u, expected 0 (BI_RGB) or "
                       "3 (BI_BITFIELDS)", (unsigned)bi->compression);
    int fields = bi->compression != BI_RGB;
    switch (bi->bpp) {
    case 1: case 4: case 8: case 24:
        if (fields)
            return err_set(e, DPSIM_E_FORMAT,
                           "%d-bit BMP with bit fields, expected bit fields only at 16 or 32 bits",
                           bi->bpp);
        break;
    case 16: case 32:
        break;
    default:
        return err_set(e, DPSIM_E_FORMAT,
                       "BMP with %d bits per pixel, expected 1, 4, 8, 16, 24 or 32", bi->bpp);
    }

    /* the masks: in the header (V2+) or in the 12/16 bytes after a 40-byte header */
    size_t after = FILE_HEADER + (size_t)hsize;
    if (fields) {
        const uint8_t *m = h + 40;
        size_t nmasks = bi->compression == BI_ALPHABITFIELDS ? 4 : 3;
        if (hsize == 40) {
            if (size < after + 4 * nmasks)
                return err_set(e, DPSIM_E_FORMAT, "truncated BMP bit field masks");
            m = d + after;
            after += 4 * nmasks;
        } else {
            nmasks = hsize >= 56 ? 4 : 3;
        }
        for (size_t i = 0; i < nmasks; i++)
            bi->masks[i] = le32(m + 4 * i);
    } else if (bi->bpp == 16) {
        bi->masks[0] = 0x7c00, bi->masks[1] = 0x03e0, bi->masks[2] = 0x001f;
    } else if (bi->bpp == 32) {
        bi->masks[0] = 0xff0000, bi->masks[1] = 0x00ff00, bi->masks[2] = 0x0000ff;
    }

    if (bi->pixel_off < after)
        return err_set(e, DPSIM_E_FORMAT,
                       "BMP pixel data offset %zu overlaps the headers, expected at least %zu",
                       bi->pixel_off, after);
    if (bi->bpp <= 8) {
        /* biClrUsed entries (0: all 2^bpp), fewer if the pixel data starts earlier */
        uint32_t max_colors = 1u << bi->bpp;
        bi->palette_len = colors_used == 0 || colors_used > max_colors ? max_colors : colors_used;
        if ((bi->pixel_off - after) / 4 < bi->palette_len)
            bi->palette_len = (uint32_t)((bi->pixel_off - after) / 4);
        bi->palette_off = after;
        if (bi->palette_off > size || size - bi->palette_off < (size_t)bi->palette_len * 4)
            return err_set(e, DPSIM_E_FORMAT,
                           "truncated BMP palette, expected %u entries at offset %zu",
                           (unsigned)bi->palette_len, bi->palette_off);
    }
    return DPSIM_OK;
}

/* one row of src (width pixels at bpp) -> dst (width, 3) RGB */
static void convert_row(const bmp_info *bi, const bitfield *f, const uint8_t *pal,
                        const uint8_t *src, uint8_t *dst, int width)
{
    for (int x = 0; x < width; x++, dst += 3) {
        if (bi->bpp <= 8) {
            int bit = x * bi->bpp;
            unsigned idx = (src[bit >> 3] >> (8 - bi->bpp - (bit & 7))) & ((1u << bi->bpp) - 1);
            if (idx < bi->palette_len) {
                const uint8_t *c = pal + 4 * (size_t)idx; /* B, G, R, reserved */
                dst[0] = c[2], dst[1] = c[1], dst[2] = c[0];
            } else {
                dst[0] = dst[1] = dst[2] = 0; /* index past the palette: black */
            }
        } else if (bi->bpp == 24) {
            const uint8_t *p = src + 3 * (size_t)x;
            dst[0] = p[2], dst[1] = p[1], dst[2] = p[0];
        } else {
            uint32_t v = bi->bpp == 16 ? le16(src + 2 * (size_t)x) : le32(src + 4 * (size_t)x);
            for (int c = 0; c < 3; c++)
                dst[c] = bitfield_get(&f[c], v);
        }
    }
}

dpsim_status decode_bmp(const uint8_t *data, size_t size, raw_image *out, errbuf *e)
{
    bmp_info bi;
    memset(&bi, 0, sizeof bi);
    dpsim_status s = parse_header(data, size, &bi, e);
    if (s != DPSIM_OK)
        return s;
    s = image_check_size(bi.width, bi.height, e);
    if (s != DPSIM_OK)
        return s;
    bitfield f[3] = {{0, 0, 1}, {0, 0, 1}, {0, 0, 1}};
    int has_alpha = 0;
    if (bi.bpp == 16 || bi.bpp == 32) {
        static const char *const names[3] = {"red", "green", "blue"};
        for (int c = 0; c < 3; c++)
            if (!bitfield_init(&f[c], bi.masks[c]))
                return err_set(e, DPSIM_E_FORMAT,
                               "BMP %s mask 0x%08x is empty or not contiguous, expected one run "
                               "of bits",
                               names[c], (unsigned)bi.masks[c]);
        has_alpha = bi.compression != BI_RGB && bi.masks[3] != 0;
    }
    /* width <= DPSIM_MAX_SIDE, so none of this overflows 64 bits */
    uint64_t stride = ((uint64_t)bi.width * (uint64_t)bi.bpp + 31) / 32 * 4;
    uint64_t need = stride * (uint64_t)bi.height;
    if (bi.pixel_off > size || need > size - bi.pixel_off)
        return err_set(e, DPSIM_E_FORMAT,
                       "truncated BMP pixel data, expected %llu bytes at offset %zu in a "
                       "%zu-byte file",
                       (unsigned long long)need, bi.pixel_off, size);

    int width = (int)bi.width, height = (int)bi.height;
    uint8_t *rgb = image_samples_alloc(width, height, 3, 8); /* (height, width, 3) */
    if (!rgb)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for %dx%d pixels", width, height);
    const uint8_t *pal = data + bi.palette_off;
    for (int y = 0; y < height; y++) {
        int file_row = bi.top_down ? y : height - 1 - y;
        const uint8_t *src = data + bi.pixel_off + (size_t)file_row * (size_t)stride;
        convert_row(&bi, f, pal, src, rgb + (size_t)y * (size_t)width * 3, width);
    }
    out->width = width;
    out->height = height;
    out->channels = 3;
    out->bits = 8;
    out->src_channels = has_alpha ? 4 : 3;
    out->alpha_dropped = has_alpha;
    out->samples = rgb;
    return DPSIM_OK;
}
