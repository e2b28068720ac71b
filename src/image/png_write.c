/*
 * png_write.c - dpsim_png_write_rgb8: 8-bit RGB PNG through libpng into an
 * atomic_file: the destination appears complete or not at all, and an existing
 * file is replaced only on success. libpng errors longjmp back here, unprinted.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "core/ctx.h"
#include "core/fileio.h"
#include "image/image_decode.h"

typedef struct png_writer {
    png_structp png;
    png_infop info;
    char msg[256]; /* libpng's last error message */
    jmp_buf jmp;
} png_writer;

static void on_error(png_structp png, png_const_charp msg)
{
    png_writer *w = png_get_error_ptr(png);
    snprintf(w->msg, sizeof w->msg, "%s", msg);
    longjmp(w->jmp, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* rgb: (height, width, 3) interleaved, rows packed. Every libpng call is in here. */
static int write_png(png_writer *w, FILE *fp, const uint8_t *rgb, int width, int height)
{
    if (setjmp(w->jmp))
        return 0;
    png_init_io(w->png, fp);
    png_set_IHDR(w->png, w->info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    for (int y = 0; y < height; y++)
        png_write_row(w->png, rgb + (size_t)y * (size_t)width * 3);
    png_write_end(w->png, w->info);
    return 1;
}

dpsim_status dpsim_png_write_rgb8(dpsim_ctx *ctx, const char *path, const uint8_t *rgb,
                                  int width, int height)
{
    ctx_clear(ctx);
    if (!path || !rgb)
        return ctx_fail(ctx, DPSIM_E_INVAL, "png write: %s is NULL",
                        path ? "the pixel buffer" : "the path");
    errbuf e;
    dpsim_status s = image_check_size(width, height, &e);
    if (s != DPSIM_OK)
        return ctx_fail(ctx, s == DPSIM_E_FORMAT ? DPSIM_E_INVAL : s, "image '%s': %s", path,
                        e.msg);
    atomic_file f;
    s = atomic_file_open(&f, path, &e);
    if (s != DPSIM_OK)
        return ctx_fail(ctx, s, "image %s", e.msg);
    png_writer w;
    memset(&w, 0, sizeof w);
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_error, on_warning);
    if (w.png)
        w.info = png_create_info_struct(w.png);
    if (!w.png || !w.info) {
        png_destroy_write_struct(w.png ? &w.png : NULL, NULL);
        atomic_file_abort(&f);
        return ctx_fail(ctx, DPSIM_E_NOMEM, "image '%s': out of memory for the PNG encoder",
                        path);
    }
    int ok = write_png(&w, f.fp, rgb, width, height);
    png_destroy_write_struct(&w.png, &w.info);
    if (!ok) {
        atomic_file_abort(&f);
        return ctx_fail(ctx, DPSIM_E_IO, "image '%s': writing PNG failed (libpng: %s)", path,
                        w.msg);
    }
    s = atomic_file_commit(&f, &e);
    if (s != DPSIM_OK)
        return ctx_fail(ctx, s, "image %s", e.msg);
    return DPSIM_OK;
}
