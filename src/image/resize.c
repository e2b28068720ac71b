/*
 * resize.c - dpsim_image_resize (separable antialiased bilinear, exactly as
 * PyTorch's, defined below) and dpsim_image_crop_center (a window at
 * ((in_w - w) / 2, (in_h - h) / 2), rounded down). Sums are in double.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "image/image_decode.h"

/*
 * Resize is defined as torch.nn.functional.interpolate(x, size=(h, w),
 * mode='bilinear', align_corners=False, antialias=True), which is separable;
 * along an axis of in -> out samples, with scale = in / out:
 *   support  = scale >= 1 ? scale : 1          (the triangle widens when shrinking)
 *   invscale = scale >= 1 ? 1 / scale : 1
 *   center   = scale * (i + 0.5)               for output index i
 *   xmin     = max((int64)(center - support + 0.5), 0)      (truncation toward zero)
 *   xsize    = min((int64)(center + support + 0.5), in) - xmin
 *   w_j      = tri((xmin + j - center + 0.5) * invscale), tri(t) = max(0, 1 - |t|),
 *              j < xsize, then divided by their sum
 *   out[i]   = sum_j w_j in[xmin + j]
 * When enlarging this is exactly bilinear with align_corners=False (source
 * coordinate (i + 0.5) * scale - 0.5, clamped at the borders); an unchanged
 * size is the identity. Width is filtered first, then height.
 */
typedef struct axis_filter {
    int taps;       /* maximum taps per output sample */
    int *first;     /* (out) first input index of each output sample */
    int *count;     /* (out) number of taps used, <= taps */
    double *weight; /* (out, taps) normalised weights, row-major */
} axis_filter;

static double tri(double t)
{
    t = fabs(t);
    return t < 1.0 ? 1.0 - t : 0.0;
}

static void axis_filter_free(axis_filter *f)
{
    dp_free(f->first);
    dp_free(f->count);
    dp_free(f->weight);
    memset(f, 0, sizeof *f);
}

/* 0 when out of memory */
static int axis_filter_init(axis_filter *f, int in, int out)
{
    double scale = (double)in / out;
    double support = scale >= 1.0 ? scale : 1.0;
    double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    f->taps = (int)ceil(support) * 2 + 1;
    size_t n;
    f->first = dp_malloc(sizeof *f->first * (size_t)out);
    f->count = dp_malloc(sizeof *f->count * (size_t)out);
    f->weight = size_mul((size_t)out, (size_t)f->taps, &n) && size_mul(n, sizeof(double), &n)
                    ? dp_malloc(n)
                    : NULL;
    if (!f->first || !f->count || !f->weight) {
        axis_filter_free(f);
        return 0;
    }
    for (int i = 0; i < out; i++) {
        double center = scale * (i + 0.5);
        int64_t xmin = (int64_t)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int64_t xend = (int64_t)(center + support + 0.5);
        if (xend > in)
            xend = in;
        int64_t xsize = xend - xmin;
        if (xsize > f->taps)
            xsize = f->taps;
        if (xsize < 0)
            xsize = 0;
        double *w = f->weight + (size_t)i * (size_t)f->taps;
        double total = 0.0;
        for (int64_t j = 0; j < xsize; j++) {
            w[j] = tri(((double)(xmin + j) - center + 0.5) * invscale);
            total += w[j];
        }
        if (total != 0.0)
            for (int64_t j = 0; j < xsize; j++)
                w[j] /= total;
        f->first[i] = (int)xmin;
        f->count[i] = (int)xsize;
    }
    return 1;
}

/* src (rows, in_w) -> dst (rows, out_w) along the row */
static void filter_rows(const axis_filter *f, const float *src, int rows, int in_w, double *dst,
                        int out_w)
{
    for (int y = 0; y < rows; y++) {
        const float *s = src + (size_t)y * (size_t)in_w;
        double *d = dst + (size_t)y * (size_t)out_w;
        for (int x = 0; x < out_w; x++) {
            const double *w = f->weight + (size_t)x * (size_t)f->taps;
            const float *p = s + f->first[x];
            double acc = 0.0;
            for (int j = 0; j < f->count[x]; j++)
                acc += w[j] * p[j];
            d[x] = acc;
        }
    }
}

/* src (in_h, cols) -> dst (out_h, cols) along the column; acc is (cols) scratch */
static void filter_cols(const axis_filter *f, const double *src, int cols, float *dst, int out_h,
                        double *acc)
{
    for (int y = 0; y < out_h; y++) {
        const double *w = f->weight + (size_t)y * (size_t)f->taps;
        for (int x = 0; x < cols; x++)
            acc[x] = 0.0;
        for (int j = 0; j < f->count[y]; j++) {
            const double *s = src + (size_t)(f->first[y] + j) * (size_t)cols;
            for (int x = 0; x < cols; x++)
                acc[x] += w[j] * s[x];
        }
        float *d = dst + (size_t)y * (size_t)cols;
        for (int x = 0; x < cols; x++)
            d[x] = (float)acc[x];
    }
}

static dpsim_status check_input(dpsim_ctx *ctx, const char *what, const dpsim_image *in,
                                int width, int height, dpsim_image **out)
{
    if (!in || !out || !in->pixels)
        return ctx_fail(ctx, DPSIM_E_INVAL, "image %s: %s is NULL", what,
                        !in ? "the input image" : !out ? "the output pointer" : "the pixels");
    if (in->width <= 0 || in->height <= 0)
        return ctx_fail(ctx, DPSIM_E_INVAL, "image %s: the input size %dx%d is invalid, "
                        "expected at least 1x1", what, in->width, in->height);
    errbuf e;
    dpsim_status s = image_check_size(width, height, &e);
    if (s != DPSIM_OK)
        return ctx_fail(ctx, s == DPSIM_E_FORMAT ? DPSIM_E_INVAL : s, "image %s: target %s",
                        what, e.msg);
    return DPSIM_OK;
}

static void copy_description(dpsim_image *dst, const dpsim_image *src)
{
    dst->src_channels = src->src_channels;
    dst->src_bits = src->src_bits;
    dst->alpha_dropped = src->alpha_dropped;
    memcpy(dst->format, src->format, sizeof dst->format);
    dst->format[sizeof dst->format - 1] = '\0';
}

dpsim_status dpsim_image_resize(dpsim_ctx *ctx, const dpsim_image *in, int width, int height,
                                dpsim_image **out)
{
    ctx_clear(ctx);
    dpsim_status s = check_input(ctx, "resize", in, width, height, out);
    if (s != DPSIM_OK)
        return s;
    int in_w = in->width, in_h = in->height;
    size_t in_n = (size_t)in_w * (size_t)in_h, mid_n, out_n = (size_t)width * (size_t)height;
    axis_filter fx = {0}, fy = {0};
    double *mid = NULL, *acc = NULL;
    dpsim_image *img = NULL;
    int ok = size_mul((size_t)in_h, (size_t)width, &mid_n) &&
             axis_filter_init(&fx, in_w, width) && axis_filter_init(&fy, in_h, height);
    if (ok) {
        mid = dp_malloc(sizeof *mid * mid_n);            /* (in_h, width) one channel */
        acc = dp_malloc(sizeof *acc * (size_t)width);    /* (width) */
        img = image_new(width, height);
        ok = mid && acc && img;
    }
    if (ok) {
        for (int c = 0; c < 3; c++) {
            filter_rows(&fx, in->pixels + (size_t)c * in_n, in_h, in_w, mid, width);
            filter_cols(&fy, mid, width, img->pixels + (size_t)c * out_n, height, acc);
        }
        copy_description(img, in);
    }
    axis_filter_free(&fx);
    axis_filter_free(&fy);
    dp_free(mid);
    dp_free(acc);
    if (!ok) {
        dpsim_image_free(img);
        return ctx_fail(ctx, DPSIM_E_NOMEM, "image resize: out of memory for %dx%d -> %dx%d",
                        in_w, in_h, width, height);
    }
    *out = img;
    return DPSIM_OK;
}

dpsim_status dpsim_image_crop_center(dpsim_ctx *ctx, const dpsim_image *in, int width,
                                     int height, dpsim_image **out)
{
    ctx_clear(ctx);
    dpsim_status s = check_input(ctx, "crop", in, width, height, out);
    if (s != DPSIM_OK)
        return s;
    if (width > in->width || height > in->height)
        return ctx_fail(ctx, DPSIM_E_SHAPE,
                        "image crop: %dx%d is larger than the image %dx%d, expected at most "
                        "%dx%d",
                        width, height, in->width, in->height, in->width, in->height);
    dpsim_image *img = image_new(width, height);
    if (!img)
        return ctx_fail(ctx, DPSIM_E_NOMEM, "image crop: out of memory for %dx%d pixels", width,
                        height);
    int x0 = (in->width - width) / 2, y0 = (in->height - height) / 2;
    size_t in_n = (size_t)in->width * (size_t)in->height, out_n = (size_t)width * (size_t)height;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < height; y++)
            memcpy(img->pixels + (size_t)c * out_n + (size_t)y * (size_t)width,
                   in->pixels + (size_t)c * in_n + (size_t)(y0 + y) * (size_t)in->width + x0,
                   sizeof(float) * (size_t)width);
    copy_description(img, in);
    *out = img;
    return DPSIM_OK;
}
