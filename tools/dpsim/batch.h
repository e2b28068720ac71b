/*
 * batch.h - scoring many pairs with each image's features extracted once
 * (SPEC section 10). Items are images (decoded, optionally resized to a fixed
 * size, extracted) or records of feature files (used as they are). Pairs
 * index items. An item used by several pairs is extracted once up front and
 * kept; an item used by one pair is extracted by that pair's job and freed
 * right after, so dir-vs-dir runs hold two images' features per worker. With
 * a sink, kept items are handed over in order and freed (saving a set).
 * Work is shared by --jobs worker threads, each with its own dpsim_ctx, on
 * one immutable model; results land in per-pair slots, so the output does
 * not depend on the number of threads.
 */
#ifndef DPSIM_BATCH_H
#define DPSIM_BATCH_H

#include <stddef.h>

#include <dpsim/dpsim.h>

typedef struct batch_item {
    char *name;                  /* as shown in output: relative path, path, record name */
    char *path;                  /* image to decode; NULL when feats comes from a file */
    const dpsim_features *feats; /* a feature-file record, or the extracted features */
    dpsim_features *owned;       /* extracted by the batch (freed by batch_free) */
    int uses;                    /* pairs that use it (set by batch_add_pair) */
    int keep;                    /* extract up front and keep even if used once */
    char *error;                 /* why it could not be used; NULL if fine */
} batch_item;

typedef struct batch_pair {
    size_t a, b;       /* item indices */
    double distance;
    double *per_tap;   /* (n_taps) when per-tap terms were asked for */
    char *map_path;    /* the heatmap written for this pair, if any */
    char *error;       /* NULL if the distance is valid */
} batch_pair;

typedef struct batch {
    const dpsim_model *model;
    batch_item *items;
    size_t n_items, cap_items;
    batch_pair *pairs;
    size_t n_pairs, cap_pairs;
    dpsim_featfile **files; /* feature files whose records items borrow */
    size_t n_files;
    /* settings */
    int jobs;              /* worker threads, >= 1 */
    int threads;           /* the library's threads in each job's extractions, >= 1 */
    int keep_going;        /* 0: stop at the first failure */
    int quiet;             /* no progress bar */
    int per_tap;           /* fill pair.per_tap */
    int size_w, size_h;    /* > 0: resize every decoded image to this size first */
    const char *maps_dir;  /* write a heatmap per pair there */
    /* NULL, or called with every kept item in item order as soon as it and all before it
       are ready (under the run's lock); extracted features are freed right after, so
       saving a set holds at most 2 x jobs feature sets. Returns 0 on success; a failure
       (reported by the sink) stops the run. */
    int (*sink)(void *user, const batch_item *it);
    void *sink_user;
    /* results */
    long extractions;      /* dpsim_extract calls made */
    size_t n_sunk;         /* items handed to the sink */
    size_t n_failed_items, n_failed_pairs;
} batch;

/** An empty batch on model with one job. */
void batch_init(batch *b, const dpsim_model *model);
void batch_free(batch *b);

/** Add an image item (name and path copied); returns its index, or (size_t)-1 on OOM. */
size_t batch_add_image(batch *b, const char *name, const char *path);
/** Add a feature-file record item (borrowed from an adopted file); returns its index. */
size_t batch_add_features(batch *b, const char *name, const dpsim_features *f);
/** Hand a feature file to the batch (freed by batch_free); 0 on OOM. */
int batch_adopt_file(batch *b, dpsim_featfile *ff);
/** Add the pair (a, b); 0 on OOM. */
int batch_add_pair(batch *b, size_t a, size_t item_b);

/** The "size=WxH" prep text of the batch's size policy ("" for none). */
void batch_prep(const batch *b, char *out, size_t len);

/**
 * Extract what is needed and compare every pair. Failures are recorded in
 * the items and pairs (and, without keep_going, stop the run early).
 * @return EXIT_OK when everything succeeded, EXIT_DATA otherwise (already
 *   reported on stderr: every failure with keep_going, the first without).
 */
int batch_run(batch *b);

#endif
