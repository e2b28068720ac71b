/*
 * testgen.h - the pseudo-random trunk weights and generated images of
 * doc/VECTORS.md, reproduced bit for bit from tools/scripts/lpips_ref.py:
 * splitmix64 of (seed << 48) ^ (k << 32) ^ i for element i of tensor k.
 */
#ifndef DPSIM_TESTS_TESTGEN_H
#define DPSIM_TESTS_TESTGEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "nets/netdef.h"
#include "weights/tensors.h"

static inline uint64_t splitmix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* "gen:S:WxH": (3, h, w) planar floats p/255 with p = (7x + 3y + 50c + (h(z) & 63)) % 256 */
static inline void gen_image(uint64_t seed, int w, int h, float *out)
{
    for (uint64_t c = 0; c < 3; c++)
        for (uint64_t y = 0; y < (uint64_t)h; y++)
            for (uint64_t x = 0; x < (uint64_t)w; x++) {
                uint64_t z = (seed << 48) ^ (c << 40) ^ (y << 20) ^ x;
                uint64_t p = (x * 7 + y * 3 + c * 50 + (splitmix64(z) & 63)) % 256;
                out[(c * h + y) * w + x] = (float)p / 255.0f;
            }
}

/* tensor k of a random trunk: weight (fan_in > 0) or bias (fan_in == 0) */
static inline void gen_tensor(uint64_t seed, uint64_t k, size_t n, int fan_in, float *out)
{
    double scale = fan_in > 0 ? sqrt(6.0 / (double)fan_in) : 0.1;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (seed << 48) ^ (k << 32) ^ (uint64_t)i;
        double u = (double)(splitmix64(z) >> 40) / 16777216.0;
        out[i] = (float)((2.0 * u - 1.0) * scale);
    }
}

static inline int gen_add_conv(tensor_list *list, const char *stem, int in, int out, int kernel,
                               uint64_t seed, uint64_t *k)
{
    char name[96];
    int64_t wshape[4] = {out, in, kernel, kernel}, bshape[1] = {out};
    size_t n = (size_t)out * in * kernel * kernel;
    float *buf = dp_malloc(n * sizeof(float));
    if (!buf)
        return 0;
    gen_tensor(seed, (*k)++, n, in * kernel * kernel, buf);
    snprintf(name, sizeof name, "features.%s.weight", stem);
    int ok = tensor_list_add(list, name, 4, wshape, buf, NULL) == DPSIM_OK;
    gen_tensor(seed, (*k)++, (size_t)out, 0, buf);
    snprintf(name, sizeof name, "features.%s.bias", stem);
    ok = ok && tensor_list_add(list, name, 1, bshape, buf, NULL) == DPSIM_OK;
    dp_free(buf);
    return ok;
}

/* The whole pseudo-random `features` of a net as a tensor list. Returns 1 on success. */
static inline int gen_trunk(const net_def *def, uint64_t seed, tensor_list *list)
{
    uint64_t k = 0;
    for (int i = 0; i < def->n_layers; i++) {
        const layer_def *l = &def->layers[i];
        char stem[64];
        if (l->op == OP_CONV) {
            snprintf(stem, sizeof stem, "%d", i);
            if (!gen_add_conv(list, stem, l->in_ch, l->out_ch, l->kernel, seed, &k))
                return 0;
        } else if (l->op == OP_FIRE) {
            snprintf(stem, sizeof stem, "%d.squeeze", i);
            if (!gen_add_conv(list, stem, l->in_ch, l->squeeze, 1, seed, &k))
                return 0;
            snprintf(stem, sizeof stem, "%d.expand1x1", i);
            if (!gen_add_conv(list, stem, l->squeeze, l->e1, 1, seed, &k))
                return 0;
            snprintf(stem, sizeof stem, "%d.expand3x3", i);
            if (!gen_add_conv(list, stem, l->squeeze, l->e3, 3, seed, &k))
                return 0;
        }
    }
    return 1;
}

/* The trunk files gen_trunk_path wrote: add one (path), or unlink them all (NULL). */
static inline void gen_trunk_files(const char *path)
{
    static char files[8][256];
    static int n;
    if (path) {
        if (n < 8)
            snprintf(files[n++], sizeof files[0], "%s", path);
        return;
    }
    for (int i = 0; i < n; i++)
        unlink(files[i]);
    n = 0;
}

/* Path of a trunk: "real" (located) or "random:S" (written once to /tmp, removed by
   gen_trunk_cleanup). Returns 1 when the path can be used. */
static inline int gen_trunk_path(const char *trunk, dpsim_net net, char *path, size_t len)
{
    if (!strcmp(trunk, "real"))
        return dpsim_weights_locate(DPSIM_WEIGHTS_TRUNK, net, DPSIM_LPIPS_V0_1, path, len, NULL,
                                    0) == DPSIM_OK;
    unsigned long long seed = strtoull(trunk + 7, NULL, 10);
    snprintf(path, len, "/tmp/dpsim-test-%d-%s-%llu.safetensors", (int)getpid(),
             dpsim_net_name(net), seed);
    if (access(path, R_OK) == 0)
        return 1;
    tensor_list list = {0};
    errbuf e;
    int ok = gen_trunk(net_def_get(net), seed, &list) &&
             safetensors_write_file(path, &list, NULL, &e) == DPSIM_OK;
    tensor_list_free(&list);
    if (ok)
        gen_trunk_files(path);
    return ok;
}

static inline void gen_trunk_cleanup(void) { gen_trunk_files(NULL); }

#endif
