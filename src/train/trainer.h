/*
 * trainer.h - the learning core shared by 2AFC training and adaptation:
 * per-channel weights + the LPIPS ranking head, Adam, dropout, clamping,
 * on triplets whose pair differences are cached (diffs.h).
 */
#ifndef DPSIM_TRAIN_TRAINER_H
#define DPSIM_TRAIN_TRAINER_H

#include "train/diffs.h"

/* Ranking head: 1x1 convs 5 -> 32 -> 32 -> 1, LeakyReLU(0.2), sigmoid. */
#define HEAD_HIDDEN 32
#define HEAD_W1 0                                   /* (32, 5) */
#define HEAD_B1 (HEAD_W1 + HEAD_HIDDEN * 5)         /* (32) */
#define HEAD_W2 (HEAD_B1 + HEAD_HIDDEN)             /* (32, 32) */
#define HEAD_B2 (HEAD_W2 + HEAD_HIDDEN * HEAD_HIDDEN) /* (32) */
#define HEAD_W3 (HEAD_B2 + HEAD_HIDDEN)             /* (32) */
#define HEAD_B3 (HEAD_W3 + HEAD_HIDDEN)             /* (1) */
#define HEAD_PARAMS (HEAD_B3 + 1)

/* Cached triplets: pair (x, x0) and (x, x1) differences and the label h. */
typedef struct triplet_cache {
    size_t n, cap;
    pair_diffs *p0, *p1; /* (n) each */
    double *h;           /* (n) */
} triplet_cache;

dpsim_status triplet_cache_add(triplet_cache *c, const pair_diffs *p0, const pair_diffs *p1,
                               double h, errbuf *e);
void triplet_cache_free(triplet_cache *c);

typedef struct trainer {
    weight_layout layout;
    dpsim_train_options opt;
    double *w;                     /* (n_weights) channel weights, >= 0 */
    double head[HEAD_PARAMS];
    double *m, *v;                 /* Adam moments: (n_weights + HEAD_PARAMS) each */
    double *grad;                  /* (n_weights + HEAD_PARAMS) */
    double *masked;                /* (2, n_weights): dropout-masked channel means of d0, d1 */
    long step;
    dpsim_rng rng;
} trainer;

/**
 * Set up weights and head: 1/C per channel, or with from_model the model's
 * weights (a missing vector = ones). Head weights and biases ~ U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) as PyTorch initialises a conv.
 */
dpsim_status trainer_init(trainer *t, const dpsim_model *m, const dpsim_train_options *opt,
                          int from_model, errbuf *e);
void trainer_free(trainer *t);

/** order (n) = 0..n-1 in a Fisher-Yates random order drawn from rng. */
void shuffle_indices(dpsim_rng *rng, size_t *order, size_t n);
/** Distance of a cached pair with the current weights, no dropout. */
double trainer_distance(const trainer *t, const pair_diffs *p);
/** 2AFC of the cached triplets with the current weights (NaN when empty). */
double trainer_score(const trainer *t, const triplet_cache *c);
/** Learning rate of epoch (1-based) by the schedule of the options. */
double trainer_lr(const dpsim_train_options *opt, int epoch);
/**
 * Gradient of the mean loss over the triplets idx (n) into t->grad (channel
 * weights first, then the head); returns the summed loss. Draws dropout
 * masks from t->rng.
 */
double trainer_gradient(trainer *t, const triplet_cache *c, const size_t *idx, size_t n,
                        int sync);
/**
 * Where an epoch's batches come from when the cache holds only channel means
 * (streaming): fill batch with the triplets idx (n) of the cache, elements
 * included, in that order. Returns a status; the detail goes to the caller's
 * context.
 */
typedef struct batch_source {
    dpsim_status (*fill)(void *user, const size_t *idx, size_t n, triplet_cache *batch);
    void *user;
} batch_source;

/**
 * One epoch: shuffled batches, dropout, head + BCE (+ 10 x sync BCE when
 * sync), Adam at lr, clamp w >= 0 after every step. *loss: mean per triplet.
 * src NULL: the batches are taken from c; else each batch is filled by src
 * (the same random draws in the same order: the same weights bit for bit).
 */
dpsim_status trainer_epoch(trainer *t, const triplet_cache *c, const batch_source *src,
                           double lr, int sync, double *loss, errbuf *e);

#endif
