/*
 * netdef.h - the supported loss networks as static layer tables, indexed
 * exactly like torchvision's `features` Sequential (SPEC section 2).
 */
#ifndef DPSIM_NETS_NETDEF_H
#define DPSIM_NETS_NETDEF_H

#include "dpsim/dpsim.h"

typedef enum layer_op {
    OP_CONV,    /* conv k x k, stride, pad, with bias */
    OP_RELU,    /* in place */
    OP_MAXPOOL, /* k, stride, ceil_mode */
    OP_FIRE,    /* squeeze 1x1 + relu, concat[expand 1x1 + relu, expand 3x3 pad 1 + relu] */
    OP_L2POOL   /* DISTS L2 pooling: sqrt(dwconv(x^2, [1 2 1]^T [1 2 1] / 16) + 1e-12), s2 p1 */
} layer_op;

typedef struct layer_def {
    layer_op op;
    int in_ch, out_ch;     /* conv: in -> out; fire: in -> e1 + e3 */
    int kernel, stride, pad;
    int ceil_mode;         /* maxpool */
    int squeeze, e1, e3;   /* fire */
} layer_def;

#define NET_MAX_LAYERS 31

typedef struct net_def {
    dpsim_net net;
    const char *name;             /* "squeeze" */
    const char *torchvision_name; /* "squeezenet1_1" */
    const char *official_file;    /* torchvision's checkpoint file name */
    int n_layers;
    layer_def layers[NET_MAX_LAYERS];
    int n_lpips_taps;
    int lpips_taps[8];
} net_def;

/** The table for a net, or NULL if unknown. */
const net_def *net_def_get(dpsim_net net);

/** DISTS's VGG-16: the max-pools at 4, 9, 16 and 23 replaced by L2 pooling. */
const net_def *net_def_dists(void);

/** Output channels of layer i (the channel count of a tap after i). */
int net_layer_channels(const net_def *def, int i);

/** Spatial side after layer `last` for an input side, or <= 0 if the input is too small. */
int net_side_after(const net_def *def, int last, int in);

/** Smallest input side for which every layer up to `last` produces output. */
int net_min_side(const net_def *def, int last);

#endif
