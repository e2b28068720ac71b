/*
 * npy.c - a defensive reader for the numbers of a NumPy .npy file: magic,
 * version, header length checked against the data; the header dict parsed
 * for 'descr', 'fortran_order' and 'shape' only; the element count computed
 * with overflow checks and compared with the bytes present.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "core/fileio.h"

#define NPY_MAX_FILE ((size_t)1 << 30)

/* The text after 'key': inside the header [h, end), or NULL. */
static const char *find_key(const char *h, const char *end, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = h; p + k + 2 <= end; p++)
        if ((*p == '\'' || *p == '"') && memcmp(p + 1, key, k) == 0 && p[k + 1] == *p) {
            p += k + 2;
            while (p < end && (*p == ' ' || *p == ':'))
                p++;
            return p < end ? p : NULL;
        }
    return NULL;
}

typedef enum { NPY_F4, NPY_F8, NPY_F2, NPY_U1 } npy_type;

static int parse_descr(const char *p, const char *end, npy_type *t)
{
    static const struct {
        const char *s;
        npy_type t;
    } known[] = {{"<f4", NPY_F4}, {"<f8", NPY_F8}, {"<f2", NPY_F2}, {"|u1", NPY_U1},
                 {"<u1", NPY_U1}};
    if (p >= end || (*p != '\'' && *p != '"'))
        return 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (end - p >= 5 && memcmp(p + 1, known[i].s, 3) == 0 && p[4] == *p) {
            *t = known[i].t;
            return 1;
        }
    return 0;
}

/* "(2, 3)" / "()" / "(1,)" -> element count; 0 on a malformed tuple or overflow */
static int parse_shape(const char *p, const char *end, size_t *count)
{
    if (p >= end || *p++ != '(')
        return 0;
    size_t n = 1;
    for (int dims = 0;; dims++) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p < end && *p == ')')
            break;
        if (p >= end || *p < '0' || *p > '9' || dims >= 32)
            return 0;
        size_t v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (v > (SIZE_MAX - 9) / 10)
                return 0;
            v = v * 10 + (size_t)(*p++ - '0');
        }
        if (!size_mul(n, v, &n))
            return 0;
    }
    *count = n;
    return 1;
}

static double half_to_double(uint16_t h)
{
    int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v = exp == 0 ? ldexp(man, -24) : exp == 31 ? (man ? NAN : INFINITY)
                                                       : ldexp(man + 1024, exp - 25);
    return (h & 0x8000) ? -v : v;
}

static double element(const uint8_t *p, npy_type t)
{
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;
    switch (t) {
    case NPY_F4:
        u32 = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&f, &u32, 4);
        return f;
    case NPY_F8:
        u64 = 0;
        for (int i = 7; i >= 0; i--)
            u64 = u64 << 8 | p[i];
        memcpy(&d, &u64, 8);
        return d;
    case NPY_F2: return half_to_double((uint16_t)(p[0] | p[1] << 8));
    case NPY_U1: return p[0];
    }
    return NAN;
}

static dpsim_status parse(const uint8_t *buf, size_t size, const char *name, double *values,
                          size_t max, size_t *n, errbuf *e)
{
    if (size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return err_set(e, DPSIM_E_FORMAT, "npy '%s': no NumPy magic (\\x93NUMPY), expected a "
                       ".npy file", name);
    int major = buf[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12)
            return err_set(e, DPSIM_E_FORMAT, "npy '%s': truncated header", name);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
               (size_t)buf[11] << 24;
        off = 12;
    } else {
        return err_set(e, DPSIM_E_FORMAT, "npy '%s': format version %d, expected 1, 2 or 3",
                       name, major);
    }
    if (hlen > size - off)
        return err_set(e, DPSIM_E_FORMAT, "npy '%s': header of %zu bytes but only %zu follow",
                       name, hlen, size - off);
    const char *h = (const char *)buf + off, *hend = h + hlen;
    const char *descr = find_key(h, hend, "descr"), *fo = find_key(h, hend, "fortran_order"),
               *shape = find_key(h, hend, "shape");
    npy_type t;
    size_t count;
    if (!descr || !parse_descr(descr, hend, &t))
        return err_set(e, DPSIM_E_FORMAT, "npy '%s': missing or unsupported 'descr', expected "
                       "'<f4', '<f8', '<f2' or '|u1'", name);
    if (!fo || (hend - fo >= 4 && memcmp(fo, "True", 4) == 0) ||
        hend - fo < 5 || memcmp(fo, "False", 5) != 0)
        return err_set(e, DPSIM_E_FORMAT, "npy '%s': 'fortran_order' missing or True, expected "
                       "False", name);
    if (!shape || !parse_shape(shape, hend, &count))
        return err_set(e, DPSIM_E_FORMAT, "npy '%s': missing or malformed 'shape'", name);
    const size_t esize = t == NPY_F8 ? 8 : t == NPY_F4 ? 4 : t == NPY_F2 ? 2 : 1;
    size_t bytes;
    if (count > max)
        return err_set(e, DPSIM_E_LIMIT, "npy '%s': %zu values, expected at most %zu", name,
                       count, max);
    if (!size_mul(count, esize, &bytes) || bytes > size - off - hlen)
        return err_set(e, DPSIM_E_FORMAT, "npy '%s': truncated: %zu values need %zu bytes", name,
                       count, count * esize);
    const uint8_t *data = buf + off + hlen;
    for (size_t i = 0; i < count; i++)
        values[i] = element(data + i * esize, t);
    *n = count;
    return DPSIM_OK;
}

dpsim_status dpsim_npy_parse(dpsim_ctx *ctx, const void *data, size_t size, const char *name,
                             double *values, size_t max, size_t *n)
{
    ctx_clear(ctx);
    if ((!data && size) || !values || !n)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_npy_parse: NULL argument");
    errbuf e = {{0}};
    dpsim_status s = parse(data, size, name ? name : "<memory>", values, max, n, &e);
    return s == DPSIM_OK ? s : ctx_fail_err(ctx, s, &e);
}

dpsim_status dpsim_npy_read(dpsim_ctx *ctx, const char *path, double *values, size_t max,
                            size_t *n)
{
    ctx_clear(ctx);
    if (!path || !values || !n)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_npy_read: NULL argument");
    errbuf e = {{0}};
    uint8_t *buf;
    size_t size;
    dpsim_status s = file_read_all(path, NPY_MAX_FILE, &buf, &size, &e);
    if (s != DPSIM_OK) {
        err_prefix(&e, "npy");
        return ctx_fail_err(ctx, s, &e);
    }
    s = parse(buf, size, path, values, max, n, &e);
    dp_free(buf);
    return s == DPSIM_OK ? s : ctx_fail_err(ctx, s, &e);
}
