/*
 * fuzz_weights.h - the checks shared by the weights reader targets: on
 * failure the list stays empty and the error says why; on success every
 * tensor has a name, a valid shape and numel matching it, and its values
 * can be read. Each input also goes through weights_view_memory (tensors
 * left in place, as the model loader reads them) on an exact-size copy, so
 * a view reaching past the input is caught by the sanitizers.
 */
#ifndef DPSIM_TESTS_FUZZ_WEIGHTS_H
#define DPSIM_TESTS_FUZZ_WEIGHTS_H

#include <stdlib.h>
#include <string.h>

#include "weights/tensors.h"

typedef dpsim_status (*weights_reader)(const uint8_t *buf, size_t len, tensor_list *out,
                                       errbuf *e);

static void check_result(dpsim_status s, tensor_list *out, const errbuf *e);

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
    check_result(weights_view_memory(copy, size, &list, &e), &list, &e);
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
