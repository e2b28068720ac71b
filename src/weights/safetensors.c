/*
 * safetensors.c - read and write the safetensors format: an 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape,
 * data_offsets}, "__metadata__": {str: str}}, then the raw data.
 * The JSON parser handles exactly that grammar, never recurses and checks
 * every byte against the header's end; offsets are checked against the data.
 */
#include "weights/tensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"

#define MAX_HEADER ((uint64_t)100 << 20) /* the reference implementation's limit */

// ---- JSON cursor ----

typedef struct json {
    const char *label; /* "safetensors 'path'" */
    const char *start, *p, *end;
    size_t base;      /* file offset of start, for messages */
    uint64_t claimed; /* data bytes the tensors so far take */
    errbuf *e;
} json;

static dpsim_status jfail(const json *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static dpsim_status jfail(const json *j, const char *fmt, ...)
{
    char msg[ERRBUF_LEN / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(j->e, DPSIM_E_FORMAT, "%s: header %s at byte %zu", j->label, msg,
                   j->base + (size_t)(j->p - j->start));
}

static void skip_ws(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Skip whitespace, then consume c. */
static dpsim_status expect(json *j, char c)
{
    skip_ws(j);
    if (j->p == j->end)
        return jfail(j, "ends early, expected '%c'", c);
    if (*j->p != c)
        return jfail(j, "has '%c', expected '%c'", *j->p >= 0x20 && *j->p < 0x7f ? *j->p : '?',
                     c);
    j->p++;
    return DPSIM_OK;
}

/* After skipping whitespace: is the next byte c? (consumed if so) */
static int accept(json *j, char c)
{
    skip_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

static int hex4(const char *p, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return 0;
        *v = *v << 4 | (uint32_t)d;
    }
    return 1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One \u escape at j->p (after the backslash-u), a surrogate pair included. */
static dpsim_status unicode_escape(json *j, uint32_t *cp)
{
    if (j->end - j->p < 4 || !hex4(j->p, cp))
        return jfail(j, "has a bad \\u escape");
    j->p += 4;
    if (*cp >= 0xdc00 && *cp < 0xe000)
        return jfail(j, "has a lone low surrogate");
    if (*cp >= 0xd800 && *cp < 0xdc00) {
        uint32_t lo;
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || !hex4(j->p + 2, &lo) ||
            lo < 0xdc00 || lo >= 0xe000)
            return jfail(j, "has a high surrogate without its low half");
        j->p += 6;
        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (*cp == 0)
        return jfail(j, "has a \\u0000 in a string");
    return DPSIM_OK;
}

/*
 * A string, decoded into a new NUL-terminated buffer (*out, may be NULL to
 * only check it). The decoded text is never longer than the raw one.
 */
static dpsim_status parse_string(json *j, char **out)
{
    dpsim_status s = expect(j, '"');
    if (s)
        return s;
    const char *q = j->p;
    while (q < j->end && *q != '"')
        q += *q == '\\' && q + 1 < j->end ? 2 : 1;
    if (q >= j->end)
        return jfail(j, "has an unterminated string");
    char *o = out ? dp_malloc((size_t)(q - j->p) + 1) : NULL, *w = o;
    if (out && !o)
        return err_set(j->e, DPSIM_E_NOMEM, "%s: out of memory", j->label);
    char tmp[4];
    while (!s && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        size_t n = 1;
        tmp[0] = (char)c;
        if (c < 0x20) {
            j->p--;
            s = jfail(j, "has a raw control character in a string");
        } else if (c == '\\') {
            char x = *j->p++;
            const char *plain = strchr("\"\\/bfnrt", x);
            uint32_t cp = 0;
            if (x == 'u') {
                if (!(s = unicode_escape(j, &cp)))
                    n = put_utf8(tmp, cp);
            } else if (x && plain) {
                tmp[0] = "\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"];
            } else {
                j->p--;
                s = jfail(j, "has an unknown escape in a string");
            }
        }
        if (!s && o) {
            memcpy(w, tmp, n);
            w += n;
        }
    }
    if (s) {
        dp_free(o);
        return s;
    }
    j->p++; /* closing quote */
    if (o) {
        *w = '\0';
        *out = o;
    }
    return DPSIM_OK;
}

/* A non-negative integer without sign, fraction or exponent, at most 2^62. */
static dpsim_status parse_uint(json *j, uint64_t *v)
{
    skip_ws(j);
    if (j->p == j->end || *j->p < '0' || *j->p > '9')
        return jfail(j, "has no non-negative integer where one is expected");
    *v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        *v = *v * 10 + (uint64_t)(*j->p++ - '0');
        if (*v > ((uint64_t)1 << 62))
            return jfail(j, "has an integer that is too large");
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return jfail(j, "has a fraction where an integer is expected");
    return DPSIM_OK;
}

/* [int, int, ...] with at most max items. */
static dpsim_status parse_uint_array(json *j, uint64_t *v, int max, int *n)
{
    dpsim_status s = expect(j, '[');
    *n = 0;
    if (s || accept(j, ']'))
        return s;
    do {
        if (*n == max)
            return jfail(j, "has an array of more than %d integers", max);
        if ((s = parse_uint(j, &v[(*n)++])))
            return s;
    } while (accept(j, ','));
    return expect(j, ']');
}

/* {"key": "value", ...}: the only metadata safetensors allows. */
static dpsim_status parse_string_map(json *j)
{
    dpsim_status s = expect(j, '{');
    if (s || accept(j, '}'))
        return s;
    do {
        if ((s = parse_string(j, NULL)) || (s = expect(j, ':')) || (s = parse_string(j, NULL)))
            return s;
    } while (accept(j, ','));
    return expect(j, '}');
}

// ---- reading ----

typedef struct info {
    tensor_dtype dtype;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    uint64_t begin, end; /* within the data section */
} info;

static dpsim_status parse_dtype(json *j, const char *name, tensor_dtype *dt)
{
    static const struct {
        const char *name;
        tensor_dtype dt;
    } names[] = {{"F32", TENSOR_F32}, {"F64", TENSOR_F64}, {"F16", TENSOR_F16},
                 {"BF16", TENSOR_BF16}};
    char *s;
    dpsim_status st = parse_string(j, &s);
    if (st)
        return st;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (strcmp(s, names[k].name) == 0) {
            *dt = names[k].dt;
            dp_free(s);
            return DPSIM_OK;
        }
    }
    char shown[NAME_MSG_LEN];
    st = jfail(j, "gives tensor '%s' dtype '%s', expected F32, F64, F16 or BF16", name,
               name_for_msg(shown, s, strlen(s)));
    dp_free(s);
    return st;
}

/*
 * The value of one field of a tensor's entry (name is the tensor's printable
 * name); seen collects bits 1, 2, 4 for dtype, shape and data_offsets.
 */
static dpsim_status parse_field(json *j, const char *name, const char *field, info *in,
                                int *seen)
{
    int bit = !strcmp(field, "dtype") ? 1 : !strcmp(field, "shape") ? 2
              : !strcmp(field, "data_offsets")                       ? 4
                                                                     : 0;
    if (!bit || (*seen & bit)) {
        char shown[NAME_MSG_LEN];
        return jfail(j, "gives tensor '%s' %s field '%s'", name,
                     bit ? "a repeated" : "an unknown", name_for_msg(shown, field, strlen(field)));
    }
    *seen |= bit;
    if (bit == 1)
        return parse_dtype(j, name, &in->dtype);
    uint64_t v[TENSOR_MAX_DIMS];
    int n;
    dpsim_status s = parse_uint_array(j, v, bit == 2 ? TENSOR_MAX_DIMS : 2, &n);
    if (s)
        return s;
    if (bit == 2) {
        in->ndim = n;
        for (int d = 0; d < n; d++)
            in->shape[d] = (int64_t)v[d];
        return DPSIM_OK;
    }
    if (n != 2)
        return jfail(j, "gives tensor '%s' %d data offsets, expected 2", name, n);
    in->begin = v[0];
    in->end = v[1];
    return DPSIM_OK;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, each field once. */
static dpsim_status parse_info(json *j, const char *name, info *in)
{
    dpsim_status s = expect(j, '{');
    int seen = 0;
    if (s)
        return s;
    if (!accept(j, '}')) {
        do {
            char *field = NULL;
            if (!(s = parse_string(j, &field)) && !(s = expect(j, ':')))
                s = parse_field(j, name, field, in, &seen);
            dp_free(field);
        } while (!s && accept(j, ','));
        if (!s)
            s = expect(j, '}');
    }
    if (!s && seen != 7)
        s = jfail(j, "gives tensor '%s' no %s", name,
                  !(seen & 1) ? "dtype" : !(seen & 2) ? "shape" : "data_offsets");
    return s;
}

/* Check in against the data section and append the converted tensor. */
static dpsim_status add_tensor(json *j, tensor_list *list, const char *name, const info *in,
                               const byte_source *src, size_t data_at)
{
    const size_t data_len = src->len - data_at;
    char shown[NAME_MSG_LEN];
    name_for_msg(shown, name, strlen(name));
    uint64_t numel = 1;
    size_t es = tensor_dtype_size(in->dtype), want;
    for (int d = 0; d < in->ndim; d++) {
        if (in->shape[d] && numel > UINT64_MAX / (uint64_t)in->shape[d])
            return err_set(j->e, DPSIM_E_FORMAT, "%s: tensor '%s' has too many elements",
                           j->label, shown);
        numel *= (uint64_t)in->shape[d];
    }
    if (in->begin > in->end || in->end > data_len)
        return err_set(j->e, DPSIM_E_FORMAT,
                       "%s: tensor '%s' has data offsets [%llu, %llu] outside the %zu-byte data "
                       "section", j->label, shown, (unsigned long long)in->begin,
                       (unsigned long long)in->end, data_len);
    if (numel > SIZE_MAX || !size_mul((size_t)numel, es, &want) ||
        want != in->end - in->begin)
        return err_set(j->e, DPSIM_E_FORMAT,
                       "%s: tensor '%s' has %llu data bytes, expected %llu elements of %zu "
                       "bytes", j->label, shown, (unsigned long long)(in->end - in->begin),
                       (unsigned long long)numel, es);
    /* disjoint tensors fit in the data section; this also bounds the output size */
    j->claimed += want;
    if (j->claimed > data_len)
        return err_set(j->e, DPSIM_E_FORMAT,
                       "%s: tensor '%s' overlaps others: the tensors so far take %llu bytes of "
                       "a %zu-byte data section", j->label, shown,
                       (unsigned long long)j->claimed, data_len);
    if (list->want && !list->want(list->want_ctx, name))
        return DPSIM_OK;
    const size_t at = data_at + (size_t)in->begin;
    dpsim_status s = source_need(src, at, want, j->e);
    if (!s)
        s = tensor_list_add_data(list, name, in->ndim, in->shape, src->buf + at, in->dtype,
                                 j->e);
    if (s)
        err_prefix(j->e, "%s", j->label);
    return s;
}

/* One "name": value entry of the header's top-level object, into list. */
static dpsim_status parse_entry(json *j, tensor_list *list, const byte_source *src,
                                size_t data_at)
{
    char *name = NULL;
    dpsim_status s = parse_string(j, &name);
    if (s || (s = expect(j, ':'))) {
        dp_free(name);
        return s;
    }
    if (strcmp(name, "__metadata__") == 0) {
        skip_ws(j);
        const char *from = j->p;
        if (list->metadata)
            s = jfail(j, "has __metadata__ twice");
        else if (!(s = parse_string_map(j))) {
            size_t n = (size_t)(j->p - from);
            if (!(list->metadata = dp_malloc(n + 1))) {
                s = err_set(j->e, DPSIM_E_NOMEM, "%s: out of memory", j->label);
            } else {
                memcpy(list->metadata, from, n);
                list->metadata[n] = '\0';
            }
        }
    } else {
        info in = {0};
        char shown[NAME_MSG_LEN];
        if (!(s = parse_info(j, name_for_msg(shown, name, strlen(name)), &in)))
            s = add_tensor(j, list, name, &in, src, data_at);
    }
    dp_free(name);
    return s;
}

/* The header's top-level object, entry by entry, then only padding; data from data_at. */
static dpsim_status parse_header(json *j, tensor_list *list, const byte_source *src,
                                 size_t data_at)
{
    dpsim_status s = expect(j, '{');
    if (!s && !accept(j, '}')) {
        do
            s = parse_entry(j, list, src, data_at);
        while (!s && accept(j, ','));
        if (!s)
            s = expect(j, '}');
    }
    skip_ws(j); /* the writer pads with spaces */
    if (!s && j->p != j->end)
        s = jfail(j, "has bytes after its closing brace");
    return s;
}

static dpsim_status read_labeled(const char *label, const byte_source *src, tensor_list *out,
                                 errbuf *e)
{
    const size_t len = src->len;
    if (len < 8)
        return err_set(e, DPSIM_E_FORMAT, "%s: %zu bytes is too short for a header length",
                       label, len);
    dpsim_status s = source_need(src, 0, 8, e);
    if (s)
        return s;
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--)
        n = n << 8 | src->buf[k];
    if (n > len - 8)
        return err_set(e, DPSIM_E_FORMAT,
                       "%s: header length %llu exceeds the file size (%zu bytes)", label,
                       (unsigned long long)n, len);
    if (n > MAX_HEADER)
        return err_set(e, DPSIM_E_LIMIT, "%s: header length %llu is above the limit of %llu",
                       label, (unsigned long long)n, (unsigned long long)MAX_HEADER);
    if ((s = source_need(src, 8, (size_t)n, e)))
        return s;
    json j = {.label = label, .start = (const char *)src->buf + 8, .base = 8, .e = e};
    j.p = j.start;
    j.end = j.start + n;
    tensor_list list = {.views = out->views, .want = out->want, .want_ctx = out->want_ctx};
    s = parse_header(&j, &list, src, 8 + (size_t)n);
    if (!s && (s = tensor_list_check_unique(&list, e)))
        err_prefix(e, "%s", label);
    if (s) {
        tensor_list_free(&list);
        return s;
    }
    *out = list;
    return DPSIM_OK;
}

dpsim_status safetensors_read_source(const byte_source *src, tensor_list *out, errbuf *e)
{
    return read_labeled("safetensors", src, out, e);
}

dpsim_status safetensors_read_memory(const uint8_t *buf, size_t len, tensor_list *out, errbuf *e)
{
    if (!buf || !out)
        return err_set(e, DPSIM_E_INVAL, "safetensors: NULL buffer or output");
    const byte_source src = {.buf = buf, .len = len};
    return read_labeled("safetensors", &src, out, e);
}

// ---- writing ----

typedef struct strbuf {
    char *p;
    size_t len, cap;
    int failed; /* an allocation failed: the text is incomplete */
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n && cap < SIZE_MAX / 2)
            cap *= 2;
        char *grown = cap - b->len >= n ? dp_realloc(b->p, cap) : NULL;
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_str(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(strbuf *b, uint64_t v)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    sb_str(b, tmp);
}

/* A JSON string literal: quotes, backslashes and control characters escaped. */
static void sb_json_string(strbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_str(b, esc);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* The header JSON, padded with spaces to a multiple of 8 bytes. */
static dpsim_status build_header(const char *label, const tensor_list *list,
                                 const char *metadata_json, strbuf *b, errbuf *e)
{
    uint64_t offset = 0;
    sb_put(b, "{", 1);
    if (metadata_json) {
        sb_str(b, "\"__metadata__\":");
        sb_str(b, metadata_json);
    }
    for (size_t i = 0; i < list->count; i++) {
        const tensor *t = &list->items[i];
        if (strcmp(t->name, "__metadata__") == 0)
            return err_set(e, DPSIM_E_INVAL, "%s: a tensor may not be named __metadata__",
                           label);
        if (i || metadata_json)
            sb_put(b, ",", 1);
        sb_json_string(b, t->name);
        sb_str(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d)
                sb_put(b, ",", 1);
            sb_u64(b, (uint64_t)t->shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_u64(b, offset);
        sb_put(b, ",", 1);
        offset += (uint64_t)t->numel * 4;
        sb_u64(b, offset);
        sb_str(b, "]}");
    }
    sb_put(b, "}", 1);
    while (!b->failed && b->len % 8)
        sb_put(b, " ", 1);
    return b->failed ? err_set(e, DPSIM_E_NOMEM, "%s: out of memory", label) : DPSIM_OK;
}

static int write_floats(FILE *fp, const float *v, size_t n)
{
    uint8_t chunk[4096];
    while (n) {
        size_t m = n < sizeof chunk / 4 ? n : sizeof chunk / 4;
        for (size_t i = 0; i < m; i++) {
            uint32_t bits;
            memcpy(&bits, &v[i], 4);
            for (int k = 0; k < 4; k++)
                chunk[4 * i + (size_t)k] = (uint8_t)(bits >> (8 * k));
        }
        if (fwrite(chunk, 4, m, fp) != m)
            return 0;
        v += m;
        n -= m;
    }
    return 1;
}

dpsim_status safetensors_write_file(const char *path, const tensor_list *list,
                                    const char *metadata_json, errbuf *e)
{
    if (!path || !list)
        return err_set(e, DPSIM_E_INVAL, "safetensors: NULL path or list");
    char label[ERRBUF_LEN / 2];
    snprintf(label, sizeof label, "safetensors '%s'", path);
    if (metadata_json) {
        size_t n = strlen(metadata_json);
        json j = {.label = label, .start = metadata_json, .p = metadata_json,
                  .end = metadata_json + n, .e = e};
        int ok = parse_string_map(&j) == DPSIM_OK;
        skip_ws(&j);
        if (!ok || j.p != j.end)
            return err_set(e, DPSIM_E_INVAL,
                           "%s: metadata is not a JSON object of string values", label);
    }
    dpsim_status s = tensor_list_check_unique(list, e);
    if (s) {
        err_prefix(e, "%s", label);
        return s == DPSIM_E_FORMAT ? DPSIM_E_INVAL : s;
    }
    strbuf b = {0};
    if ((s = build_header(label, list, metadata_json, &b, e))) {
        dp_free(b.p);
        return s;
    }
    atomic_file f;
    if ((s = atomic_file_open(&f, path, e))) {
        dp_free(b.p);
        return s;
    }
    uint8_t len_bytes[8];
    for (int k = 0; k < 8; k++)
        len_bytes[k] = (uint8_t)((uint64_t)b.len >> (8 * k));
    int ok = fwrite(len_bytes, 1, 8, f.fp) == 8 && fwrite(b.p, 1, b.len, f.fp) == b.len;
    for (size_t i = 0; ok && i < list->count; i++)
        ok = write_floats(f.fp, list->items[i].data, list->items[i].numel);
    dp_free(b.p);
    if (!ok) {
        atomic_file_abort(&f);
        return err_set(e, DPSIM_E_IO, "%s: write failed", label);
    }
    return atomic_file_commit(&f, e);
}
