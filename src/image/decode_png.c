/*
 * decode_png.c - PNG through libpng from memory -> 8/16-bit gray or RGB (16 bits
 * kept). Palettes expand to RGB, 1/2/4-bit gray scales to 8 bits, alpha and tRNS
 * are dropped, no gamma is applied, Adam7 is de-interlaced. libpng errors longjmp
 * back here with their message stored; warnings are ignored; nothing is printed.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "image/image_decode.h"

typedef struct png_state {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t pos;
    int truncated;       /* the reader ran past the end of the data */
    char msg[256];       /* libpng's last error message */
    jmp_buf jmp;
    uint8_t *samples;    /* (height, width, channels) at 8 or 16 bits */
    png_bytep *rows;     /* (height) pointers into samples */
} png_state;

static void on_error(png_structp png, png_const_charp msg)
{
    png_state *st = png_get_error_ptr(png);
    snprintf(st->msg, sizeof st->msg, "%s", msg);
    longjmp(st->jmp, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void read_mem(png_structp png, png_bytep dst, size_t n)
{
    png_state *st = png_get_io_ptr(png);
    if (n > st->size - st->pos) {
        st->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(dst, st->data + st->pos, n);
    st->pos += n;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* The libpng part: every libpng call happens between the setjmp and the return. */
static dpsim_status decode(png_state *st, raw_image *out, errbuf *e)
{
    if (setjmp(st->jmp))
        return err_set(e, DPSIM_E_FORMAT, "%s PNG data (libpng: %s)",
                       st->truncated ? "truncated" : "malformed", st->msg);
    png_structp png = st->png;
    png_infop info = st->info;
    png_set_read_fn(png, st, read_mem);
    /* our own limits decide (DPSIM_E_LIMIT), not libpng's default 1e6 per side */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(png, info);

    png_uint_32 width, height;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &width, &height, &depth, &ctype, &interlace, NULL, NULL);
    dpsim_status s = image_check_size(width, height, e);
    if (s != DPSIM_OK)
        return s;
    int trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    int gray = (ctype & PNG_COLOR_MASK_COLOR) == 0;
    int alpha = (ctype & PNG_COLOR_MASK_ALPHA) != 0 || trns;

    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (gray && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (alpha)
        png_set_strip_alpha(png);
    if (depth == 16 && host_is_little_endian())
        png_set_swap(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    int bits = png_get_bit_depth(png, info);
    size_t row_bytes = (size_t)width * (size_t)channels * (size_t)(bits / 8);
    if ((channels != 1 && channels != 3) || (bits != 8 && bits != 16) ||
        png_get_rowbytes(png, info) != row_bytes)
        return err_set(e, DPSIM_E_FORMAT,
                       "unexpected decoded layout (%d channels, %d bits), expected gray or RGB "
                       "at 8 or 16 bits",
                       channels, bits);
    st->samples = image_samples_alloc((int)width, (int)height, channels, bits);
    st->rows = dp_malloc(sizeof *st->rows * height);
    if (!st->samples || !st->rows)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for %ux%u pixels", (unsigned)width,
                       (unsigned)height);
    for (png_uint_32 y = 0; y < height; y++)
        st->rows[y] = st->samples + (size_t)y * row_bytes;
    png_read_image(png, st->rows);
    png_read_end(png, NULL);

    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    out->bits = bits;
    out->src_channels = (gray ? 1 : 3) + (alpha ? 1 : 0);
    out->alpha_dropped = alpha;
    out->samples = st->samples;
    st->samples = NULL;
    return DPSIM_OK;
}

dpsim_status decode_png(const uint8_t *data, size_t size, raw_image *out, errbuf *e)
{
    png_state st;
    memset(&st, 0, sizeof st);
    st.data = data;
    st.size = size;
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
    if (st.png)
        st.info = png_create_info_struct(st.png);
    if (!st.png || !st.info) {
        png_destroy_read_struct(st.png ? &st.png : NULL, NULL, NULL);
        return err_set(e, DPSIM_E_NOMEM, "out of memory for the PNG decoder");
    }
    raw_image raw;
    dpsim_status s = decode(&st, &raw, e);
    png_destroy_read_struct(&st.png, &st.info, NULL);
    dp_free(st.rows);
    dp_free(st.samples);
    if (s == DPSIM_OK)
        *out = raw;
    return s;
}
