/*
 * featfile.h - feature files: the features of many images saved once, with
 * the provenance of the model that extracted them, so batch comparisons and
 * searches can reuse them instead of decoding and extracting again.
 * The format (little-endian, magic + version, sizes checked before any
 * allocation) is documented in doc/FEATURES.md.
 *
 *     dpsim_featfile_writer *w;
 *     dpsim_featfile_writer_open(ctx, "set.dpf", model, "", &w);
 *     dpsim_featfile_writer_add(ctx, w, "a.png", fa);      // in the order wanted
 *     dpsim_featfile_writer_commit(ctx, w);                // renames into place
 *
 *     dpsim_featfile *ff;
 *     dpsim_featfile_read(ctx, "set.dpf", &ff);
 *     if (dpsim_featfile_check(ctx, ff, model) != DPSIM_OK) ...   // other settings
 *     dpsim_compare(ctx, model, dpsim_featfile_features(ff, 0), fb, &d, NULL, NULL);
 *
 * Threads: a read dpsim_featfile is immutable and may be shared; a writer
 * belongs to one thread.
 */
#ifndef DPSIM_FEATFILE_H
#define DPSIM_FEATFILE_H

#include "dpsim/dpsim.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The first 8 bytes of every feature file. */
#define DPSIM_FEATFILE_MAGIC "DPSIMFEA"
#define DPSIM_FEATFILE_MAGIC_LEN 8
/** Format version this library writes and reads. */
#define DPSIM_FEATFILE_VERSION 1
/** Limits the reader enforces (and the writer refuses to exceed). */
#define DPSIM_FEATFILE_MAX_NAME 4096
#define DPSIM_FEATFILE_MAX_TEXT 4096

typedef struct dpsim_featfile_writer dpsim_featfile_writer;
typedef struct dpsim_featfile dpsim_featfile;

/**
 * Start a feature file at path (written under a temporary name in the same
 * folder; nothing appears at path before dpsim_featfile_writer_commit).
 * @param model the model every added feature set was extracted with; its
 *              settings and weight hashes are stored in the header.
 * @param prep  how the caller prepared the images before extraction, stored
 *              and returned as is (e.g. "resize=256x256"; "" or NULL: none).
 *              At most DPSIM_FEATFILE_MAX_TEXT bytes.
 * @return DPSIM_OK, DPSIM_E_IO, DPSIM_E_INVAL, DPSIM_E_LIMIT or DPSIM_E_NOMEM.
 */
DPSIM_API dpsim_status dpsim_featfile_writer_open(dpsim_ctx *ctx, const char *path,
                                                  const dpsim_model *model, const char *prep,
                                                  dpsim_featfile_writer **out);
/**
 * Append one image's features under a name (1 to DPSIM_FEATFILE_MAX_NAME
 * bytes, no NUL). Features must come from the writer's model (DPSIM_E_INVAL
 * otherwise). On failure the writer is still valid but should be aborted.
 */
DPSIM_API dpsim_status dpsim_featfile_writer_add(dpsim_ctx *ctx, dpsim_featfile_writer *w,
                                                 const char *name,
                                                 const dpsim_features *features);
/** Finish the file and rename it into place; frees w whatever the outcome. */
DPSIM_API dpsim_status dpsim_featfile_writer_commit(dpsim_ctx *ctx, dpsim_featfile_writer *w);
/** Drop an unfinished file (the temporary is removed); frees w. NULL is allowed. */
DPSIM_API void dpsim_featfile_writer_abort(dpsim_featfile_writer *w);

/**
 * Read a whole feature file. Every size is checked against the file's length
 * and the net's layer table before memory is allocated.
 * @return DPSIM_OK; DPSIM_E_IO; DPSIM_E_FORMAT (not a feature file, truncated,
 *   inconsistent); DPSIM_E_UNSUPPORTED (a newer format version);
 *   DPSIM_E_LIMIT; DPSIM_E_NOMEM. The detail names the file and the field.
 */
DPSIM_API dpsim_status dpsim_featfile_read(dpsim_ctx *ctx, const char *path,
                                           dpsim_featfile **out);
/** Same from memory; name is used in error messages only (NULL: "<memory>"). */
DPSIM_API dpsim_status dpsim_featfile_read_memory(dpsim_ctx *ctx, const void *data, size_t size,
                                                  const char *name, dpsim_featfile **out);
DPSIM_API void dpsim_featfile_free(dpsim_featfile *ff);

/**
 * Whether ff's features can be compared under model: same net (and DISTS
 * variant), taps, LPIPS version and trunk and per-channel weights. Method and
 * normalisation may differ (features do not depend on them).
 * @return DPSIM_OK, or DPSIM_E_INVAL with a detail naming the first setting
 *   that differs ("made with net=alexnet, this model uses squeezenet1_1").
 */
DPSIM_API dpsim_status dpsim_featfile_check(dpsim_ctx *ctx, const dpsim_featfile *ff,
                                            const dpsim_model *model);

/** Number of feature sets in the file. */
DPSIM_API size_t dpsim_featfile_count(const dpsim_featfile *ff);
/** Name of record i (NUL-terminated), or NULL if i is out of range. */
DPSIM_API const char *dpsim_featfile_name(const dpsim_featfile *ff, size_t i);
/** Features of record i, owned by ff (valid until dpsim_featfile_free), or NULL. */
DPSIM_API const dpsim_features *dpsim_featfile_features(const dpsim_featfile *ff, size_t i);
/** The prep text given to the writer ("" if none). */
DPSIM_API const char *dpsim_featfile_prep(const dpsim_featfile *ff);
/** The provenance line of the model that wrote the file (dpsim_model_provenance). */
DPSIM_API const char *dpsim_featfile_provenance(const dpsim_featfile *ff);

#ifdef __cplusplus
}
#endif

#endif /* DPSIM_FEATFILE_H */
