/*
 * test_core.c - the scalar kernels against definitions written out
 * differently (naive convolution, pooling by brute force), shape rules
 * (ceil mode, minimum sizes), SHA-256 against the FIPS 180-4 examples,
 * and the status/version API.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/sha256.h"
#include "nets/netdef.h"
#include "nn/nn.h"
#include "testgen.h"

static void test_sha256(void)
{
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    sha256_hex("", 0, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    /* streaming in odd pieces equals one shot */
    static uint8_t big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = (uint8_t)(i * 7);
    char one[65], pieces[65];
    sha256_hex(big, sizeof big, one);
    sha256_state st;
    uint8_t dig[32];
    sha256_init(&st);
    for (size_t off = 0, step = 1; off < sizeof big; off += step, step = step * 3 % 97 + 1)
        sha256_update(&st, big + off, off + step > sizeof big ? sizeof big - off : step);
    sha256_final(&st, dig);
    for (int i = 0; i < 32; i++)
        snprintf(pieces + 2 * i, 3, "%02x", dig[i]);
    CHECK(!strcmp(one, pieces));
}

/* The SHA-extension block function equals the portable one, block counts 1..9. */
static void test_sha256_blocks(void)
{
    if (!sha256_shani_available()) {
        printf("# no SHA extensions on this CPU: sha256_blocks_shani not tested\n");
        return;
    }
    static uint8_t data[64 * 9];
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < sizeof data; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        data[i] = (uint8_t)(state >> 56);
    }
    for (size_t n = 1; n <= 9; n++) {
        uint32_t a[8], b[8];
        for (int i = 0; i < 8; i++)
            a[i] = b[i] = (uint32_t)(0x01234567u * (unsigned)(i + 1) + n);
        sha256_blocks_portable(a, data, n);
        sha256_blocks_shani(b, data, n);
        CHECK(!memcmp(a, b, sizeof a));
    }
}

/* out[oc][oy][ox] = b[oc] + sum in[ic][oy*s-p+ky][ox*s-p+kx] * w[oc][ic][ky][kx], zero padded */
static double naive_conv(const conv2d_shape *s, const float *in, int h, int w, const float *wt,
                         const float *b, int oc, int oy, int ox)
{
    double acc = b[oc];
    for (int ic = 0; ic < s->in_ch; ic++)
        for (int ky = 0; ky < s->kernel; ky++)
            for (int kx = 0; kx < s->kernel; kx++) {
                int y = oy * s->stride - s->pad + ky, x = ox * s->stride - s->pad + kx;
                if (y < 0 || y >= h || x < 0 || x >= w)
                    continue;
                acc += (double)in[((size_t)ic * h + y) * w + x] *
                       wt[(((size_t)oc * s->in_ch + ic) * s->kernel + ky) * s->kernel + kx];
            }
    return acc;
}

static void test_conv(void)
{
    const conv2d_shape shapes[] = {{3, 5, 3, 1, 1}, {4, 3, 11, 4, 2}, {2, 6, 5, 1, 2},
                                   {3, 4, 3, 2, 0}, {5, 2, 1, 1, 0}, {2, 2, 3, 3, 4}};
    const int sizes[][2] = {{7, 9}, {17, 13}, {1, 1}, {23, 31}};
    uint64_t k = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (size_t zi = 0; zi < sizeof sizes / sizeof sizes[0]; zi++) {
            const conv2d_shape *s = &shapes[si];
            int h = sizes[zi][0], w = sizes[zi][1];
            int ho = conv2d_out_size(s, h), wo = conv2d_out_size(s, w);
            if (ho <= 0 || wo <= 0)
                continue;
            size_t nin = (size_t)s->in_ch * h * w, nw = (size_t)s->out_ch * s->in_ch * s->kernel *
                                                         s->kernel;
            float *in = malloc(nin * 4), *wt = malloc(nw * 4), *b = malloc(s->out_ch * 4);
            float *out = malloc((size_t)s->out_ch * ho * wo * 4);
            double *acc = malloc((size_t)ho * wo * 8);
            gen_tensor(7, k++, nin, 1, in);
            gen_tensor(7, k++, nw, 9, wt);
            gen_tensor(7, k++, s->out_ch, 0, b);
            conv2d_forward(s, in, h, w, wt, b, out, acc);
            double worst = 0;
            for (int oc = 0; oc < s->out_ch; oc++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++) {
                        double want = naive_conv(s, in, h, w, wt, b, oc, oy, ox);
                        double got = out[((size_t)oc * ho + oy) * wo + ox];
                        worst = fmax(worst, fabs(got - want) / fmax(fabs(want), 1e-3));
                    }
            CHECK_MSG(worst < 1e-6, "conv k%d s%d p%d on %dx%d: rel err %.3g", s->kernel,
                      s->stride, s->pad, h, w, worst);
            free(in), free(wt), free(b), free(out), free(acc);
        }
    /* output size formula */
    conv2d_shape alex0 = {3, 64, 11, 4, 2};
    CHECK(conv2d_out_size(&alex0, 224) == 55);
    CHECK(conv2d_out_size(&alex0, 6) == 0);
}

static void test_maxpool(void)
{
    maxpool_shape ceil_pool = {3, 2, 1}, floor_pool = {3, 2, 0};
    /* PyTorch max_pool2d(k=3, s=2): ceil_mode on 31 -> 15, 32 -> 16 (the last window starts
       at 30 < 32), 4 -> 2, 2 -> 1 (a window partly outside), 1 -> error; floor mode 32 -> 15,
       2 -> error */
    CHECK(maxpool_out_size(&ceil_pool, 31) == 15);
    CHECK(maxpool_out_size(&ceil_pool, 32) == 16);
    CHECK(maxpool_out_size(&ceil_pool, 4) == 2);
    CHECK(maxpool_out_size(&ceil_pool, 3) == 1);
    CHECK(maxpool_out_size(&ceil_pool, 2) == 1);
    CHECK(maxpool_out_size(&ceil_pool, 1) <= 0);
    CHECK(maxpool_out_size(&floor_pool, 32) == 15);
    CHECK(maxpool_out_size(&floor_pool, 2) <= 0);
    /* brute force: every output is the max of its clipped window */
    int h = 8, w = 7, c = 2;
    float in[2 * 8 * 7], out[2 * 4 * 4];
    gen_tensor(3, 0, sizeof in / sizeof in[0], 1, in);
    int ho = maxpool_out_size(&ceil_pool, h), wo = maxpool_out_size(&ceil_pool, w);
    CHECK(ho == 4 && wo == 3);
    maxpool_forward(&ceil_pool, in, c, h, w, out);
    int ok = 1;
    for (int ch = 0; ch < c; ch++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float m = -1e30f;
                for (int y = oy * 2; y < oy * 2 + 3 && y < h; y++)
                    for (int x = ox * 2; x < ox * 2 + 3 && x < w; x++)
                        m = fmaxf(m, in[(ch * h + y) * w + x]);
                ok &= out[(ch * ho + oy) * wo + ox] == m;
            }
    CHECK(ok);
}

static void test_upsample(void)
{
    /* same size: identity; constant in: constant out; 2x2 -> 4x4 against PyTorch's
       interpolate([[0,1],[2,3]], size=4, bilinear, align_corners=False) */
    float in[4] = {0, 1, 2, 3}, out[16] = {0};
    upsample_bilinear_add(in, 2, 2, out, 4, 4);
    const float want[16] = {0.0f, 0.25f, 0.75f, 1.0f, 0.5f, 0.75f, 1.25f, 1.5f,
                            1.5f, 1.75f, 2.25f, 2.5f, 2.0f, 2.25f, 2.75f, 3.0f};
    for (int i = 0; i < 16; i++)
        CHECK_REL(out[i], want[i], 1e-6, 1e-6);
    float same[4] = {0};
    upsample_bilinear_add(in, 2, 2, same, 2, 2);
    CHECK(memcmp(same, in, sizeof in) == 0);
}

static void test_nets(void)
{
    const net_def *sq = net_def_get(DPSIM_NET_SQUEEZE), *alex = net_def_get(DPSIM_NET_ALEX),
                  *vgg = net_def_get(DPSIM_NET_VGG16);
    CHECK(sq && alex && vgg && !net_def_get((dpsim_net)99));
    /* channels at the LPIPS taps (SPEC section 2) */
    const int sq_ch[] = {64, 128, 256, 384, 384, 512, 512}, alex_ch[] = {64, 192, 384, 256, 256},
              vgg_ch[] = {64, 128, 256, 512, 512};
    for (int i = 0; i < 7; i++)
        CHECK(net_layer_channels(sq, sq->lpips_taps[i]) == sq_ch[i]);
    for (int i = 0; i < 5; i++) {
        CHECK(net_layer_channels(alex, alex->lpips_taps[i]) == alex_ch[i]);
        CHECK(net_layer_channels(vgg, vgg->lpips_taps[i]) == vgg_ch[i]);
    }
    /* spatial sizes at 224 (torchvision): squeeze tap 12 -> 13, alex tap 11 -> 13, vgg 29 -> 14 */
    CHECK(net_side_after(sq, 12, 224) == 13);
    CHECK(net_side_after(alex, 11, 224) == 13);
    CHECK(net_side_after(vgg, 29, 224) == 14);
    /* minimum sizes: the smallest side with output at the last LPIPS tap */
    /* PyTorch: squeezenet1_1().features runs from 17x17 up; alexnet features[:12] from 31 */
    CHECK(net_min_side(sq, 12) == 17);
    CHECK(net_min_side(alex, 11) == 31);
    CHECK(net_side_after(sq, 12, net_min_side(sq, 12)) >= 1);
    CHECK(net_side_after(sq, 12, net_min_side(sq, 12) - 1) <= 0);
    CHECK(net_side_after(vgg, 29, 16) == 1 && net_side_after(vgg, 29, 15) <= 0);
}

static void test_status(void)
{
    CHECK(!strcmp(dpsim_strerror(DPSIM_OK), "success"));
    CHECK(strlen(dpsim_strerror(DPSIM_E_FORMAT)) > 0);
    CHECK(!strcmp(dpsim_strerror((dpsim_status)-100), "unknown status"));
    CHECK(dpsim_version_number() ==
          DPSIM_VERSION_MAJOR * 10000 + DPSIM_VERSION_MINOR * 100 + DPSIM_VERSION_PATCH);
    dpsim_config cfg;
    CHECK(dpsim_config_init_abi(&cfg, DPSIM_ABI_VERSION + 1) == DPSIM_E_ABI);
    CHECK(dpsim_config_init(&cfg) == DPSIM_OK);
    dpsim_ctx *ctx = NULL;
    CHECK(dpsim_ctx_create(&ctx, &cfg) == DPSIM_OK);
    CHECK(!strcmp(dpsim_ctx_last_error(ctx), ""));
    dpsim_net net;
    CHECK(dpsim_net_parse("squeezenet1_1", &net) == DPSIM_OK && net == DPSIM_NET_SQUEEZE);
    CHECK(dpsim_net_parse("vgg", &net) == DPSIM_OK && net == DPSIM_NET_VGG16);
    CHECK(dpsim_net_parse("resnet", &net) == DPSIM_E_INVAL);
    dpsim_ctx_free(ctx);
    dpsim_ctx_free(NULL);
    dpsim_model_free(NULL);
    dpsim_features_free(NULL);
}

int main(void)
{
    test_sha256();
    test_sha256_blocks();
    test_conv();
    test_maxpool();
    test_upsample();
    test_nets();
    test_status();
    return check_report();
}
