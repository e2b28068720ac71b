/*
 * decode_jpeg.c - JPEG through the libjpeg API (libjpeg-turbo) from memory ->
 * 8-bit gray or RGB (YCbCr/RGB, baseline or progressive). CMYK/YCCK is refused:
 * converting it needs colour management. libjpeg errors longjmp back here, and
 * so do warnings about missing or corrupt data; harmless warnings are ignored.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "core/alloc.h"
#include "image/image_decode.h"

/* More scans than this in a progressive file is a denial-of-service pattern (libjpeg-turbo's
   TurboJPEG API refuses more than 500). */
#define MAX_SCANS 1000

typedef struct jpeg_state {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jmp;
    int truncated;          /* libjpeg reported the end of the data */
    char msg[JMSG_LENGTH_MAX];
    uint8_t *samples;       /* (height, width, channels) 8-bit */
} jpeg_state;

static void fail_now(j_common_ptr cinfo)
{
    jpeg_state *st = cinfo->client_data;
    (*cinfo->err->format_message)(cinfo, st->msg);
    longjmp(st->jmp, 1);
}

/* Warnings about missing or corrupt entropy data are errors: libjpeg would fill the
   rest of the image with gray. Harmless ones (extraneous bytes, odd markers) pass. */
static void on_emit(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        ((jpeg_state *)cinfo->client_data)->truncated = 1;
        fail_now(cinfo);
        break;
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_NOT_SEQUENTIAL:
        fail_now(cinfo);
        break;
    default:
        break;
    }
}

static void on_output(j_common_ptr cinfo) { (void)cinfo; }

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_state *st = cinfo->client_data;
        snprintf(st->msg, sizeof st->msg, "more than %d scans", MAX_SCANS);
        longjmp(st->jmp, 1);
    }
}

/* The libjpeg part: every libjpeg call happens between the setjmp and the return. */
static dpsim_status decode(jpeg_state *st, const uint8_t *data, size_t size, raw_image *out,
                           errbuf *e)
{
    if (setjmp(st->jmp))
        return err_set(e, DPSIM_E_FORMAT, "%s JPEG data (libjpeg: %s)",
                       st->truncated ? "truncated" : "malformed, corrupt or unsupported",
                       st->msg);
    j_decompress_ptr cinfo = &st->cinfo;
    if (size > ULONG_MAX)
        return err_set(e, DPSIM_E_LIMIT, "JPEG data of %zu bytes, expected at most %lu", size,
                       ULONG_MAX);
    jpeg_create_decompress(cinfo);
    cinfo->progress = &st->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    dpsim_status s = image_check_size(cinfo->image_width, cinfo->image_height, e);
    if (s != DPSIM_OK)
        return s;

    int channels;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        channels = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        return err_set(e, DPSIM_E_UNSUPPORTED,
                       "CMYK JPEG is not supported (it needs colour management), expected a "
                       "gray or YCbCr JPEG; convert it to RGB first");
    default:
        return err_set(e, DPSIM_E_UNSUPPORTED,
                       "JPEG colour space %d with %d components is not supported, expected a "
                       "gray or YCbCr JPEG",
                       (int)cinfo->jpeg_color_space, cinfo->num_components);
    }
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != channels || cinfo->output_width != cinfo->image_width ||
        cinfo->output_height != cinfo->image_height)
        return err_set(e, DPSIM_E_FORMAT,
                       "unexpected decoded layout (%d components, %ux%u), expected %d at %ux%u",
                       cinfo->output_components, (unsigned)cinfo->output_width,
                       (unsigned)cinfo->output_height, channels, (unsigned)cinfo->image_width,
                       (unsigned)cinfo->image_height);
    int width = (int)cinfo->output_width, height = (int)cinfo->output_height;
    st->samples = image_samples_alloc(width, height, channels, 8);
    if (!st->samples)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for %dx%d pixels", width, height);
    size_t row_bytes = (size_t)width * (size_t)channels;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = st->samples + (size_t)cinfo->output_scanline * row_bytes;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);

    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bits = 8;
    out->src_channels = channels;
    out->alpha_dropped = 0;
    out->samples = st->samples;
    st->samples = NULL;
    return DPSIM_OK;
}

dpsim_status decode_jpeg(const uint8_t *data, size_t size, raw_image *out, errbuf *e)
{
    jpeg_state st;
    memset(&st, 0, sizeof st);
    st.cinfo.err = jpeg_std_error(&st.jerr);
    st.jerr.error_exit = fail_now;
    st.jerr.emit_message = on_emit;
    st.jerr.output_message = on_output;
    st.progress.progress_monitor = on_progress;
    st.cinfo.client_data = &st;
    raw_image raw;
    dpsim_status s = decode(&st, data, size, &raw, e);
    jpeg_destroy_decompress(&st.cinfo);
    dp_free(st.samples);
    if (s == DPSIM_OK)
        *out = raw;
    return s;
}
