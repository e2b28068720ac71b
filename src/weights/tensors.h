/*
 * tensors.h - a named list of float32 tensors: what a checkpoint holds.
 * Every reader (PyTorch legacy/zip pickle, safetensors) produces one; the
 * model loader looks tensors up by name and checks shapes.
 */
#ifndef DPSIM_IO_TENSORS_H
#define DPSIM_IO_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TENSOR_MAX_DIMS 8

/** Element types that convert to float32 (all little-endian in files). */
typedef enum tensor_dtype { TENSOR_F32, TENSOR_F64, TENSOR_F16, TENSOR_BF16 } tensor_dtype;

typedef struct tensor {
    char *name;                     /* key in the file, e.g. "features.0.weight" */
    int ndim;                       /* 0..TENSOR_MAX_DIMS */
    int64_t shape[TENSOR_MAX_DIMS]; /* row-major (C order) */
    size_t numel;                   /* product of shape (1 for ndim 0) */
    float *data;                    /* (numel) contiguous, converted to float32 */
    int view;                       /* data lies in the buffer read (weights_view_memory) */
} tensor;

typedef struct tensor_list {
    tensor *items;
    size_t count;
    size_t cap;
    char *metadata; /* safetensors "__metadata__" as a JSON object text, or NULL */
    int views;      /* float32 data may stay in the buffer read: see weights_view_memory */
    /* NULL, or which tensors to read: one want returns 0 for is left out, its data
     * never read (a full torchvision checkpoint's classifier, 470 MB for VGG-16) */
    int (*want)(void *ctx, const char *name);
    void *want_ctx;
} tensor_list;

/*
 * The bytes of a weights file as the readers see them: buf[0..len). With fill
 * NULL all of them are there (a buffer in memory); else a part is there only
 * after fill(ctx, off, n) put it there (weights_file_source: a file read in
 * the parts that are needed). The readers ask for each part before they read it.
 * A source whose buf may move has place: place(ctx, off, align) moves buf, the
 * parts there with it, so that buf + off is a multiple of align (a power of
 * two up to SOURCE_MAX_ALIGN), and returns 1; pointers into the old buf are
 * then stale.
 */
typedef struct byte_source {
    const uint8_t *buf;
    size_t len;
    dpsim_status (*fill)(void *ctx, size_t off, size_t n, errbuf *e);
    int (*place)(void *ctx, size_t off, size_t align);
    void *ctx;
} byte_source;

#define SOURCE_MAX_ALIGN 64

/** Make buf[off, off + n) readable (off + n <= len, which callers check first). */
dpsim_status source_need(const byte_source *src, size_t off, size_t n, errbuf *e);
/**
 * Whether buf + off is a multiple of align, moving buf to make it one where
 * the source can (every pointer into buf is stale when buf moved).
 */
int source_align(const byte_source *src, size_t off, size_t align);

void tensor_list_free(tensor_list *list); /* frees contents; list itself is caller's */
const tensor *tensor_list_find(const tensor_list *list, const char *name);
/**
 * Append a copy of (name, shape, data). data may be NULL: the new tensor is then
 * zero-filled for the caller to fill in through list->items[list->count - 1].data.
 * Fails with DPSIM_E_SHAPE for ndim outside 0..TENSOR_MAX_DIMS, a negative
 * dimension or an element count that overflows.
 */
dpsim_status tensor_list_add(tensor_list *list, const char *name, int ndim, const int64_t *shape,
                             const float *data, errbuf *e);
/**
 * Append (name, shape) with the n elements of type dt at src: a view of src
 * when list->views allows it and src already holds aligned little-endian
 * float32 values, else a converted copy. Fails as tensor_list_add.
 */
dpsim_status tensor_list_add_data(tensor_list *list, const char *name, int ndim,
                                  const int64_t *shape, const uint8_t *src, tensor_dtype dt,
                                  errbuf *e);
/**
 * DPSIM_OK when all names differ; DPSIM_E_FORMAT naming a repeated one
 * ("duplicate tensor name 'x'"); DPSIM_E_NOMEM.
 */
dpsim_status tensor_list_check_unique(const tensor_list *list, errbuf *e);

/* ---- helpers shared by the readers ---- */

size_t tensor_dtype_size(tensor_dtype dt);
/** dst[i] = float(src element i) for i < n; src holds n little-endian elements of dt. */
void tensor_convert(float *dst, const uint8_t *src, size_t n, tensor_dtype dt);

#define NAME_MSG_LEN 96
/**
 * Copy a name from a file into out for an error message: at most
 * NAME_MSG_LEN - 1 bytes, bytes outside printable ASCII replaced by '?',
 * "..." when truncated. Returns out.
 */
const char *name_for_msg(char out[NAME_MSG_LEN], const void *name, size_t len);

/*
 * The readers below fill *out (which must be an empty, zeroed list) only on
 * success and leave it untouched on failure. Errors read
 * "checkpoint 'path': <problem>" or "safetensors 'path': <problem>" (no path
 * for the _memory variants); a file that cannot be read gives "'path': <why>".
 * Files larger than WEIGHTS_MAX_FILE_SIZE fail with DPSIM_E_LIMIT.
 */
#if SIZE_MAX > 0xffffffffu
#define WEIGHTS_MAX_FILE_SIZE ((size_t)1 << 36)
#else
#define WEIGHTS_MAX_FILE_SIZE SIZE_MAX
#endif

/**
 * Read a PyTorch checkpoint (legacy pickle or zip, detected by content) holding
 * a flat dict (or OrderedDict) of name -> tensor.
 * Nothing is executed: a restricted pickle interpreter accepts only the opcodes
 * and globals torch.save emits for such a dict, and every length and offset is
 * checked against the file. Float/Double/Half/BFloat16 storages are converted to
 * float32; other storage types are rejected naming the key.
 */
dpsim_status checkpoint_read_memory(const uint8_t *buf, size_t len, tensor_list *out, errbuf *e);

/** Read a safetensors file (F32, F64, F16, BF16 tensors converted to float32). */
dpsim_status safetensors_read_memory(const uint8_t *buf, size_t len, tensor_list *out, errbuf *e);
/**
 * Write tensors as F32 safetensors; metadata_json is NULL or a JSON object of
 * string values ({"net":"squeeze",...}). Written to a temporary file and renamed.
 */
dpsim_status safetensors_write_file(const char *path, const tensor_list *list,
                                    const char *metadata_json, errbuf *e);

/** Read either format: safetensors if the data looks like one, else a PyTorch checkpoint. */
dpsim_status weights_read_memory(const uint8_t *buf, size_t len, tensor_list *out, errbuf *e);
/**
 * weights_read_memory, except that contiguous float32 tensors whose bytes lie
 * aligned in buf point there (tensor.view) instead of being copied: buf must
 * outlive the list. The model loader reads VGG-16's 58 MB once this way.
 */
dpsim_status weights_view_memory(uint8_t *buf, size_t len, tensor_list *out, errbuf *e);
/**
 * weights_view_memory on a source (its buffer writable and kept while the
 * list is), reading only the parts that the tensors out->want keeps need.
 */
dpsim_status weights_view_source(const byte_source *src, tensor_list *out, errbuf *e);
/** The readers on a source: view as weights_view_source allows (out->views). */
dpsim_status checkpoint_read_source(const byte_source *src, tensor_list *out, errbuf *e);
dpsim_status safetensors_read_source(const byte_source *src, tensor_list *out, errbuf *e);
dpsim_status weights_read_file(const char *path, tensor_list *out, errbuf *e);
/** Turn a memory reader's "checkpoint: <problem>" into "checkpoint '<path>': <problem>". */
void weights_error_name_file(errbuf *e, const char *path);

#endif
