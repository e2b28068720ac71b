/*
 * weights.c - learned per-channel weights as a dpsim_weights object, and
 * their writer: the dpsim safetensors layout of doc/WEIGHTS.md, checked
 * against the model it is saved for.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "train/trainint.h"
#include "weights/tensors.h"

struct dpsim_weights {
    weight_layout layout;
    float *w; /* (n_weights) */
    char net[16], method[32], taps[256];
};

static void model_identity(const dpsim_model *m, char *net, char *method, char *taps)
{
    snprintf(net, 16, "%s", m->def->name);
    snprintf(method, 32, "%s", dpsim_method_name(m->method));
    model_taps_str(m, taps, 256);
}

dpsim_status weights_from_trainer(const trainer *t, const dpsim_model *m, dpsim_weights **out,
                                  errbuf *e)
{
    dpsim_weights *w = dp_calloc(1, sizeof *w);
    float *v = dp_malloc(t->layout.n_weights * sizeof(float));
    if (!w || !v) {
        dp_free(w);
        dp_free(v);
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    }
    w->layout = t->layout;
    w->w = v;
    for (size_t i = 0; i < t->layout.n_weights; i++)
        v[i] = (float)t->w[i];
    model_identity(m, w->net, w->method, w->taps);
    *out = w;
    return DPSIM_OK;
}

void dpsim_weights_free(dpsim_weights *w)
{
    if (!w)
        return;
    dp_free(w->w);
    dp_free(w);
}

int dpsim_weights_count(const dpsim_weights *w) { return w ? w->layout.n_blocks : 0; }

dpsim_status dpsim_weights_vector(const dpsim_weights *w, int i, const char **term, int *tap,
                                  int *channels, const float **values)
{
    if (!w || i < 0 || i >= w->layout.n_blocks)
        return DPSIM_E_INVAL;
    if (term)
        *term = term_kind_name(w->layout.kind[i]);
    if (tap)
        *tap = w->layout.tap[i];
    if (channels)
        *channels = w->layout.channels[i];
    if (values)
        *values = w->w + w->layout.offset[i];
    return DPSIM_OK;
}

/* s as a JSON string body: printable ASCII kept, quotes and backslashes escaped, rest '?' */
static void json_body(char *out, size_t len, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 3 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            out[n++] = '\\';
        out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[n] = '\0';
}

dpsim_status dpsim_weights_save(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_weights *w,
                                const char *path, const char *summary)
{
    ctx_clear(ctx);
    if (!m || !w || !path)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_weights_save: NULL argument");
    char net[16], method[32], taps[256];
    model_identity(m, net, method, taps);
    if (strcmp(net, w->net) || strcmp(method, w->method) || strcmp(taps, w->taps))
        return ctx_fail(ctx, DPSIM_E_INVAL, "weights '%s': learned for net %s, method %s, taps "
                        "%s; the model is net %s, method %s, taps %s", path, w->net, w->method,
                        w->taps, net, method, taps);
    for (size_t i = 0; i < w->layout.n_weights; i++)
        if (!isfinite(w->w[i]) || w->w[i] < 0.0f)
            return ctx_fail(ctx, DPSIM_E_INVAL, "weights '%s': element %zu is %g, expected "
                            "finite and >= 0", path, i, (double)w->w[i]);
    tensor_list list = {0};
    errbuf e = {{0}};
    dpsim_status s = DPSIM_OK;
    for (int b = 0; b < w->layout.n_blocks && s == DPSIM_OK; b++) {
        char name[64];
        int64_t shape[1] = {w->layout.channels[b]};
        snprintf(name, sizeof name, "%s.tap%d", term_kind_name(w->layout.kind[b]),
                 w->layout.tap[b]);
        s = tensor_list_add(&list, name, 1, shape, w->w + w->layout.offset[b], &e);
    }
    char sum[512], meta[1024];
    json_body(sum, sizeof sum, summary);
    snprintf(meta, sizeof meta, "{\"net\":\"%s\",\"method\":\"%s\",\"taps\":\"%s\",\"version\":"
             "\"%s\",\"dpsim\":\"%s\",\"summary\":\"%s\"}", net, method, taps,
             m->version == DPSIM_LPIPS_V0_0 ? "0.0" : "0.1", dpsim_version_string(), sum);
    if (s == DPSIM_OK)
        s = safetensors_write_file(path, &list, meta, &e);
    tensor_list_free(&list);
    return s == DPSIM_OK ? s : ctx_fail_err(ctx, s, &e);
}
