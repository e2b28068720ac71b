/*
 * sources.h - turning command-line inputs into batch items: a directory
 * (its image files, recursively, sorted by relative path), a feature file
 * (its records, checked against the model and the size policy), or an
 * image file; one against many; pairing two lists by name.
 */
#ifndef DPSIM_SOURCES_H
#define DPSIM_SOURCES_H

#include "batch.h"

/** 1 if path starts with the feature file magic. */
int is_feature_file(const char *path);
/** 1 if path is a directory. */
int is_directory(const char *path);

/**
 * Add the items of one input to b: a folder's images, a feature file's
 * records, or an image (named by the path as given). With relative, a
 * folder's images are named by their path relative to it and records by
 * their stored name (one input, or inputs paired by name); without, by
 * folder/relative path and file.dpf:record, so inputs cannot collide.
 * *first and *count give the range added.
 * @return EXIT_OK or an exit code (reported).
 */
int source_add(batch *b, dpsim_ctx *ctx, const char *arg, int relative, size_t *first,
               size_t *count);

/**
 * Add one image (or one-record feature file) `one` as item 0 and pair it with
 * every item of the inputs. @param what names `one` in messages ("--ref").
 * @return EXIT_OK or an exit code (reported).
 */
int source_add_one_vs_many(batch *b, dpsim_ctx *ctx, const char *what, const char *one,
                           char *const *inputs, int n_inputs);

/**
 * Pair the items [a0, a0+na) with [b0, b0+nb) by equal names (byte order).
 * Names found on one side only are reported on stderr; they are an error
 * unless keep_going, and counted in *unmatched either way.
 * @return EXIT_OK, or EXIT_DATA (reported) for duplicates or unmatched names
 *   without keep_going.
 */
int pair_by_name(batch *b, size_t a0, size_t na, size_t b0, size_t nb, int keep_going,
                 size_t *unmatched);

/**
 * Read a feature file, check it against b's model and size policy, and hand
 * it to b (records stay valid until batch_free). @return EXIT_OK or EXIT_DATA
 * (reported, naming the setting that differs).
 */
int load_feature_file(batch *b, dpsim_ctx *ctx, const char *path, dpsim_featfile **out);

/** "a/b" (just b when a is empty); NULL when out of memory. */
char *path_join(const char *a, const char *b);
/** strcmp for qsort/bsearch over an array of char *. */
int compare_strings(const void *a, const void *b);

#endif
