/*
 * settings.c - the extraction settings a feature file records, taken from a
 * model or a header, and dpsim_featfile_check: which setting differs.
 */
#include <stdio.h>
#include <string.h>

#include "core/ctx.h"
#include "featfile/featfile.h"
#include "featfile/reader.h"

void ff_settings_of_model(const dpsim_model *m, ff_settings *s)
{
    memset(s, 0, sizeof *s);
    model_await_hashes(m);
    s->fingerprint = model_fingerprint(m);
    s->net = m->def->net;
    s->flags = (m->method == DPSIM_METHOD_DISTS ? FF_FLAG_DISTS : 0u) |
               (m->pixel ? FF_FLAG_PIXEL : 0u) |
               (m->precision == DPSIM_PRECISION_BF16 ? FF_FLAG_BF16 : 0u);
    s->version = m->version;
    s->n_taps = m->n_taps;
    for (int t = 0; t < m->n_taps; t++) {
        s->taps[t] = m->taps[t];
        s->channels[t] = m->tap_channels[t];
    }
    memcpy(s->trunk_sha256, m->trunk_sha256, FF_SHA_LEN);
    if (m->lin_path)
        memcpy(s->lin_sha256, m->lin_sha256, FF_SHA_LEN);
}

const net_def *ff_settings_net_def(const ff_settings *s)
{
    if (s->flags & FF_FLAG_DISTS)
        return s->net == DPSIM_NET_VGG16 ? net_def_dists() : NULL;
    return net_def_get(s->net);
}

int ff_tap_sides(const ff_settings *s, const net_def *def, int t, int width, int height, int *h,
                 int *w)
{
    if (s->taps[t] < 0) {
        *h = height;
        *w = width;
    } else {
        *h = net_side_after(def, s->taps[t], height);
        *w = net_side_after(def, s->taps[t], width);
    }
    return *h > 0 && *w > 0;
}

static void taps_text(const ff_settings *s, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int t = 0; t < s->n_taps && used < len; t++) {
        int n = s->taps[t] < 0 ? snprintf(out + used, len - used, "%spixel", t ? "," : "")
                               : snprintf(out + used, len - used, "%s%d", t ? "," : "",
                                          s->taps[t]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

dpsim_status dpsim_featfile_check(dpsim_ctx *ctx, const dpsim_featfile *ff,
                                  const dpsim_model *model)
{
    ctx_clear(ctx);
    if (!ff || !model)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_featfile_check: NULL argument");
    ff_settings m;
    ff_settings_of_model(model, &m);
    const ff_settings *f = &ff->settings;
    const char *name = ff->name;
    const char *fnet = net_def_get(f->net)->torchvision_name;
    const char *mnet = model->def->torchvision_name;
    if ((f->flags ^ m.flags) & FF_FLAG_BF16)
        return ctx_fail(ctx, DPSIM_E_INVAL,
                        "features '%s': made with precision %s, this model uses %s", name,
                        f->flags & FF_FLAG_BF16 ? "bf16" : "fp32",
                        m.flags & FF_FLAG_BF16 ? "bf16" : "fp32");
    if (f->net != m.net || f->flags != m.flags) {
        const char *fd = f->flags & FF_FLAG_DISTS ? " (dists)" : "";
        const char *md = m.flags & FF_FLAG_DISTS ? " (dists)" : "";
        const char *fp = f->flags & FF_FLAG_PIXEL ? " with pixel layer" : "";
        const char *mp = m.flags & FF_FLAG_PIXEL ? " with pixel layer" : "";
        return ctx_fail(ctx, DPSIM_E_INVAL,
                        "features '%s': made with net=%s%s%s, this model uses %s%s%s", name,
                        fnet, fd, fp, mnet, md, mp);
    }
    int same_taps = f->n_taps == m.n_taps;
    for (int t = 0; same_taps && t < f->n_taps; t++)
        same_taps = f->taps[t] == m.taps[t] && f->channels[t] == m.channels[t];
    if (!same_taps) {
        char ft[DPSIM_MAX_TAPS * 7], mt[DPSIM_MAX_TAPS * 7];
        taps_text(f, ft, sizeof ft);
        taps_text(&m, mt, sizeof mt);
        return ctx_fail(ctx, DPSIM_E_INVAL, "features '%s': made with taps=%s, this model uses "
                        "taps=%s", name, ft, mt);
    }
    if (f->version != m.version)
        return ctx_fail(ctx, DPSIM_E_INVAL, "features '%s': made with LPIPS version %s, this "
                        "model uses %s (the preprocessing differs)", name,
                        f->version == DPSIM_LPIPS_V0_0 ? "0.0" : "0.1",
                        m.version == DPSIM_LPIPS_V0_0 ? "0.0" : "0.1");
    if (strcmp(f->trunk_sha256, m.trunk_sha256) != 0)
        return ctx_fail(ctx, DPSIM_E_INVAL, "features '%s': made with trunk weights sha256 "
                        "%.12s, this model's are %.12s", name, f->trunk_sha256, m.trunk_sha256);
    if (strcmp(f->lin_sha256, m.lin_sha256) != 0)
        return ctx_fail(ctx, DPSIM_E_INVAL, "features '%s': made with per-channel weights "
                        "%.12s, this model's are %.12s", name,
                        *f->lin_sha256 ? f->lin_sha256 : "(none)",
                        *m.lin_sha256 ? m.lin_sha256 : "(none)");
    if (f->fingerprint != m.fingerprint)
        return ctx_fail(ctx, DPSIM_E_INVAL, "features '%s': the header's fingerprint does not "
                        "match its settings (file altered?)", name);
    return DPSIM_OK;
}
