/*
 * compare_batch.h - the batch forms of `dpsim compare`: two folders (or
 * feature files) paired by name, one reference against many, all pairs of
 * a set, and a CSV manifest of pairs.
 */
#ifndef DPSIM_COMPARE_BATCH_H
#define DPSIM_COMPARE_BATCH_H

#include "batch_opts.h"
#include "model_opts.h"

typedef enum compare_mode {
    MODE_SINGLE,   /* A B: two images */
    MODE_BY_NAME,  /* two folders or feature files paired by relative path / record name */
    MODE_REF,      /* --ref R INPUTS */
    MODE_ALL,      /* --all-pairs INPUTS */
    MODE_MANIFEST  /* --pairs FILE.csv */
} compare_mode;

typedef struct compare_batch_args {
    compare_mode mode;
    const model_opts *mo;
    const batch_opts *bo;
    int per_layer, matrix;
    const char *ref, *manifest, *maps_dir;
    char **inputs;
    int n_inputs;
} compare_batch_args;

int compare_batch_run(const compare_batch_args *a);

#endif
