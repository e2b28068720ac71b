/*
 * decode_gif.c - GIF through giflib from memory -> 8-bit RGB of the first frame
 * drawn on a black logical screen at its position (clipped), with its local or
 * the global colour map. The rest of the file is walked without decoding, so a
 * truncated file fails.
 */
#include <string.h>

#include <gif_lib.h>

#include "core/alloc.h"
#include "image/image_decode.h"

typedef struct mem_reader {
    const uint8_t *data;
    size_t size;
    size_t pos;
} mem_reader;

static int read_mem(GifFileType *gif, GifByteType *dst, int len)
{
    mem_reader *r = gif->UserData;
    size_t n = len > 0 ? (size_t)len : 0;
    if (n > r->size - r->pos)
        n = r->size - r->pos;
    memcpy(dst, r->data + r->pos, n);
    r->pos += n;
    return (int)n;
}

static dpsim_status gif_fail(int code, errbuf *e)
{
    const char *why = GifErrorString(code);
    return err_set(e, DPSIM_E_FORMAT, "%s GIF data (giflib: %s)",
                   code == D_GIF_ERR_READ_FAILED ? "truncated" : "malformed",
                   why ? why : "unknown error");
}

/* Skip the data blocks of an extension whose first block is ext. */
static int skip_extension(GifFileType *gif, GifByteType *ext)
{
    while (ext)
        if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR)
            return GIF_ERROR;
    return GIF_OK;
}

/*
 * Decode the frame whose descriptor was just read onto canvas (SHeight, SWidth, 3).
 * Transparent pixels are not drawn, so they stay black (the GIF background colour
 * is ignored, as browsers do); indices past the colour map are black too.
 */
static dpsim_status draw_frame(GifFileType *gif, int transparent, uint8_t *canvas, errbuf *e)
{
    const GifImageDesc *d = &gif->Image;
    dpsim_status s = image_check_size(d->Width, d->Height, e);
    if (s != DPSIM_OK) {
        err_prefix(e, "first GIF frame");
        return s;
    }
    const ColorMapObject *map = d->ColorMap ? d->ColorMap : gif->SColorMap;
    if (!map)
        return err_set(e, DPSIM_E_FORMAT, "GIF frame without a colour map, expected a local "
                       "or global colour table");
    GifPixelType *line = dp_malloc((size_t)d->Width); /* (frame width) colour indices */
    if (!line)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a GIF line");
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    int passes = d->Interlace ? 4 : 1;
    int sw = gif->SWidth, sh = gif->SHeight;
    for (int pass = 0; pass < passes; pass++) {
        int first = d->Interlace ? start[pass] : 0, inc = d->Interlace ? step[pass] : 1;
        for (int row = first; row < d->Height; row += inc) {
            if (DGifGetLine(gif, line, d->Width) == GIF_ERROR) {
                dp_free(line);
                return gif_fail(gif->Error, e);
            }
            int y = d->Top + row;
            if (y < 0 || y >= sh)
                continue;
            for (int x = 0; x < d->Width; x++) {
                int cx = d->Left + x, idx = line[x];
                if (cx < 0 || cx >= sw || idx == transparent || idx >= map->ColorCount)
                    continue;
                uint8_t *px = canvas + ((size_t)y * (size_t)sw + (size_t)cx) * 3;
                px[0] = map->Colors[idx].Red;
                px[1] = map->Colors[idx].Green;
                px[2] = map->Colors[idx].Blue;
            }
        }
    }
    dp_free(line);
    return DPSIM_OK;
}

/* Walk the records: draw the first frame, skip everything else up to the trailer. */
static dpsim_status walk(GifFileType *gif, uint8_t *canvas, int *alpha, errbuf *e)
{
    int transparent = NO_TRANSPARENT_COLOR, drawn = 0;
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR)
            return gif_fail(gif->Error, e);
        if (type == TERMINATE_RECORD_TYPE)
            break;
        if (type == EXTENSION_RECORD_TYPE) {
            int code;
            GifByteType *ext;
            if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR)
                return gif_fail(gif->Error, e);
            GraphicsControlBlock gcb;
            if (!drawn && code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] == 4 &&
                DGifExtensionToGCB(4, ext + 1, &gcb) == GIF_OK)
                transparent = gcb.TransparentColor;
            if (skip_extension(gif, ext) == GIF_ERROR)
                return gif_fail(gif->Error, e);
        } else if (type == IMAGE_DESC_RECORD_TYPE) {
            if (DGifGetImageDesc(gif) == GIF_ERROR)
                return gif_fail(gif->Error, e);
            if (!drawn) {
                dpsim_status s = draw_frame(gif, transparent, canvas, e);
                if (s != DPSIM_OK)
                    return s;
                drawn = 1;
                continue;
            }
            int code_size;
            GifByteType *block;
            if (DGifGetCode(gif, &code_size, &block) == GIF_ERROR)
                return gif_fail(gif->Error, e);
            while (block)
                if (DGifGetCodeNext(gif, &block) == GIF_ERROR)
                    return gif_fail(gif->Error, e);
        }
    }
    if (!drawn)
        return err_set(e, DPSIM_E_FORMAT, "GIF without an image, expected at least one frame");
    *alpha = transparent != NO_TRANSPARENT_COLOR;
    return DPSIM_OK;
}

dpsim_status decode_gif(const uint8_t *data, size_t size, raw_image *out, errbuf *e)
{
    mem_reader r = {data, size, 0};
    int code = 0;
    GifFileType *gif = DGifOpen(&r, read_mem, &code);
    if (!gif)
        return gif_fail(code, e);
    dpsim_status s = image_check_size(gif->SWidth, gif->SHeight, e);
    uint8_t *canvas = NULL; /* (SHeight, SWidth, 3) */
    if (s == DPSIM_OK) {
        canvas = image_samples_alloc(gif->SWidth, gif->SHeight, 3, 8);
        if (!canvas)
            s = err_set(e, DPSIM_E_NOMEM, "out of memory for %dx%d pixels", gif->SWidth,
                        gif->SHeight);
    }
    int alpha = 0;
    if (s == DPSIM_OK)
        s = walk(gif, canvas, &alpha, e);
    int width = gif->SWidth, height = gif->SHeight;
    DGifCloseFile(gif, &code);
    if (s != DPSIM_OK) {
        dp_free(canvas);
        return s;
    }
    out->width = width;
    out->height = height;
    out->channels = 3;
    out->bits = 8;
    out->src_channels = alpha ? 4 : 3;
    out->alpha_dropped = alpha;
    out->samples = canvas;
    return DPSIM_OK;
}
