/*
 * gradtest.h - shared pieces of the gradient tests: the tie-free
 * "grad:S:WxH" images of tools/scripts/gen_grad_vectors.py, pseudo-random
 * trunks written to a temporary safetensors file, and loading a model.
 */
#ifndef DPSIM_TESTS_GRADTEST_H
#define DPSIM_TESTS_GRADTEST_H

#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "testgen.h"

/* "grad:S:WxH": (3, h, w) floats (p + u) / 256, p the gen:S pixel, u in [0,1) from
   splitmix64((S << 48) ^ (7 << 32) ^ i), i = (c h + y) w + x */
static inline void grad_image(uint64_t seed, int w, int h, float *out)
{
    gen_image(seed, w, h, out);
    for (size_t i = 0; i < (size_t)3 * w * h; i++) {
        uint64_t z = (seed << 48) ^ (7ULL << 32) ^ (uint64_t)i;
        double u = (double)(splitmix64(z) >> 40) / 16777216.0;
        double p = (double)(int)(out[i] * 255.0f + 0.5f);
        out[i] = (float)((p + u) / 256.0);
    }
}

/* Path of a trunk: "real" (located) or "random:S" (written once to /tmp; the caller
   unlinks it). Returns 1 when the path can be used. */
static inline int grad_trunk_path(const char *trunk, dpsim_net net, char *path, size_t len)
{
    if (!strcmp(trunk, "real"))
        return dpsim_weights_locate(DPSIM_WEIGHTS_TRUNK, net, DPSIM_LPIPS_V0_1, path, len, NULL,
                                    0) == DPSIM_OK;
    unsigned long long seed = strtoull(trunk + 7, NULL, 10);
    snprintf(path, len, "/tmp/dpsim-gradtest-%d-%s-%llu.safetensors", (int)getpid(),
             dpsim_net_name(net), seed);
    if (access(path, R_OK) == 0)
        return 1;
    tensor_list list = {0};
    errbuf e;
    int ok = gen_trunk(net_def_get(net), seed, &list) &&
             safetensors_write_file(path, &list, NULL, &e) == DPSIM_OK;
    tensor_list_free(&list);
    return ok;
}

static inline void grad_trunk_cleanup(void)
{
    static const dpsim_net nets[] = {DPSIM_NET_SQUEEZE, DPSIM_NET_ALEX, DPSIM_NET_VGG16};
    char path[256];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/tmp/dpsim-gradtest-%d-%s-1.safetensors", (int)getpid(),
                 dpsim_net_name(nets[i]));
        unlink(path);
    }
}

#endif
