/*
 * model.h - the loaded model (trunk weights, per-channel weights, settings)
 * and the extracted features. Both are immutable once built.
 */
#ifndef DPSIM_MODEL_MODEL_H
#define DPSIM_MODEL_MODEL_H

#include <stdint.h>

#include "core/error.h"
#include "nets/netdef.h"
#include "nn/nn.h"

typedef struct conv_params {
    conv2d_shape shape;
    float *weight; /* (out_ch, in_ch, k, k) */
    float *bias;   /* (out_ch) */
} conv_params;

/* Per features index: a conv uses conv[0]; a fire uses squeeze, expand1x1, expand3x3. */
typedef struct layer_params {
    conv_params conv[3];
} layer_params;

struct dpsim_model {
    const net_def *def;
    dpsim_lpips_version version;
    int use_lin;
    int n_taps;
    int taps[DPSIM_MAX_TAPS];         /* features indices, increasing */
    int tap_channels[DPSIM_MAX_TAPS];
    int last_layer;                   /* the largest tap: layers after it are not run */
    int min_side;
    layer_params layers[NET_MAX_LAYERS];
    float *lin[DPSIM_MAX_TAPS];       /* (tap_channels[i]) each, NULL without lin */
    char *trunk_path, *lin_path;
    char trunk_sha256[65], lin_sha256[65];
    uint64_t fingerprint;             /* identifies settings + weights; stamped on features */
};

struct dpsim_features {
    uint64_t fingerprint;
    int width, height;                /* of the input image */
    int n_taps;
    int c[DPSIM_MAX_TAPS], h[DPSIM_MAX_TAPS], w[DPSIM_MAX_TAPS];
    float *tap[DPSIM_MAX_TAPS];       /* (c, h, w) each, inside block */
    float *block;
};

/**
 * Run the trunk on a preprocessed image and write each tap's activation.
 * @param x   (3, h, w) preprocessed input
 * @param out tap buffers sized (tap_channels[i], tap h, tap w)
 */
dpsim_status net_forward(const dpsim_model *m, const float *x, int h, int w, float **out,
                         errbuf *e);

/** LPIPS spatial distance between two feature sets of the same model (checked by the caller). */
dpsim_status lpips_distance(const dpsim_model *m, const dpsim_features *a,
                            const dpsim_features *b, double *distance, double *per_tap,
                            float *map, errbuf *e);

#endif
