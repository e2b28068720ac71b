/*
 * compare.c - method names, and dpsim_compare: check that two feature sets
 * belong together, then sum the model's method terms over taps (SPEC section 3).
 * The map is the spatial term's, upsampled to the input size and summed over taps.
 */
#include <string.h>

#include "compare/methods.h"
#include "core/alloc.h"
#include "core/ctx.h"
#include "model/model.h"
#include "nn/nn.h"

static const char *const method_names[] = {"spatial",      "mean", "sort", "spatial+mean",
                                           "spatial+sort", "gram", "dists"};

const char *dpsim_method_name(dpsim_method method)
{
    unsigned i = (unsigned)method;
    return i < sizeof method_names / sizeof method_names[0] ? method_names[i] : NULL;
}

dpsim_status dpsim_method_parse(const char *name, dpsim_method *out)
{
    if (!name || !out)
        return DPSIM_E_INVAL;
    for (unsigned i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *out = (dpsim_method)i;
            return DPSIM_OK;
        }
    return DPSIM_E_INVAL;
}

static int has_spatial(dpsim_method method)
{
    return method == DPSIM_METHOD_SPATIAL || method == DPSIM_METHOD_SPATIAL_MEAN ||
           method == DPSIM_METHOD_SPATIAL_SORT;
}

double dists_scale(const dpsim_model *m)
{
    double sum = 0.0;
    for (int t = 0; t < m->n_taps; t++)
        for (int k = TERM_ALPHA; k <= TERM_BETA; k++)
            for (int ch = 0; ch < m->tap_channels[t]; ch++)
                sum += m->weight[k][t] ? m->weight[k][t][ch] : 1.0;
    return 1.0 / sum;
}

/* The method's term(s) for tap t; tap_map (h, w) gets the spatial term's rows when given. */
static dpsim_status tap_terms(const dpsim_model *m, int t, const tap_pair *p, double scale,
                              double *term, float *tap_map, errbuf *e)
{
    double spatial = 0.0, global = 0.0;
    dpsim_status s = DPSIM_OK;
    if (has_spatial(m->method))
        s = spatial_term(p, m->weight[TERM_SPATIAL][t], m->normalize, &spatial, tap_map, e);
    if (s != DPSIM_OK)
        return s;
    switch (m->method) {
    case DPSIM_METHOD_SPATIAL: break;
    case DPSIM_METHOD_MEAN:
    case DPSIM_METHOD_SPATIAL_MEAN:
        s = mean_term(p, m->weight[TERM_MEAN][t], m->normalize, &global, e);
        break;
    case DPSIM_METHOD_SORT:
    case DPSIM_METHOD_SPATIAL_SORT:
        s = sort_term(p, m->weight[TERM_SORT][t], m->normalize, &global, e);
        break;
    case DPSIM_METHOD_GRAM:
        s = gram_term(p, m->weight[TERM_GRAM][t], m->normalize, &global, e);
        break;
    case DPSIM_METHOD_DISTS:
        global = dists_term(p, m->weight[TERM_ALPHA][t], m->weight[TERM_BETA][t], scale);
        break;
    }
    *term = spatial + global;
    return s;
}

static dpsim_status method_distance(const dpsim_model *m, const dpsim_features *a,
                                    const dpsim_features *b, double *distance, double *per_tap,
                                    float *map, errbuf *e)
{
    size_t max_hw = 1;
    for (int t = 0; t < a->n_taps; t++)
        if ((size_t)a->h[t] * a->w[t] > max_hw)
            max_hw = (size_t)a->h[t] * a->w[t];
    float *tap_map = map ? dp_malloc(max_hw * sizeof(float)) : NULL; // (h, w) of one tap
    if (map && !tap_map)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    if (map)
        memset(map, 0, (size_t)a->width * a->height * sizeof(float));
    const double scale = m->method == DPSIM_METHOD_DISTS ? dists_scale(m) : 1.0;
    double total = 0.0;
    dpsim_status s = DPSIM_OK;
    for (int t = 0; t < a->n_taps && s == DPSIM_OK; t++) {
        tap_pair p = {a->tap[t], b->tap[t], a->c[t], a->h[t], a->w[t]};
        double term = 0.0;
        s = tap_terms(m, t, &p, scale, &term, tap_map, e);
        if (per_tap)
            per_tap[t] = term;
        total += term;
        if (map && s == DPSIM_OK)
            upsample_bilinear_add(tap_map, a->h[t], a->w[t], map, a->height, a->width);
    }
    dp_free(tap_map);
    if (s == DPSIM_OK)
        *distance = total;
    return s;
}

/*
 * mean and gram on images of different sizes: channel means and Gram matrices
 * (c x c) do not depend on positions.
 */
static dpsim_status global_any_size(const dpsim_model *m, const dpsim_features *a,
                                    const dpsim_features *b, double *distance, double *per_tap,
                                    errbuf *e)
{
    const int mean = m->method == DPSIM_METHOD_MEAN;
    double total = 0.0;
    for (int t = 0; t < a->n_taps; t++) {
        double term = 0.0;
        const size_t hw_a = (size_t)a->h[t] * a->w[t], hw_b = (size_t)b->h[t] * b->w[t];
        dpsim_status s =
            mean ? mean_term_sizes(a->tap[t], hw_a, b->tap[t], hw_b, a->c[t],
                                   m->weight[TERM_MEAN][t], m->normalize, &term, e)
                 : gram_term_sizes(a->tap[t], hw_a, b->tap[t], hw_b, a->c[t],
                                   m->weight[TERM_GRAM][t], m->normalize, &term, e);
        if (s != DPSIM_OK)
            return s;
        if (per_tap)
            per_tap[t] = term;
        total += term;
    }
    *distance = total;
    return DPSIM_OK;
}

dpsim_status dpsim_compare(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_features *a,
                           const dpsim_features *b, double *distance, double *per_tap, float *map)
{
    ctx_clear(ctx);
    if (!m || !a || !b || !distance)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_compare: NULL argument");
    if (a->fingerprint != model_fingerprint(m) || b->fingerprint != model_fingerprint(m))
        return ctx_fail(ctx, DPSIM_E_INVAL,
                        "features were extracted with another model (net, taps, version or "
                        "weights differ), expected features of this model");
    if ((a->width != b->width || a->height != b->height) && !map &&
        (m->method == DPSIM_METHOD_MEAN || m->method == DPSIM_METHOD_GRAM))
        return global_any_size(m, a, b, distance, per_tap, ctx ? &ctx->err : NULL);
    if (a->width != b->width || a->height != b->height)
        return ctx_fail(ctx, DPSIM_E_SHAPE,
                        "image sizes differ: %dx%d and %dx%d, expected equal sizes (resize or "
                        "crop first; methods mean and gram compare any sizes)",
                        a->width, a->height, b->width, b->height);
    if (map && !has_spatial(m->method))
        return ctx_fail(ctx, DPSIM_E_UNSUPPORTED,
                        "distance map: method %s has no spatial term, a map exists only for "
                        "spatial, spatial+mean and spatial+sort",
                        dpsim_method_name(m->method));
    return method_distance(m, a, b, distance, per_tap, map, ctx ? &ctx->err : NULL);
}
