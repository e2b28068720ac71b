/*
 * checkpoint.c - PyTorch checkpoints (legacy pickle stream or zip archive)
 * into a tensor_list. Both come down to one pickle whose tensors name storages
 * by key plus a key -> bytes table; each storage's bytes are checked to hold
 * its declared element count, and each tensor's addressed elements to lie
 * inside its storage, before anything is gathered and converted to float32.
 * A storage's bytes are asked of the byte_source (and a zip entry's CRC-32
 * checked) only when a tensor the list wants uses it.
 */
#include "weights/tensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "weights/pickle.h"
#include "weights/zipstore.h"


/* pickled magic number 0x1950a86a20f9469cfc6c, as LONG1 little-endian bytes */
static const uint8_t legacy_magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                         0x20, 0x6a, 0xa8, 0x50, 0x19};
#define LEGACY_PROTOCOL 1001
#define LEGACY_FIRST_READ ((size_t)256) /* bytes asked for first (a file source reads 64 KB) */

/*
 * Output bytes (values, names, list entries) allowed per input byte, plus
 * EXTRA_BYTES: room for half precision and shared storages, but no
 * decompression bomb from tensors that expand (stride 0), from one storage
 * or one long key reused many times.
 */
#define BYTES_PER_BYTE 8
#define EXTRA_BYTES ((size_t)1 << 26)

typedef struct source {
    const char *label; /* "checkpoint 'path'" */
    const byte_source *in;
    errbuf *e;
    size_t budget; /* output bytes left */
    pickle_doc doc;         /* the object pickle */
    const uint8_t **bytes;  /* (doc.n_storages) start of the whole storage each id names,
                             * there once storage_ready says so */
    zipstore *zip;          /* a zip archive's, or NULL (legacy) */
    const zip_entry **entries; /* (doc.n_storages) a zip archive's entry of each storage */
    uint8_t *ready;         /* (doc.n_storages) bytes[i] read (and checked) */
} source;

static dpsim_status fail(const source *src, dpsim_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static dpsim_status fail(const source *src, dpsim_status status, const char *fmt, ...)
{
    char msg[ERRBUF_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(src->e, status, "%s: %s", src->label, msg);
}

/* Prefix an error a helper already described with the checkpoint label. */
static dpsim_status relabel(const source *src, dpsim_status status)
{
    err_prefix(src->e, "%s", src->label);
    return status;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return v;
}

/* Bytes of numel elements of a storage type, or 0 on overflow past SIZE_MAX. */
static int storage_bytes(const pk_storage *st, uint64_t numel, size_t *bytes)
{
    return numel <= SIZE_MAX && size_mul((size_t)numel, (size_t)st->type->elem_size, bytes);
}

// ---- tensors ----

/*
 * Check that tensor t addresses only elements [0, avail) of its storage view
 * and return its element count.
 */
static dpsim_status check_extent(const source *src, const char *name, const pk_tensor *t,
                                 uint64_t avail, size_t *numel)
{
    uint64_t n = 1, last = (uint64_t)t->offset;
    for (int d = 0; d < t->ndim; d++) {
        uint64_t size = (uint64_t)t->shape[d];
        if (size && n > UINT64_MAX / size)
            return fail(src, DPSIM_E_FORMAT, "tensor '%s' has too many elements", name);
        n *= size;
    }
    if (n == 0) {
        *numel = 0;
        return DPSIM_OK;
    }
    for (int d = 0; d < t->ndim; d++) {
        uint64_t span = (uint64_t)t->shape[d] - 1, stride = (uint64_t)t->stride[d];
        if (stride && span > (UINT64_MAX - last) / stride) {
            last = UINT64_MAX;
            break;
        }
        last += span * stride;
    }
    if (last >= avail)
        return fail(src, DPSIM_E_FORMAT,
                    "tensor '%s' reaches element %llu of a storage of %llu elements", name,
                    (unsigned long long)last, (unsigned long long)avail);
    if (n > SIZE_MAX / sizeof(float))
        return fail(src, DPSIM_E_LIMIT, "tensor '%s' has too many elements", name);
    *numel = (size_t)n;
    return DPSIM_OK;
}

/* Whether t's elements are one run in C order (the usual case). */
static int contiguous(const pk_tensor *t)
{
    int64_t dense = 1;
    int run = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        run &= t->shape[d] == 1 || t->stride[d] == dense;
        dense *= t->shape[d];
    }
    return run;
}

/* Gather strided t's numel (> 0) elements in row-major order into dst, converting to float32. */
static void gather(float *dst, const uint8_t *base, const pk_tensor *t, size_t numel,
                   tensor_dtype dt)
{
    size_t es = tensor_dtype_size(dt);
    int outer = t->ndim ? t->ndim - 1 : 0;
    size_t inner = t->ndim ? (size_t)t->shape[t->ndim - 1] : 1;
    size_t inner_stride = t->ndim ? (size_t)t->stride[t->ndim - 1] : 0;
    int64_t idx[TENSOR_MAX_DIMS] = {0};
    for (size_t row = 0; row < numel / inner; row++) {
        size_t pos = (size_t)t->offset;
        for (int d = 0; d < outer; d++)
            pos += (size_t)(idx[d] * t->stride[d]);
        if (inner_stride == 1) {
            tensor_convert(dst, base + pos * es, inner, dt);
        } else {
            for (size_t j = 0; j < inner; j++)
                tensor_convert(dst + j, base + (pos + j * inner_stride) * es, 1, dt);
        }
        dst += inner;
        for (int d = outer - 1; d >= 0 && ++idx[d] == t->shape[d]; d--)
            idx[d] = 0;
    }
}

/* Make storage si's bytes readable at src->bytes[si]: asked of the source, a zip entry's CRC checked. */
static dpsim_status storage_ready(source *src, uint32_t si)
{
    if (src->ready[si])
        return DPSIM_OK;
    const pk_storage *st = &src->doc.storages[si];
    dpsim_status s;
    if (src->zip) {
        size_t got;
        s = zip_entry_data(src->zip, src->entries[si], &src->bytes[si], &got, src->e);
    } else {
        size_t bytes = 0;
        storage_bytes(st, (uint64_t)st->numel, &bytes); /* checked by walk_data */
        s = source_need(src->in, (size_t)(src->bytes[si] - src->in->buf), bytes, src->e);
    }
    if (s)
        return relabel(src, s);
    src->ready[si] = 1;
    return DPSIM_OK;
}

/* Add dict entry (key, value) to list; shown is the key made printable. */
static dpsim_status add_tensor(source *src, tensor_list *list, const pk_node *key,
                               const char *shown, uint32_t value)
{
    const pickle_doc *doc = &src->doc;
    const pk_node *v = &doc->nodes[value];
    if (v->kind != PK_TENSOR)
        return fail(src, DPSIM_E_FORMAT, "'%s' is %s, expected a tensor", shown,
                    pickle_kind_name(doc, value));
    const pk_tensor *t = &doc->tensors[v->u.aux];
    uint32_t si = doc->nodes[t->storage].u.aux;
    const pk_storage *st = &doc->storages[si];
    if (!st->type->is_float)
        return fail(src, DPSIM_E_FORMAT,
                    "tensor '%s' has dtype %s (torch.%s), expected a floating-point tensor",
                    shown, st->type->dtype_name, st->type->name);
    size_t numel = 0;
    dpsim_status s = check_extent(src, shown, t, (uint64_t)st->view_numel, &numel);
    if (s)
        return s;
    char *name = dp_malloc(key->u.s.n + 1);
    if (!name)
        return fail(src, DPSIM_E_NOMEM, "out of memory");
    memcpy(name, key->u.s.p, key->u.s.n);
    name[key->u.s.n] = '\0';
    if (list->want && !list->want(list->want_ctx, name)) {
        dp_free(name);
        return DPSIM_OK;
    }
    size_t cost = numel * sizeof(float), fixed = key->u.s.n + 1 + sizeof(tensor);
    if (cost > src->budget || fixed > src->budget - cost) {
        dp_free(name);
        return fail(src, DPSIM_E_LIMIT, "tensor '%s' (%zu elements) makes the output larger "
                                        "than the file size allows (expanded or reused "
                                        "storages)", shown, numel);
    }
    src->budget -= cost + fixed;
    if ((s = storage_ready(src, si))) {
        dp_free(name);
        return s;
    }
    const uint8_t *base = src->bytes[si] + (size_t)st->view_offset * (size_t)st->type->elem_size;
    const tensor_dtype dt = st->type->dtype;
    if (numel && contiguous(t))
        s = tensor_list_add_data(list, name, t->ndim, t->shape,
                                 base + (size_t)t->offset * tensor_dtype_size(dt), dt, src->e);
    else if ((s = tensor_list_add(list, name, t->ndim, t->shape, NULL, src->e)) == DPSIM_OK &&
             numel)
        gather(list->items[list->count - 1].data, base, t, numel, dt);
    dp_free(name);
    return s ? relabel(src, s) : DPSIM_OK;
}

/* The object pickle's top-level dict, in its order, with its storages resolved. */
static dpsim_status build_list(source *src, tensor_list *out)
{
    const pickle_doc *doc = &src->doc;
    const pk_node *root = &doc->nodes[doc->root];
    if (root->kind != PK_DICT)
        return fail(src, DPSIM_E_FORMAT, "top-level object is %s, expected a dict of tensors",
                    pickle_kind_name(doc, doc->root));
    tensor_list list = {.views = out->views, .want = out->want, .want_ctx = out->want_ctx};
    dpsim_status s = DPSIM_OK;
    for (uint32_t k = 0; !s && k < root->len; k += 2) {
        const pk_node *key = &doc->nodes[root->u.items[k]];
        if (key->kind != PK_STR) {
            s = fail(src, DPSIM_E_FORMAT, "key %u is %s, expected a str", k / 2,
                     pickle_kind_name(doc, root->u.items[k]));
            break;
        }
        char shown[NAME_MSG_LEN];
        name_for_msg(shown, key->u.s.p, key->u.s.n);
        if (memchr(key->u.s.p, 0, key->u.s.n))
            s = fail(src, DPSIM_E_FORMAT, "key '%s' contains a NUL byte", shown);
        else
            s = add_tensor(src, &list, key, shown, root->u.items[k + 1]);
    }
    if (!s && (s = tensor_list_check_unique(&list, src->e)))
        relabel(src, s);
    if (s) {
        tensor_list_free(&list);
        return s;
    }
    *out = list;
    return DPSIM_OK;
}

static dpsim_status alloc_bytes(source *src)
{
    size_t n = src->doc.n_storages ? src->doc.n_storages : 1;
    src->bytes = dp_calloc(n, sizeof *src->bytes);
    src->ready = dp_calloc(n, 1);
    if (src->zip)
        src->entries = dp_calloc(n, sizeof *src->entries);
    return src->bytes && src->ready && (!src->zip || src->entries)
               ? DPSIM_OK
               : fail(src, DPSIM_E_NOMEM, "out of memory");
}

/* Back to no storages (a legacy read that starts over on more of the file). */
static void free_storages(source *src)
{
    dp_free(src->bytes);
    dp_free(src->ready);
    dp_free(src->entries);
    src->bytes = NULL;
    src->ready = NULL;
    src->entries = NULL;
}

// ---- zip format ----

/* The archive folder: the X of the one entry named "X/data.pkl" with X free of '/'. */
static dpsim_status find_prefix(const source *src, const zipstore *z, const zip_entry **pkl)
{
    static const char suffix[] = "/data.pkl";
    const size_t sn = sizeof suffix - 1;
    *pkl = NULL;
    for (size_t i = 0; i < z->count; i++) {
        const zip_entry *en = &z->entries[i];
        if (en->name_len <= sn || memcmp(en->name + en->name_len - sn, suffix, sn) != 0 ||
            memchr(en->name, '/', en->name_len - sn))
            continue;
        if (*pkl)
            return fail(src, DPSIM_E_FORMAT, "zip holds more than one '*/data.pkl', expected "
                                             "one torch.save archive");
        *pkl = en;
    }
    if (!*pkl)
        return fail(src, DPSIM_E_FORMAT, "zip has no '<name>/data.pkl' entry, expected a "
                                         "torch.save archive");
    return DPSIM_OK;
}

/* The entry named prefix + mid + tail, or *en = NULL when there is none. */
static dpsim_status find_member(const source *src, const zipstore *z, const zip_entry *pkl,
                                const char *mid, const uint8_t *tail, size_t tail_len,
                                const zip_entry **en)
{
    size_t prefix_len = pkl->name_len - strlen("/data.pkl"), mid_len = strlen(mid);
    size_t n = prefix_len + mid_len + tail_len;
    char *path = dp_malloc(n);
    if (!path)
        return fail(src, DPSIM_E_NOMEM, "out of memory");
    memcpy(path, pkl->name, prefix_len);
    memcpy(path + prefix_len, mid, mid_len);
    if (tail_len)
        memcpy(path + prefix_len + mid_len, tail, tail_len);
    *en = zip_find(z, path, n);
    dp_free(path);
    return DPSIM_OK;
}

/* Find entry "<prefix>/data/<key>" of each storage i (src->entries[i]), sized exactly. */
static dpsim_status zip_storages(source *src, zipstore *z, const zip_entry *pkl)
{
    dpsim_status s = alloc_bytes(src);
    for (size_t i = 0; !s && i < src->doc.n_storages; i++) {
        const pk_storage *st = &src->doc.storages[i];
        const zip_entry *en = NULL;
        char shown[NAME_MSG_LEN];
        size_t want;
        name_for_msg(shown, st->key, st->key_len);
        if ((s = find_member(src, z, pkl, "/data/", st->key, st->key_len, &en)))
            return s;
        if (!en)
            return fail(src, DPSIM_E_FORMAT, "storage '%s' has no 'data/%s' entry", shown, shown);
        src->entries[i] = en;
        const uint64_t got = en->size;
        if (!storage_bytes(st, (uint64_t)st->numel, &want) || want != got)
            return fail(src, DPSIM_E_FORMAT,
                        "storage '%s' holds %llu bytes, expected %lld elements of %d bytes",
                        shown, (unsigned long long)got, (long long)st->numel,
                        st->type->elem_size);
    }
    return s;
}

/* Newer torch records the byte order; every storage must be little-endian. */
static dpsim_status check_byteorder(const source *src, zipstore *z, const zip_entry *pkl)
{
    const zip_entry *order = NULL;
    const uint8_t *data = NULL;
    size_t size = 0;
    dpsim_status s = find_member(src, z, pkl, "/byteorder", NULL, 0, &order);
    if (s || !order)
        return s;
    if ((s = zip_entry_data(z, order, &data, &size, src->e)))
        return relabel(src, s);
    if (size != 6 || memcmp(data, "little", 6) != 0)
        return fail(src, DPSIM_E_FORMAT, "byteorder is not 'little', expected a little-endian "
                                         "checkpoint");
    return DPSIM_OK;
}

static dpsim_status read_zip(source *src, tensor_list *out)
{
    zipstore z;
    dpsim_status s = zip_open(&z, src->in, src->e);
    if (s)
        return relabel(src, s);
    src->zip = &z;
    const zip_entry *pkl = NULL;
    const uint8_t *data = NULL;
    size_t size = 0, pos = 0;
    if ((s = find_prefix(src, &z, &pkl)) || (s = check_byteorder(src, &z, pkl)))
        goto done;
    if ((s = zip_entry_data(&z, pkl, &data, &size, src->e)) ||
        (s = pickle_read(&src->doc, data, size, &pos, src->e))) {
        relabel(src, s);
        goto done;
    }
    if (pos != size) {
        s = fail(src, DPSIM_E_FORMAT, "data.pkl has %zu bytes after its pickle", size - pos);
        goto done;
    }
    if (!(s = zip_storages(src, &z, pkl)))
        s = build_list(src, out);
done:
    zip_close(&z);
    src->zip = NULL;
    return s;
}

// ---- legacy format ----

typedef struct blob {
    const uint8_t *key;
    size_t key_len;
    const pk_global *type; /* from the first storage id naming the key; NULL if none */
    int64_t numel;
    const uint8_t *data; /* numel elements in the file */
} blob;

static int compare_blobs(const void *a, const void *b)
{
    const blob *x = *(const blob *const *)a, *y = *(const blob *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* The small pickles before the object: magic number, protocol version, sys info. */
static dpsim_status legacy_header(const source *src, const uint8_t *buf, size_t len,
                                  size_t *pos)
{
    pickle_doc d;
    dpsim_status s = pickle_read(&d, buf, len, pos, src->e);
    if (s == DPSIM_E_NOMEM)
        return relabel(src, s);
    if (s)
        return fail(src, DPSIM_E_FORMAT, "neither a zip archive nor a legacy pickle with the "
                                         "torch magic number, expected a torch.save file");
    const pk_node *magic = &d.nodes[d.root];
    int ok = magic->kind == PK_BIGINT && magic->u.s.n == sizeof legacy_magic &&
             memcmp(magic->u.s.p, legacy_magic, sizeof legacy_magic) == 0;
    pickle_doc_free(&d);
    if (!ok)
        return fail(src, DPSIM_E_FORMAT, "legacy pickle does not start with the torch magic "
                                         "number, expected a torch.save file");
    s = pickle_read(&d, buf, len, pos, src->e);
    if (s)
        return relabel(src, s);
    const pk_node *version = &d.nodes[d.root];
    ok = version->kind == PK_INT && version->u.i == LEGACY_PROTOCOL;
    pickle_doc_free(&d);
    if (!ok)
        return fail(src, DPSIM_E_FORMAT, "legacy protocol version is not %d", LEGACY_PROTOCOL);
    if ((s = pickle_read(&d, buf, len, pos, src->e)))
        return relabel(src, s);
    const pk_node *info = &d.nodes[d.root];
    for (uint32_t k = 0; ok && info->kind == PK_DICT && k < info->len; k += 2) {
        const pk_node *key = &d.nodes[info->u.items[k]], *v = &d.nodes[info->u.items[k + 1]];
        if (key->kind == PK_STR && key->u.s.n == 13 && !memcmp(key->u.s.p, "little_endian", 13))
            ok = v->kind == PK_BOOL && v->u.i == 1;
    }
    ok = ok && info->kind == PK_DICT;
    pickle_doc_free(&d);
    if (!ok)
        return fail(src, DPSIM_E_FORMAT, "sys info is not a dict with little_endian true, "
                                         "expected a little-endian checkpoint");
    return DPSIM_OK;
}

/* Match storage ids with the listed keys (sorted) and check they agree. */
static dpsim_status bind_ids(source *src, blob **sorted, size_t n)
{
    for (size_t i = 0; i < src->doc.n_storages; i++) {
        const pk_storage *st = &src->doc.storages[i];
        blob key = {.key = st->key, .key_len = st->key_len}, *kp = &key;
        blob **found = n ? bsearch(&kp, sorted, n, sizeof *sorted, compare_blobs) : NULL;
        char shown[NAME_MSG_LEN];
        name_for_msg(shown, st->key, st->key_len);
        if (!found)
            return fail(src, DPSIM_E_FORMAT, "storage '%s' is not in the file's storage list",
                        shown);
        blob *b = *found;
        if (!b->type) {
            b->type = st->type;
            b->numel = st->numel;
        } else if (b->type != st->type || b->numel != st->numel) {
            return fail(src, DPSIM_E_FORMAT, "storage '%s' is named with two types or sizes",
                        shown);
        }
    }
    return DPSIM_OK;
}

/* Per listed key, in list order: 8-byte element count, then the raw elements (not read here). */
static dpsim_status walk_data(source *src, blob *blobs, size_t n, size_t pos)
{
    const uint8_t *buf = src->in->buf;
    const size_t len = src->in->len;
    for (size_t i = 0; i < n; i++) {
        blob *b = &blobs[i];
        char shown[NAME_MSG_LEN];
        name_for_msg(shown, b->key, b->key_len);
        if (!b->type)
            return fail(src, DPSIM_E_FORMAT, "storage '%s' is listed but no tensor uses it",
                        shown);
        if (len - pos < 8)
            return fail(src, DPSIM_E_FORMAT, "file ends at offset %zu, before storage '%s'",
                        len, shown);
        dpsim_status s = source_need(src->in, pos, 8, src->e);
        if (s)
            return relabel(src, s);
        uint64_t count = rd64(buf + pos);
        pos += 8;
        pk_storage st = {.type = b->type};
        size_t bytes;
        if (count != (uint64_t)b->numel)
            return fail(src, DPSIM_E_FORMAT, "storage '%s' has %llu elements, expected %lld",
                        shown, (unsigned long long)count, (long long)b->numel);
        if (!storage_bytes(&st, count, &bytes) || bytes > len - pos)
            return fail(src, DPSIM_E_FORMAT, "storage '%s' needs %llu elements of %d bytes at "
                                             "offset %zu, but the file ends at %zu",
                        shown, (unsigned long long)count, b->type->elem_size, pos, len);
        b->data = buf + pos;
        pos += bytes;
    }
    if (pos != len)
        return fail(src, DPSIM_E_FORMAT, "%zu unexpected bytes after the last storage",
                    len - pos);
    return DPSIM_OK;
}

/*
 * The storage keys' pickle at pos (within the first have bytes), then the
 * storages; *pickled: whether that pickle was read.
 */
static dpsim_status legacy_storages(source *src, size_t have, size_t pos, int *pickled)
{
    pickle_doc keys;
    dpsim_status s = pickle_read(&keys, src->in->buf, have, &pos, src->e);
    if (s)
        return relabel(src, s);
    *pickled = 1;
    const pk_node *list = &keys.nodes[keys.root];
    size_t n = list->kind == PK_LIST ? list->len : 0;
    blob *blobs = dp_calloc(n ? n : 1, sizeof *blobs);
    blob **sorted = dp_calloc(n ? n : 1, sizeof *sorted);
    if (!blobs || !sorted || (s = alloc_bytes(src))) {
        s = s ? s : fail(src, DPSIM_E_NOMEM, "out of memory");
        goto done;
    }
    if (list->kind != PK_LIST) {
        s = fail(src, DPSIM_E_FORMAT, "storage list is %s, expected a list of str",
                 pickle_kind_name(&keys, keys.root));
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const pk_node *k = &keys.nodes[list->u.items[i]];
        if (k->kind != PK_STR) {
            s = fail(src, DPSIM_E_FORMAT, "storage list item %zu is %s, expected a str", i,
                     pickle_kind_name(&keys, list->u.items[i]));
            goto done;
        }
        blobs[i].key = k->u.s.p;
        blobs[i].key_len = k->u.s.n;
        sorted[i] = &blobs[i];
    }
    qsort(sorted, n, sizeof *sorted, compare_blobs);
    for (size_t i = 1; i < n; i++) {
        if (compare_blobs(&sorted[i - 1], &sorted[i]) == 0) {
            char shown[NAME_MSG_LEN];
            s = fail(src, DPSIM_E_FORMAT, "storage '%s' is listed twice",
                     name_for_msg(shown, sorted[i]->key, sorted[i]->key_len));
            goto done;
        }
    }
    if ((s = bind_ids(src, sorted, n)) || (s = walk_data(src, blobs, n, pos)))
        goto done;
    for (size_t i = 0; i < src->doc.n_storages; i++) {
        const pk_storage *st = &src->doc.storages[i];
        blob key = {.key = st->key, .key_len = st->key_len}, *kp = &key;
        src->bytes[i] = (*(blob **)bsearch(&kp, sorted, n, sizeof *sorted, compare_blobs))->data;
    }
done:
    dp_free(sorted);
    dp_free(blobs);
    pickle_doc_free(&keys);
    return s;
}

/*
 * Whether the source moved its bytes to put the first storage of 4-byte (or
 * wider) elements on a multiple of 4. A legacy file's storages lie one after
 * the other with 8-byte counts between them, so its float32 storages share
 * one offset mod 4, set by the pickles' length: 1 in torchvision's
 * SqueezeNet file. Off it, every tensor would be a copy, not a view.
 */
static int moved_to_align(source *src)
{
    for (size_t i = 0; i < src->doc.n_storages; i++)
        if (src->doc.storages[i].type->elem_size % 4 == 0) {
            const uint8_t *before = src->in->buf;
            return source_align(src->in, (size_t)(src->bytes[i] - before), 4) &&
                   src->in->buf != before;
        }
    return 0;
}

/*
 * The pickles lie at the start, the storages after them. The pickles are read
 * from the first have bytes of the file; while one fails there, from twice
 * as many, up to the whole file (where a failure is the file's). Once read,
 * they are read again if the source moved its bytes to align the storages.
 */
static dpsim_status read_legacy(source *src, tensor_list *out)
{
    const size_t len = src->in->len;
    dpsim_status s = DPSIM_OK;
    size_t have = len < LEGACY_FIRST_READ ? len : LEGACY_FIRST_READ;
    for (int aligned = !out->views;;) {
        size_t pos = 0;
        int pickled = 0;
        pickle_doc_free(&src->doc);
        free_storages(src);
        if ((s = source_need(src->in, 0, have, src->e)))
            return relabel(src, s);
        if (!(s = legacy_header(src, src->in->buf, have, &pos)) &&
            (s = pickle_read(&src->doc, src->in->buf, have, &pos, src->e)))
            relabel(src, s);
        if (!s)
            s = legacy_storages(src, have, pos, &pickled);
        if (!s && !aligned) {
            aligned = 1;
            if (moved_to_align(src))
                continue; /* the same bytes, where buf now lies */
        }
        if (!s || pickled || have == len || s == DPSIM_E_NOMEM)
            break;
        have = len / 2 < have ? len : have * 2;
    }
    if (s)
        return s;
    if (src->e)
        src->e->msg[0] = '\0'; /* a shorter prefix's failure */
    return build_list(src, out);
}

// ---- entry points ----

static dpsim_status read_labeled(const char *label, const byte_source *in, tensor_list *out,
                                 errbuf *e)
{
    const size_t len = in->len;
    source src = {.label = label, .in = in, .e = e, .budget = SIZE_MAX};
    if (len <= (SIZE_MAX - EXTRA_BYTES) / BYTES_PER_BYTE)
        src.budget = EXTRA_BYTES + len * BYTES_PER_BYTE;
    dpsim_status s = source_need(in, 0, len < 4 ? len : 4, e);
    if (s)
        return relabel(&src, s);
    if (len >= 4 && memcmp(in->buf, "PK\x03\x04", 4) == 0)
        s = read_zip(&src, out);
    else
        s = read_legacy(&src, out);
    free_storages(&src);
    pickle_doc_free(&src.doc);
    return s;
}

dpsim_status checkpoint_read_source(const byte_source *src, tensor_list *out, errbuf *e)
{
    return read_labeled("checkpoint", src, out, e);
}

dpsim_status checkpoint_read_memory(const uint8_t *buf, size_t len, tensor_list *out, errbuf *e)
{
    if (!buf || !out)
        return err_set(e, DPSIM_E_INVAL, "checkpoint: NULL buffer or output");
    const byte_source src = {.buf = buf, .len = len};
    return read_labeled("checkpoint", &src, out, e);
}
