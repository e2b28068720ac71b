/*
 * write.c - the feature file writer (doc/FEATURES.md): header from the
 * model, then one record per image, all little-endian, into a temporary file
 * that is renamed into place on commit. The record count is patched in last.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "core/fileio.h"
#include "featfile/featfile.h"

struct dpsim_featfile_writer {
    atomic_file file;
    const dpsim_model *model;
    uint64_t n_records;
    int failed;
};

static int put_bytes(dpsim_featfile_writer *w, const void *p, size_t n)
{
    return fwrite(p, 1, n, w->file.fp) == n;
}

static int put_string(dpsim_featfile_writer *w, const char *s)
{
    uint8_t b[4];
    size_t len = strlen(s);
    put_u32(b, (uint32_t)len);
    return put_bytes(w, b, 4) && put_bytes(w, s, len);
}

static dpsim_status write_header(dpsim_featfile_writer *w, const char *prep, errbuf *e)
{
    const dpsim_model *m = w->model;
    ff_settings s;
    ff_settings_of_model(m, &s);
    if (!s.trunk_sha256[0])
        return err_set(e, DPSIM_E_IO, "features '%s': the trunk weights '%s' changed while "
                                      "they were read, so their sha256 is unknown",
                       w->file.final_path, m->trunk_path);
    char prov[DPSIM_FEATFILE_MAX_TEXT + 1];
    size_t prov_len = dpsim_model_provenance(m, prov, sizeof prov);
    if (prov_len > DPSIM_FEATFILE_MAX_TEXT)
        prov_len = DPSIM_FEATFILE_MAX_TEXT;
    prov[prov_len] = '\0';
    uint8_t h[FF_FIXED_SIZE] = {0};
    memcpy(h, DPSIM_FEATFILE_MAGIC, DPSIM_FEATFILE_MAGIC_LEN);
    put_u32(h + FF_OFF_VERSION, DPSIM_FEATFILE_VERSION);
    put_u32(h + FF_OFF_HEADER_SIZE, (uint32_t)(FF_FIXED_SIZE + s.n_taps * FF_TAP_ENTRY + 8 +
                                               strlen(prep) + prov_len));
    put_u64(h + FF_OFF_FINGERPRINT, s.fingerprint);
    put_u32(h + FF_OFF_NET, (uint32_t)s.net);
    put_u32(h + FF_OFF_FLAGS, s.flags);
    put_u32(h + FF_OFF_LPIPS_VERSION, (uint32_t)s.version);
    put_u32(h + FF_OFF_N_TAPS, (uint32_t)s.n_taps);
    put_u64(h + FF_OFF_N_RECORDS, 0); /* patched by commit */
    put_u32(h + FF_OFF_WRITER_VERSION, dpsim_version_number());
    memcpy(h + FF_OFF_TRUNK_SHA, s.trunk_sha256, FF_SHA_LEN);
    memcpy(h + FF_OFF_LIN_SHA, s.lin_sha256, strlen(s.lin_sha256));
    int ok = put_bytes(w, h, sizeof h);
    for (int t = 0; ok && t < s.n_taps; t++) {
        uint8_t b[FF_TAP_ENTRY];
        put_u32(b, (uint32_t)s.taps[t]);
        put_u32(b + 4, (uint32_t)s.channels[t]);
        ok = put_bytes(w, b, sizeof b);
    }
    ok = ok && put_string(w, prep) && put_string(w, prov);
    return ok ? DPSIM_OK : err_set(e, DPSIM_E_IO, "'%s': write failed: %s", w->file.final_path,
                                   strerror(errno));
}

dpsim_status dpsim_featfile_writer_open(dpsim_ctx *ctx, const char *path,
                                        const dpsim_model *model, const char *prep,
                                        dpsim_featfile_writer **out)
{
    ctx_clear(ctx);
    if (!path || !model || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_featfile_writer_open: NULL argument");
    if (!prep)
        prep = "";
    if (strlen(prep) > DPSIM_FEATFILE_MAX_TEXT)
        return ctx_fail(ctx, DPSIM_E_LIMIT, "features '%s': prep text of %zu bytes, at most %d",
                        path, strlen(prep), DPSIM_FEATFILE_MAX_TEXT);
    errbuf *e = ctx ? &ctx->err : NULL;
    dpsim_featfile_writer *w = dp_calloc(1, sizeof *w);
    if (!w)
        return err_set(e, DPSIM_E_NOMEM, "features '%s': out of memory", path);
    w->model = model;
    dpsim_status s = atomic_file_open(&w->file, path, e);
    if (s == DPSIM_OK)
        s = write_header(w, prep, e);
    if (s != DPSIM_OK) {
        dpsim_featfile_writer_abort(w);
        return s;
    }
    *out = w;
    return DPSIM_OK;
}

/* Floats as little-endian bit patterns, a chunk at a time. */
static int put_floats(dpsim_featfile_writer *w, const float *v, size_t n)
{
    uint8_t buf[4096];
    while (n) {
        size_t k = n < sizeof buf / 4 ? n : sizeof buf / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t bits;
            memcpy(&bits, &v[i], sizeof bits);
            put_u32(buf + 4 * i, bits);
        }
        if (!put_bytes(w, buf, 4 * k))
            return 0;
        v += k;
        n -= k;
    }
    return 1;
}

dpsim_status dpsim_featfile_writer_add(dpsim_ctx *ctx, dpsim_featfile_writer *w,
                                       const char *name, const dpsim_features *f)
{
    ctx_clear(ctx);
    if (!w || !name || !f)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_featfile_writer_add: NULL argument");
    size_t len = strlen(name);
    if (len < 1 || len > DPSIM_FEATFILE_MAX_NAME)
        return ctx_fail(ctx, DPSIM_E_LIMIT, "features '%s': record name of %zu bytes, expected "
                        "1 to %d", w->file.final_path, len, DPSIM_FEATFILE_MAX_NAME);
    if (f->fingerprint != model_fingerprint(w->model))
        return ctx_fail(ctx, DPSIM_E_INVAL, "features '%s': record '%s' was extracted with "
                        "another model than the file's", w->file.final_path, name);
    uint8_t b[8];
    put_u32(b, (uint32_t)f->width);
    put_u32(b + 4, (uint32_t)f->height);
    int ok = put_string(w, name) && put_bytes(w, b, 8);
    for (int t = 0; ok && t < f->n_taps; t++)
        ok = put_floats(w, f->tap[t], (size_t)f->c[t] * f->h[t] * f->w[t]);
    if (!ok) {
        w->failed = 1;
        return ctx_fail(ctx, DPSIM_E_IO, "features '%s': write failed: %s", w->file.final_path,
                        strerror(errno));
    }
    w->n_records++;
    return DPSIM_OK;
}

dpsim_status dpsim_featfile_writer_commit(dpsim_ctx *ctx, dpsim_featfile_writer *w)
{
    ctx_clear(ctx);
    if (!w)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_featfile_writer_commit: NULL argument");
    errbuf *e = ctx ? &ctx->err : NULL;
    uint8_t b[8];
    put_u64(b, w->n_records);
    dpsim_status s = DPSIM_OK;
    if (w->failed || fseek(w->file.fp, FF_OFF_N_RECORDS, SEEK_SET) != 0 || !put_bytes(w, b, 8))
        s = err_set(e, DPSIM_E_IO, "features '%s': write failed%s%s", w->file.final_path,
                    errno ? ": " : "", errno ? strerror(errno) : "");
    if (s == DPSIM_OK)
        s = atomic_file_commit(&w->file, e);
    dpsim_featfile_writer_abort(w);
    return s;
}

void dpsim_featfile_writer_abort(dpsim_featfile_writer *w)
{
    if (!w)
        return;
    atomic_file_abort(&w->file); /* a no-op after a commit */
    dp_free(w);
}
