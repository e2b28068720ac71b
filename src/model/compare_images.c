/*
 * compare_images.c - dpsim_compare_images: pairs of images to distances, by
 * bands of rows (stream.c) where that applies, else through features
 * extracted as dpsim_extract_batch does. Results go to the caller only when
 * every pair has succeeded.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "model/stream.h"

/* Pairs per pass: both images of each go through the net together. */
enum { CHUNK = NET_MAX_BATCH / 2 };

static dpsim_status by_features(dpsim_ctx *ctx, const dpsim_model *m, int n,
                                const float *const *a, const float *const *b, int width,
                                int height, double *distances, double *per_tap, float *maps)
{
    const float *img[2 * CHUNK];
    int widths[2 * CHUNK], heights[2 * CHUNK];
    dpsim_features *f[2 * CHUNK];
    for (int i = 0; i < n; i++) {
        img[2 * i] = a[i];
        img[2 * i + 1] = b[i];
        widths[2 * i] = widths[2 * i + 1] = width;
        heights[2 * i] = heights[2 * i + 1] = height;
    }
    dpsim_status s = dpsim_extract_batch(ctx, m, 2 * n, img, widths, heights, f);
    if (s != DPSIM_OK)
        return s;
    for (int i = 0; i < n && s == DPSIM_OK; i++)
        s = dpsim_compare(ctx, m, f[2 * i], f[2 * i + 1], &distances[i],
                          per_tap + (size_t)i * m->n_taps,
                          maps ? maps + (size_t)i * width * height : NULL);
    for (int i = 0; i < 2 * n; i++)
        dpsim_features_free(f[i]);
    return s;
}

/* Every image of the pairs fits the model: sizes, finite pixels */
static dpsim_status check_pairs(dpsim_ctx *ctx, const dpsim_model *m, int n,
                                const float *const *a, const float *const *b, int width,
                                int height)
{
    for (int i = 0; i < n; i++)
        for (int side = 0; side < 2; side++) {
            const float *img = side ? b[i] : a[i];
            errbuf e = {{0}};
            if (!img)
                return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_compare_images: pair %d: image %c "
                                "is NULL", i, side ? 'b' : 'a');
            dpsim_status s = model_check_image(m, img, width, height, &e);
            if (s != DPSIM_OK)
                return ctx_fail(ctx, s, "pair %d, image %c: %s", i, side ? 'b' : 'a', e.msg);
        }
    return DPSIM_OK;
}

dpsim_status dpsim_compare_images(dpsim_ctx *ctx, const dpsim_model *m, int n,
                                  const float *const *a, const float *const *b, int width,
                                  int height, double *distances, double *per_tap, float *maps)
{
    ctx_clear(ctx);
    if (!m || n < 0 || (n > 0 && (!a || !b || !distances)))
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_compare_images: NULL argument or n < 0");
    dpsim_status s = check_pairs(ctx, m, n, a, b, width, height);
    if (s != DPSIM_OK || n == 0)
        return s;
    const size_t plane = (size_t)width * height;
    double *d = dp_malloc((size_t)n * sizeof(double));
    double *t = dp_malloc((size_t)n * m->n_taps * sizeof(double));
    float *mp = maps ? dp_malloc((size_t)n * plane * sizeof(float)) : NULL;
    if (!d || !t || (maps && !mp)) {
        s = ctx_fail(ctx, DPSIM_E_NOMEM, "out of memory for comparing %d pairs", n);
        goto done;
    }
    for (int i = 0; i < n && s == DPSIM_OK; i += CHUNK) {
        const int k = n - i < CHUNK ? n - i : CHUNK;
        if (!stream_applies(m, k, width, height)) {
            s = by_features(ctx, m, k, a + i, b + i, width, height, d + i,
                            t + (size_t)i * m->n_taps, mp ? mp + (size_t)i * plane : NULL);
            continue;
        }
        const int per_stream = stream_pairs(m, k, width, height);
        for (int j = i; j < i + k && s == DPSIM_OK; j += per_stream) {
            const int kj = i + k - j < per_stream ? i + k - j : per_stream;
            errbuf e = {{0}};
            s = stream_compare(m, kj, a + j, b + j, width, height, 0, d + j,
                               t + (size_t)j * m->n_taps, mp ? mp + (size_t)j * plane : NULL,
                               ctx ? ctx->workers : NULL, ctx ? ctx->scratch : NULL, &e);
            if (s != DPSIM_OK)
                ctx_fail_err(ctx, s, &e);
        }
    }
    if (s == DPSIM_OK) {
        memcpy(distances, d, (size_t)n * sizeof(double));
        if (per_tap)
            memcpy(per_tap, t, (size_t)n * m->n_taps * sizeof(double));
        if (maps)
            memcpy(maps, mp, (size_t)n * plane * sizeof(float));
    }
done:
    dp_free(d);
    dp_free(t);
    dp_free(mp);
    return s;
}
