/*
 * zipstore.c - the central directory of a torch.save ZIP archive, zip64
 * included, and checked views of its stored entries.
 * Invariants: every record is read only after its extent was checked against
 * the bytes and asked of the source; entry data must lie before the central
 * directory; nothing is decompressed and nothing outside the bytes is ever
 * addressed.
 */
#include "weights/zipstore.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/alloc.h"
#include "weights/tensors.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define LOCAL_SIZE 30   /* fixed part of a local file header */
#define CENTRAL_SIZE 46 /* fixed part of a central directory header */
#define EOCD_SIZE 22
#define EOCD64_SIZE 56
#define LOCATOR64_SIZE 20

// ---- little-endian fields ----

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* [off, off + n) lies within [0, len) */
static int fits(uint64_t off, uint64_t n, uint64_t len) { return off <= len && n <= len - off; }

// ---- end of central directory ----

typedef struct directory {
    uint64_t count, size, offset;
} directory;

/* The end record must be the file's last bytes (after its comment). */
static dpsim_status find_eocd(const byte_source *src, size_t *at, errbuf *e)
{
    const uint8_t *buf = src->buf;
    const size_t len = src->len;
    if (len < EOCD_SIZE)
        return err_set(e, DPSIM_E_FORMAT, "zip: %zu bytes is too short for an archive", len);
    /* torch writes no comment: the record is the last 22 bytes; else look back 64 KB */
    dpsim_status s = source_need(src, len - EOCD_SIZE, EOCD_SIZE, e);
    if (s)
        return s;
    if (rd32(buf + len - EOCD_SIZE) == SIG_EOCD && rd16(buf + len - 2) == 0) {
        *at = len - EOCD_SIZE;
        return DPSIM_OK;
    }
    size_t lowest = len - EOCD_SIZE > 0xffff ? len - EOCD_SIZE - 0xffff : 0;
    if ((s = source_need(src, lowest, len - lowest, e)))
        return s;
    for (size_t pos = len - EOCD_SIZE + 1; pos-- > lowest;) {
        if (rd32(buf + pos) == SIG_EOCD && pos + EOCD_SIZE + rd16(buf + pos + 20) == len) {
            *at = pos;
            return DPSIM_OK;
        }
    }
    return err_set(e, DPSIM_E_FORMAT, "zip: no end of central directory record, expected one "
                                      "at the end of the file");
}

static dpsim_status read_directory(const byte_source *src, directory *d, errbuf *e)
{
    const uint8_t *buf = src->buf;
    size_t at = 0;
    dpsim_status s = find_eocd(src, &at, e);
    if (s)
        return s;
    const uint8_t *p = buf + at;
    uint32_t disk = rd16(p + 4), cd_disk = rd16(p + 6);
    uint64_t disk_count = rd16(p + 8);
    d->count = rd16(p + 10);
    d->size = rd32(p + 12);
    d->offset = rd32(p + 16);
    if (disk_count == 0xffff || d->count == 0xffff || d->size == 0xffffffffu ||
        d->offset == 0xffffffffu) {
        /* zip64: a locator just before the end record points at the zip64 end record */
        if (at < LOCATOR64_SIZE ||
            (s = source_need(src, at - LOCATOR64_SIZE, LOCATOR64_SIZE, e)) ||
            rd32(buf + at - LOCATOR64_SIZE) != SIG_LOCATOR64)
            return s ? s : err_set(e, DPSIM_E_FORMAT, "zip: zip64 sizes without a zip64 locator");
        uint64_t off = rd64(buf + at - LOCATOR64_SIZE + 8);
        if (fits(off, EOCD64_SIZE, at - LOCATOR64_SIZE) &&
            (s = source_need(src, (size_t)off, EOCD64_SIZE, e)))
            return s;
        if (!fits(off, EOCD64_SIZE, at - LOCATOR64_SIZE) || rd32(buf + off) != SIG_EOCD64)
            return err_set(e, DPSIM_E_FORMAT, "zip: zip64 end record offset %llu is invalid",
                           (unsigned long long)off);
        p = buf + off;
        disk = rd32(p + 16);
        cd_disk = rd32(p + 20);
        disk_count = rd64(p + 24);
        d->count = rd64(p + 32);
        d->size = rd64(p + 40);
        d->offset = rd64(p + 48);
    }
    if (disk != 0 || cd_disk != 0 || disk_count != d->count)
        return err_set(e, DPSIM_E_FORMAT, "zip: multi-disk archives are not supported");
    if (!fits(d->offset, d->size, at))
        return err_set(e, DPSIM_E_FORMAT,
                       "zip: central directory at offset %llu (%llu bytes) lies outside the "
                       "file", (unsigned long long)d->offset, (unsigned long long)d->size);
    if (d->count > d->size / CENTRAL_SIZE)
        return err_set(e, DPSIM_E_FORMAT,
                       "zip: central directory of %llu bytes cannot hold %llu entries",
                       (unsigned long long)d->size, (unsigned long long)d->count);
    return source_need(src, (size_t)d->offset, (size_t)d->size, e);
}

// ---- central directory ----

/* Replace 0xffffffff sizes and offset by their zip64 extra field values. */
static int apply_zip64(zip_entry *en, const uint8_t *extra, size_t n, uint32_t disk_start)
{
    int want_size = en->size == 0xffffffffu, want_csize = en->csize == 0xffffffffu;
    int want_offset = en->local_offset == 0xffffffffu, want_disk = disk_start == 0xffff;
    if (!(want_size || want_csize || want_offset || want_disk))
        return 1;
    for (size_t pos = 0; pos + 4 <= n;) {
        uint32_t id = rd16(extra + pos), size = rd16(extra + pos + 2);
        if (size > n - pos - 4)
            return 0;
        const uint8_t *f = extra + pos + 4;
        if (id == 1) {
            size_t need = 8 * (size_t)(want_size + want_csize + want_offset) + 4 * want_disk;
            if (size < need)
                return 0;
            uint64_t *fields[3] = {&en->size, &en->csize, &en->local_offset};
            int wanted[3] = {want_size, want_csize, want_offset};
            for (int k = 0; k < 3; k++) {
                if (wanted[k]) {
                    *fields[k] = rd64(f);
                    f += 8;
                }
            }
            return !want_disk || rd32(f) == 0;
        }
        pos += 4 + size;
    }
    return 0;
}

static int compare_entries(const void *a, const void *b)
{
    const zip_entry *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static dpsim_status read_entry(const uint8_t *buf, const directory *d, uint64_t *pos,
                               zip_entry *en, errbuf *e)
{
    uint64_t end = d->offset + d->size;
    if (!fits(*pos, CENTRAL_SIZE, end) || rd32(buf + *pos) != SIG_CENTRAL)
        return err_set(e, DPSIM_E_FORMAT, "zip: central directory entry at offset %llu is "
                                          "damaged", (unsigned long long)*pos);
    const uint8_t *p = buf + *pos;
    uint64_t name_len = rd16(p + 28), extra_len = rd16(p + 30), comment_len = rd16(p + 32);
    if (!fits(*pos + CENTRAL_SIZE, name_len + extra_len + comment_len, end))
        return err_set(e, DPSIM_E_FORMAT, "zip: central directory entry at offset %llu runs "
                                          "past the directory", (unsigned long long)*pos);
    en->flags = (uint16_t)rd16(p + 8);
    en->method = (uint16_t)rd16(p + 10);
    en->crc = rd32(p + 16);
    en->csize = rd32(p + 20);
    en->size = rd32(p + 24);
    en->local_offset = rd32(p + 42);
    en->name = p + CENTRAL_SIZE;
    en->name_len = (size_t)name_len;
    if (!apply_zip64(en, en->name + name_len, (size_t)extra_len, rd16(p + 34)))
        return err_set(e, DPSIM_E_FORMAT, "zip: entry at offset %llu has a missing or "
                                          "damaged zip64 field", (unsigned long long)*pos);
    if (name_len == 0 || memchr(en->name, 0, (size_t)name_len))
        return err_set(e, DPSIM_E_FORMAT, "zip: entry at offset %llu has an empty name or "
                                          "one with a NUL byte", (unsigned long long)*pos);
    *pos += CENTRAL_SIZE + name_len + extra_len + comment_len;
    return DPSIM_OK;
}

dpsim_status zip_open(zipstore *z, const byte_source *src, errbuf *e)
{
    memset(z, 0, sizeof *z);
    directory d;
    dpsim_status s = read_directory(src, &d, e);
    if (s)
        return s;
    zip_entry *entries = dp_calloc((size_t)d.count, sizeof *entries);
    if (!entries)
        return err_set(e, DPSIM_E_NOMEM, "zip: out of memory for %llu entries",
                       (unsigned long long)d.count);
    uint64_t pos = d.offset;
    for (uint64_t i = 0; !s && i < d.count; i++)
        s = read_entry(src->buf, &d, &pos, &entries[i], e);
    if (!s) {
        qsort(entries, (size_t)d.count, sizeof *entries, compare_entries);
        for (size_t i = 1; !s && i < d.count; i++) {
            if (compare_entries(&entries[i - 1], &entries[i]) == 0) {
                char name[NAME_MSG_LEN];
                s = err_set(e, DPSIM_E_FORMAT, "zip: entry '%s' appears twice",
                            name_for_msg(name, entries[i].name, entries[i].name_len));
            }
        }
    }
    if (s) {
        dp_free(entries);
        return s;
    }
    z->src = *src;
    z->entries = entries;
    z->count = (size_t)d.count;
    z->cd_offset = d.offset;
    return DPSIM_OK;
}

void zip_close(zipstore *z)
{
    dp_free(z->entries);
    memset(z, 0, sizeof *z);
}

const zip_entry *zip_find(const zipstore *z, const char *name, size_t name_len)
{
    zip_entry key = {.name = (const uint8_t *)name, .name_len = name_len};
    if (!z->count)
        return NULL;
    return bsearch(&key, z->entries, z->count, sizeof key, compare_entries);
}

// ---- entry data ----

/*
 * A local header field agrees with the central one. With a data descriptor
 * (flag bit 3, which torch sets) it may be 0; a size may be the zip64 marker.
 */
static int agrees(uint32_t local, uint64_t central, int descriptor, int is_size)
{
    if ((descriptor && local == 0) || (is_size && local == 0xffffffffu))
        return 1;
    return local == central;
}

dpsim_status zip_entry_data(zipstore *z, const zip_entry *en, const uint8_t **data,
                            size_t *size, errbuf *e)
{
    char name[NAME_MSG_LEN];
    name_for_msg(name, en->name, en->name_len);
    if (en->flags & 1)
        return err_set(e, DPSIM_E_FORMAT, "zip: entry '%s' is encrypted", name);
    if (en->method != 0 || en->csize != en->size)
        return err_set(e, DPSIM_E_FORMAT,
                       "zip: entry '%s' is compressed (method %u), expected stored entries",
                       name, en->method);
    if (!fits(en->local_offset, LOCAL_SIZE, z->cd_offset))
        return err_set(e, DPSIM_E_FORMAT, "zip: entry '%s' has local header offset %llu past "
                                          "the end of the data", name,
                       (unsigned long long)en->local_offset);
    dpsim_status s = source_need(&z->src, (size_t)en->local_offset, LOCAL_SIZE, e);
    if (s)
        return s;
    const uint8_t *p = z->src.buf + en->local_offset;
    uint32_t flags = rd16(p + 6);
    uint64_t name_len = rd16(p + 26), extra_len = rd16(p + 28);
    int descriptor = (flags & 8) != 0;
    const int name_fits = name_len == en->name_len &&
                          fits(en->local_offset + LOCAL_SIZE, name_len, z->cd_offset);
    if (name_fits &&
        (s = source_need(&z->src, (size_t)en->local_offset + LOCAL_SIZE, name_len, e)))
        return s;
    if (rd32(p) != SIG_LOCAL || rd16(p + 8) != en->method || !name_fits ||
        memcmp(p + LOCAL_SIZE, en->name, en->name_len) != 0 ||
        !agrees(rd32(p + 14), en->crc, descriptor, 0) ||
        !agrees(rd32(p + 18), en->csize, descriptor, 1) ||
        !agrees(rd32(p + 22), en->size, descriptor, 1))
        return err_set(e, DPSIM_E_FORMAT, "zip: entry '%s' has a local header that disagrees "
                                          "with the central directory", name);
    uint64_t start = en->local_offset + LOCAL_SIZE + name_len + extra_len;
    if (!fits(start, en->size, z->cd_offset)) /* so size also fits in size_t */
        return err_set(e, DPSIM_E_FORMAT, "zip: entry '%s' (%llu bytes at offset %llu) runs "
                                          "past the end of the data", name,
                       (unsigned long long)en->size, (unsigned long long)start);
    if (!en->verified && (s = source_need(&z->src, (size_t)start, (size_t)en->size, e)))
        return s;
    if (!en->verified && crc32_z(0, z->src.buf + start, (size_t)en->size) != en->crc)
        return err_set(e, DPSIM_E_FORMAT, "zip: entry '%s' fails its CRC-32 check", name);
    z->entries[en - z->entries].verified = 1; /* storages shared by many tensors: CRC once */
    *data = z->src.buf + start;
    *size = (size_t)en->size;
    return DPSIM_OK;
}
