/*
 * netdef.c - torchvision alexnet, squeezenet1_1 and vgg16 `features` (and
 * DISTS's L2-pooling vgg16),
 * layer by layer, and the shape arithmetic over them.
 */
#include "nets/netdef.h"

#include <stddef.h>

#include "nn/nn.h"

#define CONV(i, o, k, s, p) {.op = OP_CONV, .in_ch = i, .out_ch = o, .kernel = k, .stride = s, .pad = p}
#define RELU {.op = OP_RELU}
#define POOL(k, s, c) {.op = OP_MAXPOOL, .kernel = k, .stride = s, .ceil_mode = c}
#define L2POOL {.op = OP_L2POOL, .kernel = 3, .stride = 2, .pad = 1}
#define FIRE(i, s, a, b) {.op = OP_FIRE, .in_ch = i, .out_ch = (a) + (b), .squeeze = s, .e1 = a, .e3 = b}

static const net_def nets[] = {
    {
        .net = DPSIM_NET_SQUEEZE,
        .name = "squeeze",
        .torchvision_name = "squeezenet1_1",
        .official_file = "squeezenet1_1-b8a52dc0.pth",
        .n_layers = 13,
        .layers = {CONV(3, 64, 3, 2, 0), RELU, POOL(3, 2, 1), FIRE(64, 16, 64, 64),
                   FIRE(128, 16, 64, 64), POOL(3, 2, 1), FIRE(128, 32, 128, 128),
                   FIRE(256, 32, 128, 128), POOL(3, 2, 1), FIRE(256, 48, 192, 192),
                   FIRE(384, 48, 192, 192), FIRE(384, 64, 256, 256), FIRE(512, 64, 256, 256)},
        .n_lpips_taps = 7,
        .lpips_taps = {1, 4, 7, 9, 10, 11, 12},
    },
    {
        .net = DPSIM_NET_ALEX,
        .name = "alex",
        .torchvision_name = "alexnet",
        .official_file = "alexnet-owt-7be5be79.pth",
        .n_layers = 13,
        .layers = {CONV(3, 64, 11, 4, 2), RELU, POOL(3, 2, 0), CONV(64, 192, 5, 1, 2), RELU,
                   POOL(3, 2, 0), CONV(192, 384, 3, 1, 1), RELU, CONV(384, 256, 3, 1, 1), RELU,
                   CONV(256, 256, 3, 1, 1), RELU, POOL(3, 2, 0)},
        .n_lpips_taps = 5,
        .lpips_taps = {1, 4, 7, 9, 11},
    },
    {
        .net = DPSIM_NET_VGG16,
        .name = "vgg",
        .torchvision_name = "vgg16",
        .official_file = "vgg16-397923af.pth",
        .n_layers = 31,
        .layers = {CONV(3, 64, 3, 1, 1), RELU, CONV(64, 64, 3, 1, 1), RELU, POOL(2, 2, 0),
                   CONV(64, 128, 3, 1, 1), RELU, CONV(128, 128, 3, 1, 1), RELU, POOL(2, 2, 0),
                   CONV(128, 256, 3, 1, 1), RELU, CONV(256, 256, 3, 1, 1), RELU,
                   CONV(256, 256, 3, 1, 1), RELU, POOL(2, 2, 0),
                   CONV(256, 512, 3, 1, 1), RELU, CONV(512, 512, 3, 1, 1), RELU,
                   CONV(512, 512, 3, 1, 1), RELU, POOL(2, 2, 0),
                   CONV(512, 512, 3, 1, 1), RELU, CONV(512, 512, 3, 1, 1), RELU,
                   CONV(512, 512, 3, 1, 1), RELU, POOL(2, 2, 0)},
        .n_lpips_taps = 5,
        .lpips_taps = {3, 8, 15, 22, 29},
    },
};

static const net_def dists_vgg16 = {
    .net = DPSIM_NET_VGG16,
    .name = "vgg",
    .torchvision_name = "vgg16",
    .official_file = "vgg16-397923af.pth",
    .n_layers = 31,
    .layers = {CONV(3, 64, 3, 1, 1), RELU, CONV(64, 64, 3, 1, 1), RELU, L2POOL,
               CONV(64, 128, 3, 1, 1), RELU, CONV(128, 128, 3, 1, 1), RELU, L2POOL,
               CONV(128, 256, 3, 1, 1), RELU, CONV(256, 256, 3, 1, 1), RELU,
               CONV(256, 256, 3, 1, 1), RELU, L2POOL,
               CONV(256, 512, 3, 1, 1), RELU, CONV(512, 512, 3, 1, 1), RELU,
               CONV(512, 512, 3, 1, 1), RELU, L2POOL,
               CONV(512, 512, 3, 1, 1), RELU, CONV(512, 512, 3, 1, 1), RELU,
               CONV(512, 512, 3, 1, 1), RELU, POOL(2, 2, 0)},
    .n_lpips_taps = 5,
    .lpips_taps = {3, 8, 15, 22, 29},
};

const net_def *net_def_dists(void) { return &dists_vgg16; }

const net_def *net_def_get(dpsim_net net)
{
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if (nets[i].net == net)
            return &nets[i];
    return NULL;
}

int net_layer_channels(const net_def *def, int i)
{
    for (; i >= 0; i--) {
        const layer_def *l = &def->layers[i];
        if (l->op == OP_CONV || l->op == OP_FIRE)
            return l->out_ch;
    }
    return 3;
}

int net_side_after(const net_def *def, int last, int in)
{
    int side = in;
    for (int i = 0; i <= last && side > 0; i++) {
        const layer_def *l = &def->layers[i];
        if (l->op == OP_CONV || l->op == OP_L2POOL) {
            conv2d_shape s = {l->in_ch, l->out_ch, l->kernel, l->stride, l->pad};
            side = conv2d_out_size(&s, side);
        } else if (l->op == OP_MAXPOOL) {
            maxpool_shape s = {l->kernel, l->stride, l->ceil_mode};
            side = maxpool_out_size(&s, side);
        }
    }
    return side;
}

int net_min_side(const net_def *def, int last)
{
    int side = 1;
    while (net_side_after(def, last, side) <= 0)
        side++;
    return side;
}
