/*
 * read.c - the feature file reader (doc/FEATURES.md). Untrusted input: every
 * count and size is checked against the bytes left in the file and the net's
 * layer table before anything is allocated; nothing is trusted twice.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "featfile/reader.h"

/* Bytes from memory or from a file, with the count left known up front. */
typedef struct source {
    FILE *fp;             /* NULL: read from data */
    const uint8_t *data;
    uint64_t left;        /* bytes not yet read */
} source;

static int take(source *src, void *out, size_t n)
{
    if ((uint64_t)n > src->left)
        return 0;
    if (src->fp) {
        if (fread(out, 1, n, src->fp) != n)
            return 0;
    } else {
        memcpy(out, src->data, n);
        src->data += n;
    }
    src->left -= n;
    return 1;
}

static dpsim_status truncated(errbuf *e, const char *name, const char *what)
{
    return err_set(e, DPSIM_E_FORMAT, "features '%s': truncated in %s", name, what);
}

/* A length-prefixed string of at most max bytes (no NUL inside) into a new buffer. */
static dpsim_status take_string(source *src, const char *name, const char *what, uint32_t min,
                                uint32_t max, char **out, errbuf *e)
{
    uint8_t b[4];
    if (!take(src, b, 4))
        return truncated(e, name, what);
    uint32_t len = get_u32(b);
    if (len < min || len > max)
        return err_set(e, DPSIM_E_FORMAT, "features '%s': %s length %u, expected %u to %u",
                       name, what, len, min, max);
    if (len > src->left)
        return truncated(e, name, what);
    char *s = dp_malloc((size_t)len + 1);
    if (!s)
        return err_set(e, DPSIM_E_NOMEM, "features '%s': out of memory", name);
    if (!take(src, s, len)) {
        dp_free(s);
        return truncated(e, name, what);
    }
    s[len] = '\0';
    if (strlen(s) != len) {
        dp_free(s);
        return err_set(e, DPSIM_E_FORMAT, "features '%s': %s contains a NUL byte", name, what);
    }
    *out = s;
    return DPSIM_OK;
}

static dpsim_status read_taps(source *src, const char *name, ff_settings *s, errbuf *e)
{
    const net_def *def = ff_settings_net_def(s);
    if (!def)
        return err_set(e, DPSIM_E_FORMAT, "features '%s': net %d%s is not a known net", name,
                       (int)s->net, s->flags & FF_FLAG_DISTS ? " (dists)" : "");
    for (int t = 0; t < s->n_taps; t++) {
        uint8_t b[FF_TAP_ENTRY];
        if (!take(src, b, sizeof b))
            return truncated(e, name, "the tap table");
        int32_t index = (int32_t)get_u32(b);
        uint32_t channels = get_u32(b + 4);
        int pixel = t == 0 && (s->flags & FF_FLAG_PIXEL);
        int expect_ch = pixel ? 3 : 0;
        if (pixel ? index != -1
                  : index < 0 || index >= def->n_layers || (t > 0 && index <= s->taps[t - 1]))
            return err_set(e, DPSIM_E_FORMAT, "features '%s': tap %d has index %d, expected %s",
                           name, t, (int)index,
                           pixel ? "-1 (pixel)" : "increasing layer indices of the net");
        if (!pixel)
            expect_ch = net_layer_channels(def, index);
        if ((int64_t)channels != expect_ch)
            return err_set(e, DPSIM_E_FORMAT, "features '%s': tap %d (features.%d) has %u "
                           "channels, the net has %d", name, t, (int)index, channels, expect_ch);
        s->taps[t] = index;
        s->channels[t] = (int)channels;
    }
    return DPSIM_OK;
}

static dpsim_status read_header(source *src, dpsim_featfile *ff, uint64_t *n_records, errbuf *e)
{
    const char *name = ff->name;
    uint8_t h[FF_FIXED_SIZE];
    if (!take(src, h, DPSIM_FEATFILE_MAGIC_LEN) ||
        memcmp(h, DPSIM_FEATFILE_MAGIC, DPSIM_FEATFILE_MAGIC_LEN) != 0)
        return err_set(e, DPSIM_E_FORMAT, "features '%s': not a dpsim feature file (no %s magic)",
                       name, DPSIM_FEATFILE_MAGIC);
    if (!take(src, h + DPSIM_FEATFILE_MAGIC_LEN, FF_FIXED_SIZE - DPSIM_FEATFILE_MAGIC_LEN))
        return truncated(e, name, "the header");
    uint32_t version = get_u32(h + FF_OFF_VERSION);
    if (version != DPSIM_FEATFILE_VERSION)
        return err_set(e, version > DPSIM_FEATFILE_VERSION ? DPSIM_E_UNSUPPORTED
                                                           : DPSIM_E_FORMAT,
                       "features '%s': format version %u, this library reads version %d", name,
                       version, DPSIM_FEATFILE_VERSION);
    ff_settings *s = &ff->settings;
    s->fingerprint = get_u64(h + FF_OFF_FINGERPRINT);
    s->net = (dpsim_net)get_u32(h + FF_OFF_NET);
    s->flags = get_u32(h + FF_OFF_FLAGS);
    uint32_t lpips_version = get_u32(h + FF_OFF_LPIPS_VERSION);
    uint32_t n_taps = get_u32(h + FF_OFF_N_TAPS);
    *n_records = get_u64(h + FF_OFF_N_RECORDS);
    if (s->flags & ~FF_FLAGS_KNOWN || lpips_version > DPSIM_LPIPS_V0_0 || n_taps < 1 ||
        n_taps > DPSIM_MAX_TAPS || get_u32(h + FF_OFF_RESERVED) != 0)
        return err_set(e, DPSIM_E_FORMAT, "features '%s': header has flags 0x%x, LPIPS version "
                       "%u, %u taps; expected known flags, version 0 or 1, 1 to %d taps and "
                       "a zero reserved field", name, s->flags, lpips_version, n_taps,
                       DPSIM_MAX_TAPS);
    s->version = (dpsim_lpips_version)lpips_version;
    s->n_taps = (int)n_taps;
    memcpy(s->trunk_sha256, h + FF_OFF_TRUNK_SHA, FF_SHA_LEN);
    memcpy(s->lin_sha256, h + FF_OFF_LIN_SHA, FF_SHA_LEN);
    for (int i = 0; i < 2; i++) {
        const char *sha = i ? s->lin_sha256 : s->trunk_sha256;
        size_t len = strnlen(sha, FF_SHA_LEN + 1);
        if (len != (i ? (len ? FF_SHA_LEN : 0) : FF_SHA_LEN) ||
            strspn(sha, "0123456789abcdef") != len)
            return err_set(e, DPSIM_E_FORMAT, "features '%s': %s sha256 is not %s64 lower-case "
                           "hex digits", name, i ? "lin" : "trunk", i ? "empty or " : "");
    }
    dpsim_status st = read_taps(src, name, s, e);
    if (st == DPSIM_OK)
        st = take_string(src, name, "the prep text", 0, DPSIM_FEATFILE_MAX_TEXT, &ff->prep, e);
    if (st == DPSIM_OK)
        st = take_string(src, name, "the provenance", 0, DPSIM_FEATFILE_MAX_TEXT,
                         &ff->provenance, e);
    if (st != DPSIM_OK)
        return st;
    uint64_t expect = (uint64_t)FF_FIXED_SIZE + (uint64_t)n_taps * FF_TAP_ENTRY + 8 +
                      strlen(ff->prep) + strlen(ff->provenance);
    if (get_u32(h + FF_OFF_HEADER_SIZE) != expect)
        return err_set(e, DPSIM_E_FORMAT, "features '%s': header size %u, its fields take %llu "
                       "bytes", name, get_u32(h + FF_OFF_HEADER_SIZE), (unsigned long long)expect);
    return DPSIM_OK;
}

/* One record: name, image size, then every tap's (c, h, w) float32 values. */
static dpsim_status read_record(source *src, dpsim_featfile *ff, size_t i, errbuf *e)
{
    const char *name = ff->name;
    const ff_settings *s = &ff->settings;
    dpsim_status st = take_string(src, name, "a record name", 1, DPSIM_FEATFILE_MAX_NAME,
                                  &ff->names[i], e);
    if (st != DPSIM_OK)
        return st;
    uint8_t b[8];
    if (!take(src, b, 8))
        return truncated(e, name, "a record's image size");
    uint32_t width = get_u32(b), height = get_u32(b + 4);
    if (width < 1 || height < 1 || width > DPSIM_MAX_SIDE || height > DPSIM_MAX_SIDE ||
        (uint64_t)width * height > DPSIM_MAX_PIXELS)
        return err_set(e, DPSIM_E_FORMAT, "features '%s': record %zu ('%s') has image size "
                       "%ux%u, expected 1 to %d per side and at most %d pixels", name, i,
                       ff->names[i], width, height, DPSIM_MAX_SIDE, DPSIM_MAX_PIXELS);
    const net_def *def = ff_settings_net_def(s);
    dpsim_features f = {0};
    uint64_t total = 0;
    for (int t = 0; t < s->n_taps; t++) {
        if (!ff_tap_sides(s, def, t, (int)width, (int)height, &f.h[t], &f.w[t]))
            return err_set(e, DPSIM_E_FORMAT, "features '%s': record %zu ('%s'): a %ux%u image "
                           "is too small for tap %d", name, i, ff->names[i], width, height, t);
        f.c[t] = s->channels[t];
        total += (uint64_t)f.c[t] * (uint64_t)f.h[t] * (uint64_t)f.w[t];
    }
    if (total > src->left / sizeof(float))
        return truncated(e, name, "a record's features");
    dpsim_features *out = dp_calloc(1, sizeof *out);
    float *block = out ? dp_malloc((size_t)total * sizeof(float)) : NULL;
    if (!block) {
        dp_free(out);
        return err_set(e, DPSIM_E_NOMEM, "features '%s': out of memory for record %zu", name, i);
    }
    *out = f;
    out->fingerprint = s->fingerprint;
    out->width = (int)width;
    out->height = (int)height;
    out->n_taps = s->n_taps;
    out->block = block;
    ff->features[i] = out;
    if (!take(src, block, (size_t)total * sizeof(float)))
        return truncated(e, name, "a record's features");
    for (size_t k = 0; k < (size_t)total; k++) { /* little-endian to host, bit for bit */
        uint32_t bits = get_u32((const uint8_t *)&block[k]);
        memcpy(&block[k], &bits, sizeof bits);
    }
    for (int t = 0, off = 0; t < s->n_taps; t++) {
        out->tap[t] = block + off;
        off += f.c[t] * f.h[t] * f.w[t];
    }
    return DPSIM_OK;
}

static dpsim_status read_all(source *src, dpsim_featfile *ff, errbuf *e)
{
    uint64_t n = 0;
    dpsim_status st = read_header(src, ff, &n, e);
    if (st != DPSIM_OK)
        return st;
    const uint64_t min_record = 4 + 1 + 8 + sizeof(float); /* name len, name, size, a value */
    if (n > src->left / min_record)
        return err_set(e, DPSIM_E_FORMAT, "features '%s': %llu records claimed, the file holds "
                       "at most %llu", ff->name, (unsigned long long)n,
                       (unsigned long long)(src->left / min_record));
    ff->names = dp_calloc(n ? (size_t)n : 1, sizeof *ff->names);
    ff->features = dp_calloc(n ? (size_t)n : 1, sizeof *ff->features);
    if (!ff->names || !ff->features)
        return err_set(e, DPSIM_E_NOMEM, "features '%s': out of memory", ff->name);
    ff->n = (size_t)n;
    for (size_t i = 0; i < ff->n && st == DPSIM_OK; i++)
        st = read_record(src, ff, i, e);
    if (st == DPSIM_OK && src->left)
        st = err_set(e, DPSIM_E_FORMAT, "features '%s': %llu bytes after the last record",
                     ff->name, (unsigned long long)src->left);
    return st;
}

static dpsim_status read_source(dpsim_ctx *ctx, source *src, const char *name,
                                dpsim_featfile **out)
{
    errbuf *e = ctx ? &ctx->err : NULL;
    dpsim_featfile *ff = dp_calloc(1, sizeof *ff);
    if (ff)
        ff->name = dp_strdup(name);
    if (!ff || !ff->name) {
        dpsim_featfile_free(ff);
        return err_set(e, DPSIM_E_NOMEM, "features '%s': out of memory", name);
    }
    dpsim_status st = read_all(src, ff, e);
    if (st != DPSIM_OK) {
        dpsim_featfile_free(ff);
        return st;
    }
    *out = ff;
    return DPSIM_OK;
}

dpsim_status dpsim_featfile_read_memory(dpsim_ctx *ctx, const void *data, size_t size,
                                        const char *name, dpsim_featfile **out)
{
    ctx_clear(ctx);
    if ((!data && size) || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_featfile_read_memory: NULL argument");
    source src = {NULL, data, size};
    return read_source(ctx, &src, name ? name : "<memory>", out);
}

dpsim_status dpsim_featfile_read(dpsim_ctx *ctx, const char *path, dpsim_featfile **out)
{
    ctx_clear(ctx);
    if (!path || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_featfile_read: NULL argument");
    errbuf *e = ctx ? &ctx->err : NULL;
    FILE *fp = fopen(path, "rb");
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        dpsim_status s = err_set(e, DPSIM_E_IO, "features '%s': %s", path,
                                 !fp || errno ? strerror(errno) : "not a regular file");
        if (fp)
            fclose(fp);
        return s;
    }
    source src = {fp, NULL, (uint64_t)st.st_size};
    dpsim_status s = read_source(ctx, &src, path, out);
    fclose(fp);
    return s;
}

void dpsim_featfile_free(dpsim_featfile *ff)
{
    if (!ff)
        return;
    for (size_t i = 0; i < ff->n; i++) {
        if (ff->names)
            dp_free(ff->names[i]);
        if (ff->features)
            dpsim_features_free(ff->features[i]);
    }
    dp_free(ff->names);
    dp_free(ff->features);
    dp_free(ff->prep);
    dp_free(ff->provenance);
    dp_free(ff->name);
    dp_free(ff);
}

size_t dpsim_featfile_count(const dpsim_featfile *ff) { return ff ? ff->n : 0; }

const char *dpsim_featfile_name(const dpsim_featfile *ff, size_t i)
{
    return ff && i < ff->n ? ff->names[i] : NULL;
}

const dpsim_features *dpsim_featfile_features(const dpsim_featfile *ff, size_t i)
{
    return ff && i < ff->n ? ff->features[i] : NULL;
}

const char *dpsim_featfile_prep(const dpsim_featfile *ff) { return ff ? ff->prep : NULL; }
const char *dpsim_featfile_provenance(const dpsim_featfile *ff)
{
    return ff ? ff->provenance : NULL;
}
