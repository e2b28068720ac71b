/*
 * tensors.c - the named tensor list every weights reader fills, the dtype
 * conversions they share, and format detection for weights_read_file.
 * A tensor's data is always numel contiguous float32 values, owned by the
 * list or (tensor.view) lying in the buffer the list was read from.
 */
#include "weights/tensors.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"

// ---- list ----

void tensor_list_free(tensor_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        dp_free(list->items[i].name);
        if (!list->items[i].view)
            dp_free(list->items[i].data);
    }
    dp_free(list->items);
    dp_free(list->metadata);
    memset(list, 0, sizeof *list);
}

const tensor *tensor_list_find(const tensor_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].name, name) == 0)
            return &list->items[i];
    return NULL;
}

/* Append (name, shape) holding data (copied), zeros (data NULL) or, with view, data itself. */
static dpsim_status add(tensor_list *list, const char *name, int ndim, const int64_t *shape,
                        const float *data, int view, errbuf *e)
{
    char shown[NAME_MSG_LEN];
    name_for_msg(shown, name, strlen(name));
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS)
        return err_set(e, DPSIM_E_SHAPE, "tensor '%s': %d dimensions, expected at most %d",
                       shown, ndim, TENSOR_MAX_DIMS);
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (uint64_t)shape[d] != (size_t)shape[d] ||
            !size_mul(numel, (size_t)shape[d], &numel))
            return err_set(e, DPSIM_E_SHAPE, "tensor '%s': dimension %d is %lld, out of range",
                           shown, d, (long long)shape[d]);
    }
    size_t bytes;
    if (!size_mul(numel, sizeof(float), &bytes))
        return err_set(e, DPSIM_E_SHAPE, "tensor '%s': %zu elements is too many", shown, numel);
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16, size;
        tensor *grown;
        if (!size_mul(cap, sizeof *grown, &size) || !(grown = dp_realloc(list->items, size)))
            return err_set(e, DPSIM_E_NOMEM, "tensor '%s': out of memory", shown);
        list->items = grown;
        list->cap = cap;
    }
    tensor t = {0};
    t.name = dp_strdup(name);
    t.view = view;
    t.data = view ? (float *)data : data ? dp_malloc(bytes) : dp_calloc(numel, sizeof(float));
    if (!t.name || !t.data) {
        dp_free(t.name);
        if (!view)
            dp_free(t.data);
        return err_set(e, DPSIM_E_NOMEM, "tensor '%s': out of memory for %zu values", shown,
                       numel);
    }
    if (data && bytes && !view)
        memcpy(t.data, data, bytes);
    t.ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t.shape[d] = shape[d];
    t.numel = numel;
    list->items[list->count++] = t;
    return DPSIM_OK;
}

dpsim_status tensor_list_add(tensor_list *list, const char *name, int ndim, const int64_t *shape,
                             const float *data, errbuf *e)
{
    return add(list, name, ndim, shape, data, 0, e);
}

dpsim_status tensor_list_add_data(tensor_list *list, const char *name, int ndim,
                                  const int64_t *shape, const uint8_t *src, tensor_dtype dt,
                                  errbuf *e)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (list->views && dt == TENSOR_F32 && (uintptr_t)src % _Alignof(float) == 0)
        return add(list, name, ndim, shape, (const float *)(const void *)src, 1, e);
#endif
    dpsim_status s = add(list, name, ndim, shape, NULL, 0, e);
    if (s == DPSIM_OK) {
        tensor *t = &list->items[list->count - 1];
        tensor_convert(t->data, src, t->numel, dt);
    }
    return s;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

dpsim_status tensor_list_check_unique(const tensor_list *list, errbuf *e)
{
    if (list->count < 2)
        return DPSIM_OK;
    const char **names = dp_malloc(list->count * sizeof *names);
    if (!names)
        return err_set(e, DPSIM_E_NOMEM, "out of memory checking %zu tensor names", list->count);
    for (size_t i = 0; i < list->count; i++)
        names[i] = list->items[i].name;
    qsort(names, list->count, sizeof *names, compare_names);
    dpsim_status status = DPSIM_OK;
    for (size_t i = 1; i < list->count; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            char shown[NAME_MSG_LEN];
            status = err_set(e, DPSIM_E_FORMAT, "duplicate tensor name '%s'",
                             name_for_msg(shown, names[i], strlen(names[i])));
            break;
        }
    }
    dp_free(names);
    return status;
}

// ---- dtype conversion ----

size_t tensor_dtype_size(tensor_dtype dt)
{
    switch (dt) {
    case TENSOR_F64:
        return 8;
    case TENSOR_F16:
    case TENSOR_BF16:
        return 2;
    case TENSOR_F32:
        break;
    }
    return 4;
}

static float bits_to_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) /* inf or nan */
        return bits_to_float(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) { /* zero or subnormal: mant * 2^-24 */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_to_float(sign | ((exp + 112) << 23) | (mant << 13));
}

static double load_f64(const uint8_t *p)
{
    uint64_t bits = 0;
    for (int k = 7; k >= 0; k--)
        bits = bits << 8 | p[k];
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

void tensor_convert(float *dst, const uint8_t *src, size_t n, tensor_dtype dt)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (dt == TENSOR_F32) { /* the file's bytes are the floats */
        memcpy(dst, src, n * sizeof(float));
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        switch (dt) {
        case TENSOR_F32: {
            const uint8_t *p = src + 4 * i;
            dst[i] = bits_to_float((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                   (uint32_t)p[3] << 24);
            break;
        }
        case TENSOR_F64: {
            double d = load_f64(src + 8 * i);
            /* out-of-range double -> float conversion is undefined in C */
            if (d > FLT_MAX)
                dst[i] = INFINITY;
            else if (d < -FLT_MAX)
                dst[i] = -INFINITY;
            else
                dst[i] = (float)d;
            break;
        }
        case TENSOR_F16:
            dst[i] = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
            break;
        case TENSOR_BF16:
            dst[i] = bits_to_float((uint32_t)src[2 * i] << 16 | (uint32_t)src[2 * i + 1] << 24);
            break;
        }
    }
}

// ---- messages ----

const char *name_for_msg(char out[NAME_MSG_LEN], const void *name, size_t len)
{
    const unsigned char *s = name;
    size_t keep = len < NAME_MSG_LEN - 1 ? len : NAME_MSG_LEN - 4;
    for (size_t i = 0; i < keep; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    if (keep < len) {
        memcpy(out + keep, "...", 3);
        keep += 3;
    }
    out[keep] = '\0';
    return out;
}

// ---- format detection ----

dpsim_status source_need(const byte_source *src, size_t off, size_t n, errbuf *e)
{
    return src->fill && n ? src->fill(src->ctx, off, n, e) : DPSIM_OK;
}

int source_align(const byte_source *src, size_t off, size_t align)
{
    if ((uintptr_t)(src->buf + off) % align == 0)
        return 1;
    return src->place && src->place(src->ctx, off, align);
}

static dpsim_status read_source(const byte_source *src, tensor_list *out, errbuf *e)
{
    /* safetensors: 8-byte header length, then the JSON header's '{' */
    dpsim_status s = source_need(src, 0, src->len < 9 ? src->len : 9, e);
    if (s != DPSIM_OK)
        return s;
    if (src->len >= 9 && src->buf[8] == '{')
        return safetensors_read_source(src, out, e);
    return checkpoint_read_source(src, out, e);
}

dpsim_status weights_read_memory(const uint8_t *buf, size_t len, tensor_list *out, errbuf *e)
{
    if (!buf || !out)
        return err_set(e, DPSIM_E_INVAL, "weights: NULL buffer or output");
    const byte_source src = {.buf = buf, .len = len};
    return read_source(&src, out, e);
}

dpsim_status weights_view_source(const byte_source *src, tensor_list *out, errbuf *e)
{
    out->views = 1; /* the source's buffer is the caller's, writable and kept */
    dpsim_status s = read_source(src, out, e);
    if (s != DPSIM_OK)
        out->views = 0;
    return s;
}

dpsim_status weights_view_memory(uint8_t *buf, size_t len, tensor_list *out, errbuf *e)
{
    if (!buf || !out)
        return err_set(e, DPSIM_E_INVAL, "weights: NULL buffer or output");
    const byte_source src = {.buf = buf, .len = len};
    return weights_view_source(&src, out, e);
}

dpsim_status weights_read_file(const char *path, tensor_list *out, errbuf *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    dpsim_status s = file_read_all(path, WEIGHTS_MAX_FILE_SIZE, &buf, &len, e);
    if (s != DPSIM_OK)
        return s;
    s = weights_read_memory(buf, len, out, e);
    dp_free(buf);
    if (s != DPSIM_OK)
        weights_error_name_file(e, path);
    return s;
}

void weights_error_name_file(errbuf *e, const char *path)
{
    if (!e)
        return;
    /* the memory readers start their messages with the format: "checkpoint: ..." */
    char *colon = strstr(e->msg, ": ");
    size_t kind = colon ? (size_t)(colon - e->msg) : 0;
    if (!colon || kind > 16) {
        err_prefix(e, "weights '%s'", path);
        return;
    }
    char named[ERRBUF_LEN];
    snprintf(named, sizeof named, "%.*s '%s': %s", (int)kind, e->msg, path, colon + 2);
    memcpy(e->msg, named, sizeof named);
}
