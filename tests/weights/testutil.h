/*
 * testutil.h - fixture paths and small helpers shared by the weights tests.
 * Fixtures live in tests/weights/fixtures (from $DPSIM_SOURCE_ROOT, else
 * relative to the working directory, which meson sets to tests/weights).
 */
#ifndef DPSIM_TESTS_WEIGHTS_TESTUTIL_H
#define DPSIM_TESTS_WEIGHTS_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "weights/tensors.h"

static const char *fixture_path(const char *name)
{
    static char path[4096];
    const char *root = getenv("DPSIM_SOURCE_ROOT");
    if (root && *root)
        snprintf(path, sizeof path, "%s/tests/weights/fixtures/%s", root, name);
    else
        snprintf(path, sizeof path, "fixtures/%s", name);
    return path;
}

/* The bytes of a fixture (dp_free them), or NULL with a message. */
static uint8_t *read_fixture(const char *name, size_t *len)
{
    uint8_t *buf = NULL;
    errbuf e = {{0}};
    if (file_read_all(fixture_path(name), (size_t)1 << 30, &buf, len, &e) != DPSIM_OK) {
        fprintf(stderr, "cannot read fixture: %s\n", e.msg);
        return NULL;
    }
    return buf;
}

static int list_is_empty(const tensor_list *l)
{
    return l->items == NULL && l->count == 0 && l->cap == 0 && l->metadata == NULL;
}

#endif
