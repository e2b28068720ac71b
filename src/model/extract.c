/*
 * extract.c - features of one image: check its size, preprocess it (the
 * LPIPS way for the model's version, or ImageNet mean/std for DISTS), run
 * the trunk, keep every tap. The pixel tap is the preprocessed input (DISTS:
 * the raw input v, as in its reference code).
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "model/model.h"

/* LPIPS ScalingLayer constants, applied in float32 like the reference. */
static const float lpips_shift[3] = {-0.030f, -0.088f, -0.188f};
static const float lpips_scale[3] = {0.458f, 0.448f, 0.450f};

/* DISTS: ImageNet normalisation of v in [0,1], float32 like its reference. */
static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

void model_preprocess_plane(const dpsim_model *m, int c, const float *v, size_t n, float *x)
{
    if (m->method == DPSIM_METHOD_DISTS) {
        for (size_t i = 0; i < n; i++)
            x[i] = (v[i] - imagenet_mean[c]) / imagenet_std[c];
        return;
    }
    const int v00 = m->version == DPSIM_LPIPS_V0_0;
    for (size_t i = 0; i < n; i++) {
        float centred = (float)(2.0 * (double)v[i] - 1.0);
        x[i] = v00 ? centred : (centred - lpips_shift[c]) / lpips_scale[c];
    }
}

void model_preprocess(const dpsim_model *m, const float *v, size_t hw, float *x)
{
    for (int c = 0; c < 3; c++)
        model_preprocess_plane(m, c, v + (size_t)c * hw, hw, x + (size_t)c * hw);
}

double model_preprocess_slope(const dpsim_model *m, int c)
{
    if (m->method == DPSIM_METHOD_DISTS)
        return 1.0 / (double)imagenet_std[c];
    return m->version == DPSIM_LPIPS_V0_0 ? 2.0 : 2.0 / (double)lpips_scale[c];
}

int model_tap_side(const dpsim_model *m, int t, int side)
{
    return m->taps[t] < 0 ? side : net_side_after(m->def, m->taps[t], side);
}

static dpsim_status check_pixels(const float *v, size_t n, errbuf *e)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return err_set(e, DPSIM_E_INVAL, "image pixel %zu is %s, expected a value in [0,1]",
                           i, isnan(v[i]) ? "NaN" : "Inf");
    return DPSIM_OK;
}

dpsim_status model_check_image(const dpsim_model *m, const float *pixels, int width, int height,
                               errbuf *e)
{
    if (width <= 0 || height <= 0)
        return err_set(e, DPSIM_E_SHAPE, "image size %dx%d, expected positive sides", width,
                       height);
    if (width > DPSIM_MAX_SIDE || height > DPSIM_MAX_SIDE ||
        (size_t)width * height > DPSIM_MAX_PIXELS)
        return err_set(e, DPSIM_E_LIMIT, "image size %dx%d exceeds the limit (%d per side, %d "
                       "pixels)", width, height, DPSIM_MAX_SIDE, DPSIM_MAX_PIXELS);
    if (width < m->min_side || height < m->min_side)
        return err_set(e, DPSIM_E_SHAPE,
                       "image size %dx%d is too small for %s with taps up to features.%d, "
                       "expected at least %dx%d",
                       width, height, m->def->torchvision_name, m->last_layer, m->min_side,
                       m->min_side);
    return check_pixels(pixels, 3 * (size_t)width * height, e);
}

dpsim_status dpsim_extract(dpsim_ctx *ctx, const dpsim_model *m, const float *pixels, int width,
                           int height, dpsim_features **out)
{
    ctx_clear(ctx);
    if (!m || !pixels || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_extract: NULL argument");
    return model_extract(m, pixels, width, height, ctx ? ctx->workers : NULL,
                         ctx ? &ctx->scratch[0] : NULL, out, ctx ? &ctx->err : NULL);
}

/* A features object for a width x height image, its taps allocated, contents unset. */
static dpsim_status features_new(const dpsim_model *m, int width, int height,
                                 dpsim_features **out, errbuf *e)
{
    dpsim_features *f = dp_calloc(1, sizeof *f);
    if (!f)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    f->width = width;
    f->height = height;
    f->n_taps = m->n_taps;
    size_t total = 0;
    for (int i = 0; i < m->n_taps; i++) {
        f->c[i] = m->tap_channels[i];
        f->h[i] = model_tap_side(m, i, height);
        f->w[i] = model_tap_side(m, i, width);
        total += (size_t)f->c[i] * f->h[i] * f->w[i];
    }
    f->block = dp_malloc(total * sizeof(float));
    if (!f->block) {
        dpsim_features_free(f);
        return err_set(e, DPSIM_E_NOMEM, "out of memory for the features of a %dx%d image",
                       width, height);
    }
    for (int i = 0, off = 0; i < m->n_taps; i++) {
        f->tap[i] = f->block + off;
        off += f->c[i] * f->h[i] * f->w[i];
    }
    *out = f;
    return DPSIM_OK;
}

/* model_extract_same_size with its scratch */
static dpsim_status run_extract(const dpsim_model *m, int n, const float *const *pixels,
                                int width, int height, worker_pool *workers,
                                forward_scratch *scratch, dpsim_features **out, int *failed,
                                errbuf *e)
{
    dpsim_status s = DPSIM_OK;
    for (int b = 0; b < n && s == DPSIM_OK; b++)
        if ((s = model_check_image(m, pixels[b], width, height, e)) != DPSIM_OK)
            *failed = b;
    const size_t hw = (size_t)width * height;
    if (s == DPSIM_OK &&
        !conv_buffer_reserve((void **)&scratch->x, &scratch->x_cap, (size_t)n * 3 * hw,
                             sizeof(float)))
        s = err_set(e, DPSIM_E_NOMEM, "out of memory for the features of a %dx%d image", width,
                    height);
    dpsim_features *f[NET_MAX_BATCH] = {NULL};
    float **taps[NET_MAX_BATCH];
    for (int b = 0; b < n && s == DPSIM_OK; b++) {
        if ((s = features_new(m, width, height, &f[b], e)) != DPSIM_OK)
            break;
        taps[b] = f[b]->tap;
        float *x = scratch->x + (size_t)b * 3 * hw;
        model_preprocess(m, pixels[b], hw, x);
        if (m->pixel)
            memcpy(f[b]->tap[0], m->method == DPSIM_METHOD_DISTS ? pixels[b] : x,
                   3 * hw * sizeof(float));
    }
    if (s == DPSIM_OK)
        s = net_forward(m, n, scratch->x, height, width, taps, workers, scratch, e);
    for (int b = 0; b < n && s == DPSIM_OK; b++) /* after the pass, which ran beside hashing */
        f[b]->fingerprint = model_fingerprint(m);
    for (int b = 0; b < n; b++) /* out untouched on failure */
        if (s == DPSIM_OK)
            out[b] = f[b];
        else
            dpsim_features_free(f[b]);
    return s;
}

dpsim_status model_extract_same_size(const dpsim_model *m, int n, const float *const *pixels,
                                     int width, int height, worker_pool *workers,
                                     forward_scratch *scratch, dpsim_features **out,
                                     int *failed, errbuf *e)
{
    forward_scratch own = {0};
    *failed = 0;
    dpsim_status s = run_extract(m, n, pixels, width, height, workers,
                                 scratch ? scratch : &own, out, failed, e);
    if (scratch)
        forward_scratch_trim(scratch);
    else
        forward_scratch_free(&own);
    return s;
}

dpsim_status model_extract(const dpsim_model *m, const float *pixels, int width, int height,
                           worker_pool *workers, forward_scratch *scratch, dpsim_features **out,
                           errbuf *e)
{
    int failed;
    return model_extract_same_size(m, 1, &pixels, width, height, workers, scratch, out,
                                   &failed, e);
}

void dpsim_features_free(dpsim_features *f)
{
    if (!f)
        return;
    dp_free(f->block);
    dp_free(f);
}

int dpsim_features_width(const dpsim_features *f) { return f->width; }
int dpsim_features_height(const dpsim_features *f) { return f->height; }
