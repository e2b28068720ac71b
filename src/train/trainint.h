/*
 * trainint.h - pieces shared by train.c and adapt.c.
 */
#ifndef DPSIM_TRAIN_TRAININT_H
#define DPSIM_TRAIN_TRAININT_H

#include "train/trainer.h"

dpsim_status train_check_options(const dpsim_train_options *o, errbuf *e);
dpsim_status weights_from_trainer(const trainer *t, const dpsim_model *m, dpsim_weights **out,
                                  errbuf *e);
/** Add (x, x0, x1, h) to c; keep: also the elements (dropout); checks the cache limit. */
dpsim_status cache_add_triplet(const dpsim_model *m, const weight_layout *l,
                               const dpsim_features *x, const dpsim_features *x0,
                               const dpsim_features *x1, double h, int keep, double max_gib,
                               triplet_cache *c, errbuf *e);
/**
 * The sync rule of SPEC section 8: 1 (sync on) until the validation 2AFC of
 * the current weights first exceeds 0.5; *reached remembers that it did.
 */
int sync_wanted(const trainer *t, const triplet_cache *val, int *reached);
/**
 * The full epoch schedule on fixed caches (with the sync rule if sync),
 * logging each epoch; src as in trainer_epoch.
 */
dpsim_status train_run(dpsim_ctx *ctx, trainer *t, const triplet_cache *train,
                       const batch_source *src, const triplet_cache *val, int sync,
                       dpsim_train_log_fn log, void *user);
/** Features of every image of set, once each; freed with features_free_all. */
dpsim_status images_features(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_image_set *set,
                             dpsim_features ***out);
void features_free_all(dpsim_features **f, size_t n);

#endif
