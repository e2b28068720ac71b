/*
 * model.h - the loaded model (trunk weights, per-channel weights, settings)
 * and the extracted features. Both are immutable once built.
 */
#ifndef DPSIM_MODEL_MODEL_H
#define DPSIM_MODEL_MODEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/error.h"
#include "fast/conv_batch.h"
#include "fast/conv_fast.h"
#include "nets/netdef.h"
#include "nn/nn.h"
#include "weights/tensors.h"

typedef struct conv_params {
    conv2d_shape shape;
    packed_conv fast;      /* the weights in the fast kernel's layout */
    packed_conv_grad grad; /* for the input gradient; made by model_grad_prepare */
} conv_params;

/* Per features index: a conv uses conv[0]; a fire uses squeeze, expand1x1, expand3x3. */
typedef struct layer_params {
    conv_params conv[3];
} layer_params;

/* The per-channel weight vectors a model may hold: one per term kind and tap. */
typedef enum term_kind {
    TERM_SPATIAL, TERM_MEAN, TERM_SORT, TERM_GRAM, /* w_l[c] of each method's term */
    TERM_ALPHA, TERM_BETA,                         /* DISTS texture / structure weights */
    TERM_KINDS
} term_kind;

/** Name of a term kind in weight files ("spatial", "mean", ..., "alpha", "beta"). */
const char *term_kind_name(term_kind k);

struct dpsim_model {
    const net_def *def;
    dpsim_lpips_version version;
    dpsim_method method;
    int normalize;                    /* resolved: 1 unit-normalise along channels, 0 not */
    int pixel;                        /* 1: tap 0 is the input itself (taps[0] == -1) */
    int use_lin;
    int n_taps;                       /* including the pixel tap */
    int taps[DPSIM_MAX_TAPS];         /* features indices, increasing; -1 = pixel */
    int tap_channels[DPSIM_MAX_TAPS];
    int last_layer;                   /* the largest tap: layers after it are not run */
    int min_side;
    layer_params layers[NET_MAX_LAYERS];
    const gemm_kernel *kernel;        /* the tile kernel the convolutions were packed for */
    dpsim_precision precision;        /* bf16: kernel is a bf16 one (fast/conv_bf16.h) */
    pthread_mutex_t grad_lock;        /* guards the lazily packed gradient weights */
    float *weight[TERM_KINDS][DPSIM_MAX_TAPS]; /* (tap_channels[t]) each; NULL = all ones */
    char *trunk_path, *lin_path;
    /* The trunk file's digest is computed beside the first extractions: read
       trunk_sha256 after model_await_hashes (empty if the file changed while
       it was read). */
    char trunk_sha256[65], lin_sha256[65];
    uint64_t trunk_values;            /* a hash of the trunk tensors' values, as loaded */
    uint64_t fingerprint;             /* identifies settings + weights; stamped on features */
    struct weights_file *trunk_hashing; /* the trunk file being hashed, until awaited */
    uint8_t *trunk_pages;             /* NULL, or the pages the trunk file was read into,
                                         its weights packed there (packed_conv_init_in_place) */
    size_t trunk_pages_len;
    pthread_mutex_t hash_lock;
    atomic_int hashed;                /* 1: trunk_sha256 is complete */
};

struct dpsim_features {
    uint64_t fingerprint;
    int width, height;                /* of the input image */
    int n_taps;
    int c[DPSIM_MAX_TAPS], h[DPSIM_MAX_TAPS], w[DPSIM_MAX_TAPS];
    float *tap[DPSIM_MAX_TAPS];       /* (c, h, w) each, inside block */
    float *block;
};

/*
 * The working buffers of forward passes, kept from one extraction to the
 * next (a context holds one per worker), so that a run of images does not
 * map and fault in fresh pages for each; more than FORWARD_SCRATCH_KEEP
 * bytes are given back after a pass, so one large image does not pin its
 * buffers for the context's life. Not counted, and kept: the buffer a large
 * layer's Winograd weights are made in on each call (conv_wino.h), whose size
 * the model bounds, not the image (VGG-16: 17 MB).
 */
typedef struct forward_scratch {
    float *x, *buf[2], *squeezed; /* preprocessed input, ping-pong activations, fire squeeze */
    float *lines;                 /* a banded comparison's line buffers (model/stream.c) */
    size_t x_cap, buf_cap[2], squeezed_cap, lines_cap;
    conv_buffers cb;
} forward_scratch;

#define FORWARD_SCRATCH_KEEP ((size_t)64 << 20)

void forward_scratch_free(forward_scratch *s);
/** Free s's buffers but cb.u when they hold more than FORWARD_SCRATCH_KEEP bytes. */
void forward_scratch_trim(forward_scratch *s);

/*
 * Images whose largest activation is at most this many floats (32 MB) may be
 * run side by side, one per thread: SqueezeNet and AlexNet up to 512x512 and
 * more, VGG-16 up to 256x256 (its 512x512 activations are 64 MB each).
 */
#define SIDE_BY_SIDE_MAX_ACTIVATION ((size_t)8 << 20)

/** 1 when a width x height image may run side by side with others (see above). */
int net_side_by_side(const dpsim_model *m, int width, int height);

/* The most images one net_forward runs together. */
#define NET_MAX_BATCH CONV_BATCH_MAX

/**
 * Run the trunk on n preprocessed images of one size and write each net
 * tap's activations (the pixel tap, if any, is filled by the caller).
 * @param x       (n, 3, h, w) preprocessed inputs, 1 <= n <= NET_MAX_BATCH
 * @param out     out[b][i]: image b's tap buffer (tap_channels[i], tap h, tap w), i like m->taps
 * @param workers the threads the convolutions use (NULL: the caller alone)
 * @param scratch its working buffers, grown as needed
 */
dpsim_status net_forward(const dpsim_model *m, int n, const float *x, int h, int w,
                         float **const *out, worker_pool *workers, forward_scratch *scratch,
                         errbuf *e);

/**
 * A fire module on the fast kernels, each convolution's ReLU fused.
 * @param in       (in_ch, h, w) -> out (e1 + e3, h, w)
 * @param squeezed (squeeze, h, w): the squeeze output after its ReLU
 */
dpsim_status fire_forward(const layer_params *lp, const float *in, int h, int w, float *out,
                          float *squeezed, worker_pool *workers, conv_buffers *cb, errbuf *e);
/** fire_forward on n images (in[b], out[b], squeezed[b]) in one convolution call each. */
dpsim_status fire_forward_batch(const layer_params *lp, int n, const float *const *in, int h,
                                int w, float *const *out, float *const *squeezed,
                                worker_pool *workers, conv_buffers *cb, errbuf *e);

/**
 * Make the input gradient's forms (conv_params.grad) and pack the weights
 * that a backward pass needs at these sizes, each once per model (h[i],
 * w[i]: the sides of layer i's input); safe to call from several threads.
 */
dpsim_status model_grad_prepare(const dpsim_model *m, const int *h, const int *w, errbuf *e);

/** Wait for the weights' digests (see dpsim_model), once; safe from several threads. */
void model_await_hashes(const dpsim_model *m);

/** m's fingerprint: what features of m are stamped with (it needs no digest). */
uint64_t model_fingerprint(const dpsim_model *m);

/**
 * dpsim_extract without a context: errors go to e, the convolutions use
 * workers, the buffers come from scratch (NULL: allocated for this call).
 */
dpsim_status model_extract(const dpsim_model *m, const float *pixels, int width, int height,
                           worker_pool *workers, forward_scratch *scratch, dpsim_features **out,
                           errbuf *e);

/**
 * model_extract on n <= NET_MAX_BATCH images of one size, their convolutions
 * run together; on failure out is untouched and *failed is the image
 * that failed (0 when it was none in particular: out of memory).
 */
dpsim_status model_extract_same_size(const dpsim_model *m, int n, const float *const *pixels,
                                     int width, int height, worker_pool *workers,
                                     forward_scratch *scratch, dpsim_features **out,
                                     int *failed, errbuf *e);

/**
 * The input the net sees: v (3, h*w) in [0,1] -> x (3, h*w), the LPIPS
 * scaling of the model's version, or ImageNet mean/std for DISTS.
 */
void model_preprocess(const dpsim_model *m, const float *v, size_t hw, float *x);
/** model_preprocess of n values of channel c (0..2): v (n) -> x (n). */
void model_preprocess_plane(const dpsim_model *m, int c, const float *v, size_t n, float *x);

/** d x / d v of model_preprocess for channel c (0..2): the same for every pixel. */
double model_preprocess_slope(const dpsim_model *m, int c);

/** Side of tap t (index in m->taps) for an input side: the input's for the pixel tap. */
int model_tap_side(const dpsim_model *m, int t, int side);

/** Check an image for m: size within limits and >= the net minimum, finite pixels (3, h, w). */
dpsim_status model_check_image(const dpsim_model *m, const float *pixels, int width, int height,
                               errbuf *e);

/** The model's taps as in provenance and weight files: "pixel,1,4,7". */
void model_taps_str(const dpsim_model *m, char *out, size_t len);

/**
 * Read the per-channel weights of m from a file's tensors: LPIPS lin keys,
 * DISTS alpha/beta, or the dpsim method format of doc/WEIGHTS.md.
 */
dpsim_status term_weights_load(dpsim_model *m, const tensor_list *list, const char *path,
                               errbuf *e);

#endif
