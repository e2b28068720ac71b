/*
 * pickle.h - a restricted pickle reader for torch.save output. It executes
 * nothing: it builds a value tree (a node arena addressed by index) from the
 * opcodes torch.save emits, calls only whitelisted torch/collections globals
 * by building special nodes for them, and rejects everything else.
 * The tree is acyclic: a container stored inside another value is frozen.
 * Strings point into the input buffer, which must outlive the document.
 */
#ifndef DPSIM_WEIGHTS_PICKLE_H
#define DPSIM_WEIGHTS_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "weights/tensors.h"

typedef enum pk_kind {
    PK_NONE,
    PK_BOOL,    /* u.i is 0 or 1 */
    PK_INT,     /* u.i */
    PK_BIGINT,  /* u.s: little-endian two's complement bytes of an int wider than 64 bits */
    PK_FLOAT,   /* u.f */
    PK_STR,     /* u.s: str (and Python 2 str), bytes as found in the file */
    PK_BYTES,   /* u.s */
    PK_TUPLE,   /* u.items[len] */
    PK_LIST,    /* u.items[len] */
    PK_DICT,    /* u.items[len]: key0, value0, key1, value1, ... in insertion order */
    PK_GLOBAL,  /* u.global: a whitelisted global (callable or storage type marker) */
    PK_STORAGE, /* u.aux: index into doc->storages (from a persistent id) */
    PK_TENSOR   /* u.aux: index into doc->tensors (from _rebuild_tensor[_v2]) */
} pk_kind;

/** A whitelisted global. Storage types carry what a storage of that type holds. */
typedef struct pk_global {
    const char *module, *name;
    int callable;          /* what REDUCE does with it: see pickle.c */
    int elem_size;         /* storages: bytes per element; 0 for callables */
    int is_float;          /* storages: 1 if dtype below is valid */
    tensor_dtype dtype;    /* storages: element type when is_float */
    const char *dtype_name; /* storages: torch dtype name, for messages */
} pk_global;

typedef struct pk_node {
    uint8_t kind;   /* pk_kind */
    uint8_t frozen; /* 1 once stored inside another value: it may no longer change */
    uint32_t len;   /* items in a tuple/list/dict (a dict holds 2 per entry) */
    uint32_t cap;
    union {
        int64_t i;
        double f;
        struct {
            const uint8_t *p;
            size_t n;
        } s;
        uint32_t *items;
        const pk_global *global;
        uint32_t aux;
    } u;
} pk_node;

/** A persistent id ('storage', type, key, location, numel[, view]). */
typedef struct pk_storage {
    const pk_global *type;
    const uint8_t *key; /* (key_len) bytes in the input, not NUL-terminated */
    size_t key_len;
    int64_t numel;       /* elements of the whole storage named by key */
    int64_t view_offset; /* legacy view: elements [view_offset, +view_numel) of it */
    int64_t view_numel;  /* == numel and view_offset == 0 when there is no view */
} pk_storage;

/** _rebuild_tensor_v2(storage, offset, size, stride, ...): element addressing, unchecked. */
typedef struct pk_tensor {
    uint32_t storage; /* node index of a PK_STORAGE */
    int64_t offset;   /* in elements, >= 0 */
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];  /* each >= 0 */
    int64_t stride[TENSOR_MAX_DIMS]; /* in elements, each >= 0 */
} pk_tensor;

typedef struct pickle_doc {
    pk_node *nodes;
    size_t n_nodes, cap_nodes;
    pk_storage *storages;
    size_t n_storages, cap_storages;
    pk_tensor *tensors;
    size_t n_tensors, cap_tensors;
    uint32_t root; /* the value STOP returned */
} pickle_doc;

/**
 * Read one pickle starting at buf[*pos] (buf holds len bytes) into *doc, which
 * is zeroed first. On success *pos is just past the STOP opcode. On failure
 * doc is freed, *pos is unchanged and e says what and where
 * ("pickle at offset N ...", offsets counted from buf).
 */
dpsim_status pickle_read(pickle_doc *doc, const uint8_t *buf, size_t len, size_t *pos,
                         errbuf *e);
void pickle_doc_free(pickle_doc *doc);

/** A node's kind in words ("a list", "an int"), for messages. */
const char *pickle_kind_name(const pickle_doc *doc, uint32_t node);

#endif
