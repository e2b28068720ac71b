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

#include "../check.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "weights/tensors.h"

static inline const char *fixture_path(const char *name)
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
static inline uint8_t *read_fixture(const char *name, size_t *len)
{
    uint8_t *buf = NULL;
    errbuf e = {{0}};
    if (file_read_all(fixture_path(name), (size_t)1 << 30, &buf, len, &e) != DPSIM_OK) {
        fprintf(stderr, "cannot read fixture: %s\n", e.msg);
        return NULL;
    }
    return buf;
}

static inline int list_is_empty(const tensor_list *l)
{
    return l->items == NULL && l->count == 0 && l->cap == 0 && l->metadata == NULL;
}

/*
 * weights_view_memory on a copy of buf reads what weights_read_memory does,
 * bit for bit; a tensor is a view exactly when its data lies in the copy.
 * Returns how many tensors were views.
 */
static inline int check_views_match(const char *what, const uint8_t *buf, size_t len)
{
    tensor_list copied = {0}, viewed = {0};
    errbuf e = {{0}};
    uint8_t *mine = dp_malloc(len ? len : 1);
    CHECK(mine != NULL);
    if (!mine)
        return 0;
    memcpy(mine, buf, len);
    CHECK_MSG(weights_read_memory(buf, len, &copied, &e) == DPSIM_OK, "%s: %s", what, e.msg);
    CHECK_MSG(weights_view_memory(mine, len, &viewed, &e) == DPSIM_OK, "%s: %s", what, e.msg);
    CHECK_MSG(copied.count == viewed.count, "%s: %zu tensors copied, %zu viewed", what,
              copied.count, viewed.count);
    int views = 0;
    for (size_t i = 0; i < copied.count && i < viewed.count; i++) {
        const tensor *c = &copied.items[i], *v = &viewed.items[i];
        const uint8_t *at = (const uint8_t *)v->data;
        const int inside = at >= mine && at < mine + len;
        views += v->view;
        CHECK_MSG(!c->view && v->view == inside, "%s: tensor '%s' view %d, inside %d", what,
                  v->name, v->view, inside);
        CHECK_MSG(!strcmp(c->name, v->name) && c->numel == v->numel &&
                      !memcmp(c->data, v->data, c->numel * sizeof(float)),
                  "%s: tensor '%s' differs between the copy and the view", what, c->name);
    }
    tensor_list_free(&copied);
    tensor_list_free(&viewed);
    dp_free(mine);
    return views;
}

#endif
