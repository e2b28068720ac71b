/*
 * termweights.c - the per-channel weights of a model's terms, read from one
 * file in one of three layouts (doc/WEIGHTS.md):
 *   LPIPS lin   lin{K}.model.1.weight (1,C,1,1), K over the net taps: spatial only
 *   DISTS       alpha, beta (1,sum C,1,1) over [pixel, net taps]: dists only
 *   dpsim       {term}.tap{K} (C), K over all taps (pixel first), with metadata
 *               net, method and taps that must equal the model's
 * Every vector is checked: present, right length, finite, >= 0. A tap or term
 * without a vector uses all ones (NULL).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "model/model.h"

static const char *const kind_names[TERM_KINDS] = {"spatial", "mean", "sort", "gram", "alpha",
                                                   "beta"};

const char *term_kind_name(term_kind k) { return kind_names[k]; }

/* Copy n values from t->data + offset after checking they are finite and >= 0. */
static dpsim_status take_values(const tensor *t, size_t offset, size_t n, const char *path,
                                float **out, errbuf *e)
{
    for (size_t i = offset; i < offset + n; i++)
        if (!isfinite(t->data[i]) || t->data[i] < 0.0f)
            return err_set(e, DPSIM_E_FORMAT,
                           "weights '%s': tensor '%s' has a %s weight %g at element %zu, "
                           "expected finite weights >= 0",
                           path, t->name, isfinite(t->data[i]) ? "negative" : "non-finite",
                           (double)t->data[i], i);
    *out = dp_malloc(n * sizeof(float));
    if (!*out)
        return err_set(e, DPSIM_E_NOMEM, "weights '%s': out of memory", path);
    memcpy(*out, t->data + offset, n * sizeof(float));
    return DPSIM_OK;
}

/* Find `name`, of shape (c) or (1, c, 1, 1). */
static dpsim_status find_vector(const tensor_list *list, const char *path, const char *name,
                                int64_t c, const char *what, const tensor **out, errbuf *e)
{
    const tensor *t = tensor_list_find(list, name);
    if (!t)
        return err_set(e, DPSIM_E_FORMAT, "weights '%s': missing tensor '%s' (%s, %lld channels)",
                       path, name, what, (long long)c);
    int flat = t->ndim == 1 && t->shape[0] == c;
    int conv = t->ndim == 4 && t->shape[0] == 1 && t->shape[1] == c && t->shape[2] == 1 &&
               t->shape[3] == 1;
    if (!flat && !conv) {
        char got[96] = "scalar";
        for (int i = 0, used = 0; i < t->ndim && used < (int)sizeof got; i++)
            used += snprintf(got + used, sizeof got - (size_t)used, "%s%lld", i ? "x" : "",
                             (long long)t->shape[i]);
        return err_set(e, DPSIM_E_SHAPE,
                       "weights '%s': tensor '%s' has shape %s, expected 1x%lldx1x1 or %lld "
                       "(%s)",
                       path, name, got, (long long)c, (long long)c, what);
    }
    *out = t;
    return DPSIM_OK;
}

static void tap_label(const dpsim_model *m, int t, char *out, size_t len)
{
    if (m->taps[t] < 0)
        snprintf(out, len, "pixel tap");
    else
        snprintf(out, len, "tap features.%d of %s", m->taps[t], m->def->torchvision_name);
}

// ---- LPIPS lin ----

static dpsim_status load_lpips(dpsim_model *m, const tensor_list *list, const char *path,
                               errbuf *e)
{
    if (m->method != DPSIM_METHOD_SPATIAL && m->method != DPSIM_METHOD_SPATIAL_MEAN &&
        m->method != DPSIM_METHOD_SPATIAL_SORT)
        return err_set(e, DPSIM_E_FORMAT,
                       "weights '%s': an LPIPS lin file weighs the spatial term only, method "
                       "%s needs a dpsim weights file (doc/WEIGHTS.md)",
                       path, dpsim_method_name(m->method));
    int k = 0;
    for (int t = m->pixel; t < m->n_taps; t++, k++) {
        char name[64], what[96];
        const tensor *v;
        snprintf(name, sizeof name, "lin%d.model.1.weight", k);
        tap_label(m, t, what, sizeof what);
        dpsim_status s = find_vector(list, path, name, m->tap_channels[t], what, &v, e);
        if (s == DPSIM_OK)
            s = take_values(v, 0, v->numel, path, &m->weight[TERM_SPATIAL][t], e);
        if (s != DPSIM_OK)
            return s;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "lin%d.model.1.weight", k);
    if (tensor_list_find(list, extra))
        return err_set(e, DPSIM_E_SHAPE,
                       "lin weights '%s': has a tensor '%s' beyond the %d taps used; the file "
                       "is for other taps",
                       path, extra, k);
    return DPSIM_OK;
}

// ---- DISTS alpha/beta ----

static dpsim_status load_dists(dpsim_model *m, const tensor_list *list, const char *path,
                               errbuf *e)
{
    int64_t total = 0;
    for (int t = 0; t < m->n_taps; t++)
        total += m->tap_channels[t];
    for (int k = TERM_ALPHA; k <= TERM_BETA; k++) {
        const tensor *v;
        dpsim_status s = find_vector(list, path, kind_names[k], total,
                                     "DISTS weights over all taps", &v, e);
        for (int t = 0, off = 0; s == DPSIM_OK && t < m->n_taps; off += m->tap_channels[t++])
            s = take_values(v, (size_t)off, (size_t)m->tap_channels[t], path, &m->weight[k][t],
                            e);
        if (s != DPSIM_OK)
            return s;
    }
    return DPSIM_OK;
}

// ---- dpsim method format ----

/* The string value of "key" in a flat JSON object of strings; 0 if absent. */
static int meta_get(const char *json, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p)
        return 0;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p++ != '"')
        return 0;
    size_t n = 0;
    while (p[n] && p[n] != '"' && p[n] != '\\')
        n++;
    if (p[n] != '"' || n >= len)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static dpsim_status check_meta(const dpsim_model *m, const tensor_list *list, const char *path,
                               errbuf *e)
{
    char want[3][256], got[256];
    static const char *keys[3] = {"net", "method", "taps"};
    snprintf(want[0], sizeof want[0], "%s", m->def->name);
    snprintf(want[1], sizeof want[1], "%s", dpsim_method_name(m->method));
    model_taps_str(m, want[2], sizeof want[2]);
    for (int i = 0; i < 3; i++) {
        if (!meta_get(list->metadata, keys[i], got, sizeof got))
            return err_set(e, DPSIM_E_FORMAT,
                           "weights '%s': no metadata '%s', expected a dpsim weights file "
                           "(safetensors with net, method and taps) or an LPIPS lin file",
                           path, keys[i]);
        if (strcmp(got, want[i]) != 0)
            return err_set(e, DPSIM_E_FORMAT, "weights '%s': made for %s '%s', expected '%s'",
                           path, keys[i], got, want[i]);
    }
    return DPSIM_OK;
}

static int method_uses(dpsim_method method, term_kind k)
{
    switch (method) {
    case DPSIM_METHOD_SPATIAL: return k == TERM_SPATIAL;
    case DPSIM_METHOD_MEAN: return k == TERM_MEAN;
    case DPSIM_METHOD_SORT: return k == TERM_SORT;
    case DPSIM_METHOD_SPATIAL_MEAN: return k == TERM_SPATIAL || k == TERM_MEAN;
    case DPSIM_METHOD_SPATIAL_SORT: return k == TERM_SPATIAL || k == TERM_SORT;
    case DPSIM_METHOD_GRAM: return k == TERM_GRAM;
    case DPSIM_METHOD_DISTS: return k == TERM_ALPHA || k == TERM_BETA;
    }
    return 0;
}

static dpsim_status load_dpsim(dpsim_model *m, const tensor_list *list, const char *path,
                               errbuf *e)
{
    dpsim_status s = check_meta(m, list, path, e);
    size_t used = 0;
    for (int k = 0; s == DPSIM_OK && k < TERM_KINDS; k++) {
        for (int t = 0; s == DPSIM_OK && method_uses(m->method, (term_kind)k) && t < m->n_taps;
             t++) {
            char name[64], what[96];
            const tensor *v;
            snprintf(name, sizeof name, "%s.tap%d", kind_names[k], t);
            tap_label(m, t, what, sizeof what);
            s = find_vector(list, path, name, m->tap_channels[t], what, &v, e);
            if (s == DPSIM_OK)
                s = take_values(v, 0, v->numel, path, &m->weight[k][t], e);
            used++;
        }
    }
    if (s == DPSIM_OK && used != list->count)
        return err_set(e, DPSIM_E_FORMAT,
                       "weights '%s': %zu tensors, expected %zu ({term}.tap{K} for the terms "
                       "of method %s)",
                       path, list->count, used, dpsim_method_name(m->method));
    return s;
}

dpsim_status term_weights_load(dpsim_model *m, const tensor_list *list, const char *path,
                               errbuf *e)
{
    if (m->method == DPSIM_METHOD_DISTS)
        return load_dists(m, list, path, e);
    if (tensor_list_find(list, "lin0.model.1.weight"))
        return load_lpips(m, list, path, e);
    return load_dpsim(m, list, path, e);
}
