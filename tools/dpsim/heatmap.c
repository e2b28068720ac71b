/*
 * heatmap.c - the distance map as pictures: a PNG heatmap with the inferno
 * colour scale from 0 (black) to the map's maximum (pale yellow), a colour
 * bar labelled with both ends, optionally blended over image A; and the raw
 * values as a NumPy .npy file.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

// ---- colour scale ----

/* matplotlib's inferno at 0, 1/8, ..., 1; linear in between */
static const uint8_t inferno[9][3] = {
    {0, 0, 4},      {31, 12, 72},  {85, 15, 109},  {136, 34, 106}, {186, 54, 85},
    {227, 89, 51},  {249, 140, 10}, {249, 201, 50}, {252, 255, 164},
};

static void colour(float t, uint8_t rgb[3])
{
    if (!(t > 0.0f))
        t = 0.0f;
    if (t > 1.0f)
        t = 1.0f;
    float pos = t * 8.0f;
    int i = (int)pos < 8 ? (int)pos : 7;
    float f = pos - (float)i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)lrintf((1.0f - f) * inferno[i][c] + f * inferno[i + 1][c]);
}

// ---- a 3x5 pixel font for the colour bar labels ----

static const char glyph_chars[] = "0123456789.e-+";
static const uint16_t glyphs[] = {
    /* rows top to bottom, 3 bits each (MSB = left) */
    075557, 026222, 071747, 071717, 055711, 074717, 074757, 071111, 075757, 075717,
    000002, 000765, 000700, 002720,
};

static void draw_text(uint8_t *rgb, int img_w, int img_h, int x0, int y0, int scale,
                      const char *text)
{
    for (int k = 0; text[k]; k++) {
        const char *at = strchr(glyph_chars, text[k]);
        if (!at)
            continue;
        uint16_t g = glyphs[at - glyph_chars];
        for (int row = 0; row < 5; row++)
            for (int col = 0; col < 3; col++) {
                if (!((g >> (3 * (4 - row) + (2 - col))) & 1))
                    continue;
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++) {
                        int x = x0 + (k * 4 + col) * scale + dx, y = y0 + row * scale + dy;
                        if (x >= 0 && x < img_w && y >= 0 && y < img_h)
                            memset(rgb + ((size_t)y * img_w + x) * 3, 255, 3);
                    }
            }
    }
}

// ---- heatmap ----

dpsim_status heatmap_write_png(dpsim_ctx *ctx, const char *path, const float *map, int w, int h,
                               const float *under)
{
    float max = 0.0f;
    for (size_t i = 0; i < (size_t)w * h; i++)
        max = map[i] > max ? map[i] : max;
    /* enlarge small maps (nearest neighbour) so they can be looked at */
    int side = w < h ? w : h, scale = 1;
    while (side * scale < 256 && (w > h ? w : h) * (scale + 1) <= 2048)
        scale++;
    const int font = 2, bar_gap = 8, bar_w = 16, label_w = 10 * 4 * font;
    const int map_w = w * scale, map_h = h * scale;
    const int out_w = map_w + bar_gap + bar_w + 6 + label_w, out_h = map_h < 40 ? 40 : map_h;
    uint8_t *rgb = calloc((size_t)out_w * out_h, 3); // (out_h, out_w, 3)
    if (!rgb)
        return DPSIM_E_NOMEM;
    for (int y = 0; y < map_h; y++)
        for (int x = 0; x < map_w; x++) {
            size_t src = (size_t)(y / scale) * w + x / scale;
            uint8_t c[3];
            colour(max > 0.0f ? map[src] / max : 0.0f, c);
            uint8_t *px = rgb + ((size_t)y * out_w + x) * 3;
            for (int k = 0; k < 3; k++) {
                float v = c[k];
                if (under)
                    v = 0.6f * v + 0.4f * 255.0f * under[(size_t)k * w * h + src];
                px[k] = (uint8_t)lrintf(v);
            }
        }
    for (int y = 0; y < out_h; y++) /* colour bar: max at the top, 0 at the bottom */
        for (int x = 0; x < bar_w; x++)
            colour(1.0f - (float)y / (float)(out_h - 1),
                   rgb + ((size_t)y * out_w + map_w + bar_gap + x) * 3);
    char label[32];
    snprintf(label, sizeof label, "%.3g", (double)max);
    draw_text(rgb, out_w, out_h, map_w + bar_gap + bar_w + 6, 0, font, label);
    draw_text(rgb, out_w, out_h, map_w + bar_gap + bar_w + 6, out_h - 5 * font, font, "0");
    dpsim_status s = dpsim_png_write_rgb8(ctx, path, rgb, out_w, out_h);
    free(rgb);
    return s;
}

// ---- .npy ----

int npy_write_f32(const char *path, const float *data, int h, int w, char *err, size_t err_len)
{
    char header[128];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", h, w);
    /* magic(6) + version(2) + len(2) + header + padding + '\n' is a multiple of 64 */
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    size_t size = (size_t)total + pad + (size_t)h * w * 4;
    uint8_t *buf = malloc(size);
    if (!buf) {
        snprintf(err, err_len, "'%s': out of memory", path);
        return -1;
    }
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    uint16_t hlen = (uint16_t)(n + pad + 1);
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, header, (size_t)n);
    memset(buf + 10 + n, ' ', (size_t)pad);
    buf[10 + n + pad] = '\n';
    uint8_t *p = buf + total + pad;
    for (size_t i = 0; i < (size_t)h * w; i++) {
        uint32_t bits;
        memcpy(&bits, &data[i], 4);
        for (int k = 0; k < 4; k++)
            *p++ = (uint8_t)(bits >> (8 * k));
    }
    dpsim_ctx *ctx = NULL;
    int rc = 0;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK) {
        snprintf(err, err_len, "'%s': out of memory", path);
        rc = -1;
    } else if (dpsim_file_write_atomic(ctx, path, buf, size) != DPSIM_OK) {
        snprintf(err, err_len, "%s", dpsim_ctx_last_error(ctx));
        rc = -1;
    }
    dpsim_ctx_free(ctx);
    free(buf);
    return rc;
}
