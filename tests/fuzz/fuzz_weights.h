/*
 * fuzz_weights.h - the checks shared by the weights reader targets: on
 * failure the list stays empty and the error says why; on success every
 * tensor has a name, a valid shape and numel matching it, and its values
 * can be read. Each input also goes through weights_view_memory (tensors
 * left in place, as the model loader reads them) on an exact-size copy, so
 * a view reaching past the input is caught by the sanitizers; and through a
 * source whose bytes are zero until a reader asks for them (source_need, as
 * a file read in parts, and may move them to align them), which must read
 * what the copy read, error or tensors, bit for bit, and with a list that
 * keeps only some tensors, must pass the checks.
 */
#ifndef DPSIM_TESTS_FUZZ_WEIGHTS_H
#define DPSIM_TESTS_FUZZ_WEIGHTS_H

#include <stdlib.h>
#include <string.h>

#include "weights/tensors.h"

typedef dpsim_status (*weights_reader)(const uint8_t *buf, size_t len, tensor_list *out,
                                       errbuf *e);

static void check_result(dpsim_status s, tensor_list *out, const errbuf *e);

/*
 * A source of data[0..len) whose bytes appear in src.buf (zeroed) as they are
 * asked for; src.buf lies in room (len + SOURCE_MAX_ALIGN bytes) and moves
 * there, its bytes with it, when a reader asks for them aligned.
 */
typedef struct lazy_bytes {
    byte_source src;
    const uint8_t *data;
    uint8_t *room;
} lazy_bytes;

static dpsim_status lazy_fill(void *ctx, size_t off, size_t n, errbuf *e)
{
    lazy_bytes *b = ctx;
    if (off > b->src.len || n > b->src.len - off)
        abort(); /* readers check extents before they ask */
    memcpy((uint8_t *)b->src.buf + off, b->data + off, n);
    (void)e;
    return DPSIM_OK;
}

static int lazy_place(void *ctx, size_t off, size_t align)
{
    lazy_bytes *b = ctx;
    if (off > b->src.len || align > SOURCE_MAX_ALIGN)
        abort(); /* readers ask to align what lies in the source, within the limit */
    uint8_t *to = b->room + (align - ((uintptr_t)b->room + off) % align) % align;
    memmove(to, b->src.buf, b->src.len);
    b->src.buf = to;
    return 1;
}

static int keep_some(void *ctx, const char *name)
{
    (void)ctx;
    return (unsigned char)name[0] % 2 == 0;
}

static int same_lists(const tensor_list *a, const tensor_list *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++) {
        const tensor *x = &a->items[i], *y = &b->items[i];
        if (strcmp(x->name, y->name) || x->ndim != y->ndim || x->numel != y->numel ||
            memcmp(x->shape, y->shape, sizeof x->shape) ||
            (x->numel && memcmp(x->data, y->data, x->numel * sizeof(float))))
            return 0;
    }
    return 1;
}

/* Read through a lazy source: the same as reading the copy (viewed), and, filtered, sound. */
static void check_lazy(const uint8_t *data, size_t size, dpsim_status want_status,
                       const tensor_list *want, const errbuf *want_e)
{
    lazy_bytes b = {.data = data, .room = calloc(size + SOURCE_MAX_ALIGN, 1)};
    if (!b.room)
        return;
    b.src = (byte_source){.buf = b.room, .len = size, .fill = lazy_fill, .place = lazy_place,
                          .ctx = &b};
    tensor_list list;
    memset(&list, 0, sizeof list);
    errbuf e = {{0}};
    dpsim_status s = weights_view_source(&b.src, &list, &e);
    if (s != want_status || strcmp(e.msg, want_e->msg) || !same_lists(&list, want))
        abort();
    check_result(s, &list, &e);
    memset(b.room, 0, size + SOURCE_MAX_ALIGN);
    memset(&list, 0, sizeof list);
    list.want = keep_some;
    e.msg[0] = '\0';
    s = weights_view_source(&b.src, &list, &e);
    check_result(s, &list, &e);
    free(b.room);
}

static int fuzz_weights_reader(weights_reader read, const uint8_t *data, size_t size)
{
    tensor_list list;
    memset(&list, 0, sizeof list);
    errbuf e = {{0}};
    check_result(read(data, size, &list, &e), &list, &e);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    memset(&list, 0, sizeof list);
    e.msg[0] = '\0';
    dpsim_status s = weights_view_memory(copy, size, &list, &e);
    check_lazy(data, size, s, &list, &e);
    check_result(s, &list, &e);
    free(copy);
    return 0;
}

/* The checks above on one reader's result; frees it. */
static void check_result(dpsim_status s, tensor_list *out, const errbuf *e)
{
    tensor_list list = *out;
    if (s != DPSIM_OK) {
        if (list.items || list.count || list.metadata || !e->msg[0])
            abort();
        return;
    }
    for (size_t i = 0; i < list.count; i++) {
        const tensor *t = &list.items[i];
        size_t numel = 1;
        if (!t->name || t->ndim < 0 || t->ndim > TENSOR_MAX_DIMS)
            abort();
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0)
                abort();
            numel *= (size_t)t->shape[d];
        }
        if (numel != t->numel || (numel && !t->data))
            abort();
        volatile float sink = 0;
        for (size_t j = 0; j < numel; j++)
            sink += t->data[j];
        (void)sink;
    }
    tensor_list_free(&list);
}

#endif
