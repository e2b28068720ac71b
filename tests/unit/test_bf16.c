/*
 * test_bf16.c - the opt-in bf16 precision: the AVX512-BF16 convolution
 * against the scalar bf16 oracle (bit for bit) and against the double
 * convolution (within the bf16 rounding bound) on random odd shapes; 1, 2
 * and 3 threads and batches bit-identical; the whole SqueezeNet (real
 * weights) in bf16 against fp32 on the example images; the options
 * (E_UNSUPPORTED under $DPSIM_ISA=avx2, unknown precision), provenance,
 * fingerprint and the refused gradient. Skips (77) after the checks that
 * need no AVX512-BF16 when the CPU lacks it.
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dpsim/grad.h"
#include "fast/bf16.h"
#include "fast/conv_batch.h"
#include "fast/conv_bf16.h"
#include "model/model.h"
#include "testgen.h"

typedef struct conv_case {
    int in_ch, out_ch, kernel, stride, pad, h, w;
} conv_case;

/* the nets' shapes, shrunk, and odd ones that cut every tile, run and block */
static const conv_case cases[] = {
    {3, 64, 11, 4, 2, 37, 41},  /* AlexNet conv1: odd reduction (363) */
    {3, 64, 3, 2, 0, 29, 23},   /* SqueezeNet conv1 */
    {16, 64, 1, 1, 0, 13, 11},  /* fire expand 1x1 */
    {16, 64, 3, 1, 1, 13, 11},  /* fire expand 3x3 */
    {64, 16, 1, 1, 0, 7, 9},    /* fire squeeze */
    {64, 192, 5, 1, 2, 9, 10},  /* AlexNet conv2 */
    {67, 13, 3, 1, 1, 5, 33},   /* reduction of 603: four blocks, the last odd */
    {5, 7, 3, 1, 1, 1, 1},      /* one pixel */
    {300, 9, 3, 1, 1, 3, 4},    /* long reduction, few outputs */
    {2, 3, 3, 3, 1, 16, 17},    /* stride 3 with padding */
    {64, 70, 3, 1, 1, 33, 35},  /* what fp32 runs as Winograd: direct here */
    {7, 9, 3, 1, 0, 40, 70},    /* rows wider than a panel, no padding */
};

static float *random_floats(uint64_t seed, size_t n, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)(splitmix64(seed * 1000003u + i) >> 40) / (float)(1 << 24);
    return x;
}

static float *abs_copy(const float *x, size_t n)
{
    float *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        y[i] = fabsf(x[i]);
    return y;
}

/* conv by kern into out (NULL workers: the caller alone) */
static void run_conv(const packed_conv *p, const float *in, int h, int w, float *out, int relu,
                     worker_pool *workers)
{
    conv_buffers cb = {0};
    CHECK(conv_fast_forward(p, in, h, w, out, relu, workers, &cb, NULL) == DPSIM_OK);
    conv_buffers_free(&cb);
}

/*
 * One case: the oracle kernel (gemm_bf16_scalar) against the double
 * convolution within the bf16 bound, and, with vec, vec against the oracle
 * bit for bit (plain, ReLU, 2 and 3 threads, a batch of 3). scale shrinks
 * the inputs so that sums run through fp32's denormal range (flushed).
 * The bound: inputs and weights round to bf16 with relative error at most
 * u = 2^-8 each, so each product is off by at most (2u + u^2) |w x|; fp32
 * summation of k_total + 1 terms adds at most (k_total + 1) 2^-24 of the sum
 * of magnitudes S = sum |w x| + |b|: |y - y64| <= (2^-7 + 2^-16 +
 * (k_total + 1) 2^-24) S, plus FLT_MIN per step for flushed denormals.
 */
static void check_case(const conv_case *c, const gemm_kernel *vec, uint64_t seed, float scale)
{
    conv2d_shape s = {c->in_ch, c->out_ch, c->kernel, c->stride, c->pad};
    const int ho = conv2d_out_size(&s, c->h), wo = conv2d_out_size(&s, c->w);
    const int kt = c->in_ch * c->kernel * c->kernel;
    const size_t n_in = (size_t)c->in_ch * c->h * c->w, n_out = (size_t)c->out_ch * ho * wo;
    const size_t n_w = (size_t)c->out_ch * kt;
    float *in = random_floats(seed, n_in, -scale, scale);
    float *wt = random_floats(seed + 1, n_w, -0.5f * scale, 0.5f * scale);
    float *bias = random_floats(seed + 2, (size_t)c->out_ch, -scale * scale, scale * scale);
    float *in_abs = abs_copy(in, n_in), *wt_abs = abs_copy(wt, n_w);
    float *bias_abs = abs_copy(bias, (size_t)c->out_ch);
    float *want = malloc(n_out * sizeof *want), *mag = malloc(n_out * sizeof *mag);
    float *ref = malloc(n_out * sizeof *ref), *got = malloc(n_out * sizeof *got);
    double *acc = malloc((size_t)ho * wo * sizeof *acc);
    conv2d_forward(&s, in, c->h, c->w, wt, bias, want, acc);
    conv2d_forward(&s, in_abs, c->h, c->w, wt_abs, bias_abs, mag, acc);

    packed_conv po;
    CHECK(packed_conv_init(&po, &s, wt, bias, &gemm_bf16_scalar, NULL) == DPSIM_OK);
    CHECK(packed_conv_is_bf16(&po) && po.a == NULL && po.a_bf16 != NULL);
    CHECK(conv_fast_direct(&po, c->h, c->w));
    run_conv(&po, in, c->h, c->w, ref, 0, NULL);
    const double rel = 1.0 / 128 + 1.0 / 65536 + (kt + 1) / 16777216.0;
    double worst = 0;
    size_t bad = 0;
    for (size_t i = 0; i < n_out; i++) {
        const double err = fabs((double)ref[i] - want[i]);
        const double tol = rel * mag[i] * 1.0000001 + (kt + 1) * (double)FLT_MIN;
        worst = fmax(worst, err / fmax(mag[i], 1e-30));
        bad += err > tol;
    }
    CHECK_MSG(bad == 0, "bf16 oracle conv %dx%d k%d s%d p%d %dx%d scale %g: %zu outputs off "
              "the bf16 bound (worst %.3g of sum |w x|)",
              c->in_ch, c->out_ch, c->kernel, c->stride, c->pad, c->h, c->w, scale, bad, worst);

    if (vec) {
        packed_conv pv;
        CHECK(packed_conv_init(&pv, &s, wt, bias, vec, NULL) == DPSIM_OK);
        for (int relu = 0; relu <= 1; relu++) {
            run_conv(&po, in, c->h, c->w, ref, relu, NULL);
            memset(got, 0xff, n_out * sizeof *got);
            run_conv(&pv, in, c->h, c->w, got, relu, NULL);
            size_t diff = 0;
            for (size_t i = 0; i < n_out; i++)
                diff += memcmp(&ref[i], &got[i], sizeof *got) != 0;
            CHECK_MSG(diff == 0, "bf16 avx512 conv %dx%d k%d s%d p%d %dx%d scale %g relu %d: %zu "
                      "of %zu outputs differ from the oracle's bits",
                      c->in_ch, c->out_ch, c->kernel, c->stride, c->pad, c->h, c->w, scale, relu,
                      diff, n_out);
        }
        /* ref: with ReLU; the same bits for 2 and 3 threads */
        for (int n = 2; n <= 3; n++) {
            worker_pool *workers;
            CHECK(pool_create(n, &workers) == DPSIM_OK);
            memset(got, 0xff, n_out * sizeof *got);
            run_conv(&pv, in, c->h, c->w, got, 1, workers);
            CHECK_MSG(!memcmp(ref, got, n_out * sizeof *got), "bf16, %d threads: bits differ", n);
            pool_free(workers);
        }
        /* a batch of three images: each bit-identical to its own convolution */
        float *in2 = random_floats(seed + 7, n_in, -scale, scale);
        float *one = malloc(n_out * sizeof *one), *outs[3];
        const float *ins[3] = {in2, in, in2};
        for (int b = 0; b < 3; b++)
            outs[b] = malloc(n_out * sizeof *outs[b]);
        conv_buffers cb = {0};
        CHECK(conv_fast_forward_batch(&pv, 3, ins, c->h, c->w, outs, 1, NULL, &cb, NULL) ==
              DPSIM_OK);
        run_conv(&pv, in2, c->h, c->w, one, 1, NULL);
        CHECK_MSG(!memcmp(outs[1], ref, n_out * sizeof *got) &&
                      !memcmp(outs[0], one, n_out * sizeof *got) &&
                      !memcmp(outs[2], one, n_out * sizeof *got),
                  "bf16 batch conv %dx%d k%d: an image differs from its own convolution",
                  c->in_ch, c->out_ch, c->kernel);
        conv_buffers_free(&cb);
        for (int b = 0; b < 3; b++)
            free(outs[b]);
        free(in2), free(one);
        packed_conv_free(&pv);
    }
    packed_conv_free(&po);
    free(in), free(wt), free(bias), free(in_abs), free(wt_abs), free(bias_abs);
    free(want), free(mag), free(ref), free(got), free(acc);
}

/* bf16_round against hand-worked values, and the vector packing against it */
static void test_rounding(const gemm_kernel *vec)
{
    CHECK(bf16_round(1.0f) == 0x3f80);
    CHECK(bf16_round(1.0f + 1.0f / 256) == 0x3f80);           /* tie: to even (down) */
    CHECK(bf16_round(1.0f + 3.0f / 256) == 0x3f82);           /* tie: to even (up) */
    CHECK(bf16_round(1.0f + 1.0f / 256 + 1.0f / 65536) == 0x3f81); /* above the tie */
    CHECK(bf16_round(-2.0f) == 0xc000);
    CHECK(bf16_round(1e-40f) == 0x0000 && bf16_round(-1e-40f) == 0x8000); /* denormals: 0 */
    CHECK(bf16_round(FLT_MAX) == 0x7f80);                     /* rounds up to Inf */
    CHECK(bf16_to_float(bf16_round(3.0f)) == 3.0f);
    if (!vec)
        return;
    enum { N = 1000 };
    float r0[N], r1[N];
    uint32_t want[N], got[N];
    for (int i = 0; i < N; i++) {
        const uint64_t z = splitmix64(77 + (uint64_t)i);
        uint32_t u0 = (uint32_t)z, u1 = (uint32_t)(z >> 32);
        if (i % 5 == 0)
            u0 &= 0x807fffffu; /* a denormal or zero */
        if (i % 7 == 0)
            u1 = (u1 & 0xffff0000u) | 0x8000u; /* an exact tie */
        if ((u0 & 0x7f800000u) == 0x7f800000u)
            u0 &= 0xbfffffffu; /* no Inf or NaN */
        if ((u1 & 0x7f800000u) == 0x7f800000u)
            u1 &= 0xbfffffffu;
        memcpy(&r0[i], &u0, 4);
        memcpy(&r1[i], &u1, 4);
    }
    for (int n = 1; n <= 64; n += 7) {
        gemm_bf16_scalar.pack_bf16(r0, n % 2 ? r1 : NULL, n, want);
        vec->pack_bf16(r0, n % 2 ? r1 : NULL, n, got);
        CHECK_MSG(!memcmp(want, got, (size_t)n * sizeof *got), "bf16 packing of %d differs", n);
    }
    gemm_bf16_scalar.pack_bf16(r0, r1, N, want);
    vec->pack_bf16(r0, r1, N, got);
    CHECK_MSG(!memcmp(want, got, sizeof got), "vcvtne2ps2bf16 differs from bf16_round");
}

static dpsim_model *load(dpsim_ctx *ctx, dpsim_net net, const char *trunk,
                         dpsim_precision precision, dpsim_status want)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    opt.net = net;
    opt.precision = precision;
    opt.use_lin = !strcmp(trunk, "real"); /* random trunks: no lin file needed */
    char path[512];
    CHECK(gen_trunk_path(trunk, net, path, sizeof path));
    opt.trunk_path = path;
    dpsim_model *m = NULL;
    const dpsim_status s = dpsim_model_load(ctx, &opt, &m);
    CHECK_MSG(s == want, "load %s %s: %s, expected %s (%s)", dpsim_net_name(net),
              dpsim_precision_name(precision), dpsim_strerror(s), dpsim_strerror(want),
              dpsim_ctx_last_error(ctx));
    return m;
}

/* the options the precision brings: checked before any weights are read */
static void test_options(dpsim_ctx *ctx, int have_bf16)
{
    dpsim_model_options opt;
    dpsim_model_options_init(&opt);
    CHECK(opt.precision == DPSIM_PRECISION_FP32);
    dpsim_model *m = NULL;
    opt.precision = (dpsim_precision)7;
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_E_INVAL && m == NULL);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "precision") != NULL);
    dpsim_precision p;
    CHECK(dpsim_precision_parse("bf16", &p) == DPSIM_OK && p == DPSIM_PRECISION_BF16);
    CHECK(dpsim_precision_parse("fp32", &p) == DPSIM_OK && p == DPSIM_PRECISION_FP32);
    CHECK(dpsim_precision_parse("fp16", &p) == DPSIM_E_INVAL);
    CHECK(!strcmp(dpsim_precision_name(DPSIM_PRECISION_BF16), "bf16"));
    opt.precision = DPSIM_PRECISION_BF16;
    opt.trunk_path = "/nonexistent/trunk.pth"; /* never read: the CPU check comes first */
    char saved[64] = "";
    const char *isa = getenv("DPSIM_ISA");
    if (isa)
        snprintf(saved, sizeof saved, "%s", isa);
    setenv("DPSIM_ISA", "avx2", 1);
    CHECK(dpsim_model_load(ctx, &opt, &m) == DPSIM_E_UNSUPPORTED && m == NULL);
    CHECK_MSG(strstr(dpsim_ctx_last_error(ctx), "AVX512-BF16") != NULL, "message: %s",
              dpsim_ctx_last_error(ctx));
    if (isa)
        setenv("DPSIM_ISA", saved, 1);
    else
        unsetenv("DPSIM_ISA");
    const dpsim_status s = dpsim_model_load(ctx, &opt, &m); /* the missing file, or the CPU */
    CHECK(have_bf16 ? s != DPSIM_OK && s != DPSIM_E_UNSUPPORTED : s == DPSIM_E_UNSUPPORTED);
    CHECK(m == NULL);
}

static double distance(dpsim_ctx *ctx, const dpsim_model *m, const dpsim_image *a,
                       const dpsim_image *b)
{
    dpsim_features *fa = NULL, *fb = NULL;
    double d = -1;
    CHECK(dpsim_extract(ctx, m, a->pixels, a->width, a->height, &fa) == DPSIM_OK);
    CHECK(dpsim_extract(ctx, m, b->pixels, b->width, b->height, &fb) == DPSIM_OK);
    if (fa && fb)
        CHECK(dpsim_compare(ctx, m, fa, fb, &d, NULL, NULL) == DPSIM_OK);
    dpsim_features_free(fa);
    dpsim_features_free(fb);
    return d;
}

/*
 * SqueezeNet with its real weights on the example images: bf16 distances
 * within 2% of fp32 (measured: at most 0.5% on these pairs, doc/PRECISION.md),
 * the ranking kept; provenance, fingerprint and gradients.
 */
static void test_real_squeeze(dpsim_ctx *ctx)
{
    dpsim_model *m32 = load(ctx, DPSIM_NET_SQUEEZE, "real", DPSIM_PRECISION_FP32, DPSIM_OK);
    dpsim_model *m16 = load(ctx, DPSIM_NET_SQUEEZE, "real", DPSIM_PRECISION_BF16, DPSIM_OK);
    if (!m32 || !m16) {
        dpsim_model_free(m32);
        dpsim_model_free(m16);
        return;
    }
    char root[512], path[600];
    const char *src = getenv("DPSIM_SOURCE_ROOT");
    snprintf(root, sizeof root, "%s/examples", src ? src : ".");
    static const char *const names[] = {"ref", "blur", "noise"};
    dpsim_image *img[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s.png", root, names[i]);
        CHECK_MSG(dpsim_image_read(ctx, path, &img[i]) == DPSIM_OK, "%s", path);
    }
    if (img[0] && img[1] && img[2]) {
        double d32[2], d16[2];
        for (int i = 0; i < 2; i++) {
            d32[i] = distance(ctx, m32, img[0], img[i + 1]);
            d16[i] = distance(ctx, m16, img[0], img[i + 1]);
            printf("squeeze ref-%s: fp32 %.6f bf16 %.6f (%+.3f%%)\n", names[i + 1], d32[i],
                   d16[i], 100 * (d16[i] - d32[i]) / d32[i]);
            CHECK_REL(d16[i], d32[i], 0.02, 1e-3);
        }
        CHECK((d32[0] < d32[1]) == (d16[0] < d16[1]));
        /* bf16 features are not fp32 features */
        dpsim_features *f16 = NULL, *f32 = NULL;
        CHECK(dpsim_extract(ctx, m16, img[0]->pixels, img[0]->width, img[0]->height, &f16) ==
              DPSIM_OK);
        CHECK(dpsim_extract(ctx, m32, img[0]->pixels, img[0]->width, img[0]->height, &f32) ==
              DPSIM_OK);
        double d;
        CHECK(dpsim_compare(ctx, m32, f16, f32, &d, NULL, NULL) == DPSIM_E_INVAL);
        CHECK(dpsim_compare(ctx, m16, f16, f16, &d, NULL, NULL) == DPSIM_OK && d == 0);
        dpsim_features_free(f16);
        dpsim_features_free(f32);
        /* gradients stay fp32 */
        const size_t n = (size_t)3 * img[0]->width * img[0]->height;
        float *g = malloc(n * sizeof *g);
        CHECK(dpsim_gradient(ctx, m16, img[0]->pixels, img[1]->pixels, img[0]->width,
                             img[0]->height, &d, g, NULL) == DPSIM_E_UNSUPPORTED);
        CHECK(strstr(dpsim_ctx_last_error(ctx), "bf16") != NULL);
        CHECK(dpsim_gradient(ctx, m32, img[0]->pixels, img[1]->pixels, img[0]->width,
                             img[0]->height, &d, g, NULL) == DPSIM_OK);
        free(g);
    }
    for (int i = 0; i < 3; i++)
        dpsim_image_free(img[i]);
    char p32[1024], p16[1024];
    dpsim_model_provenance(m32, p32, sizeof p32);
    dpsim_model_provenance(m16, p16, sizeof p16);
    CHECK(strstr(p16, " precision=bf16 ") != NULL && strstr(p32, "precision") == NULL);
    CHECK(model_fingerprint(m16) != model_fingerprint(m32));
    dpsim_model_free(m32);
    dpsim_model_free(m16);
}

/* whole extractions: 1 and 2 threads, one by one and batched, the same bits */
static void test_threads(dpsim_net net, const char *trunk, int size)
{
    dpsim_ctx *c1 = NULL, *c2 = NULL;
    dpsim_config cfg;
    dpsim_config_init(&cfg);
    cfg.n_threads = 1;
    CHECK(dpsim_ctx_create(&c1, &cfg) == DPSIM_OK);
    cfg.n_threads = 2;
    CHECK(dpsim_ctx_create(&c2, &cfg) == DPSIM_OK);
    dpsim_model *m = load(c1, net, trunk, DPSIM_PRECISION_BF16, DPSIM_OK);
    if (m) {
        enum { N = 3 };
        float *px[N];
        int ws[N], hs[N];
        dpsim_features *one[N], *two[N], *batch[N];
        for (int i = 0; i < N; i++) {
            px[i] = malloc((size_t)3 * size * size * sizeof(float));
            gen_image(40 + (uint64_t)i, size, size, px[i]);
            ws[i] = hs[i] = size;
            CHECK(dpsim_extract(c1, m, px[i], size, size, &one[i]) == DPSIM_OK);
            CHECK(dpsim_extract(c2, m, px[i], size, size, &two[i]) == DPSIM_OK);
        }
        CHECK(dpsim_extract_batch(c2, m, N, (const float *const *)px, ws, hs, batch) == DPSIM_OK);
        for (int i = 0; i < N; i++) {
            int same2 = 1, sameb = 1;
            for (int t = 0; t < one[i]->n_taps; t++) {
                const size_t n = (size_t)one[i]->c[t] * one[i]->h[t] * one[i]->w[t];
                same2 &= !memcmp(one[i]->tap[t], two[i]->tap[t], n * sizeof(float));
                sameb &= !memcmp(one[i]->tap[t], batch[i]->tap[t], n * sizeof(float));
            }
            CHECK_MSG(same2 && sameb, "%s bf16 image %d: 2 threads %s, batch %s",
                      dpsim_net_name(net), i, same2 ? "same" : "differ", sameb ? "same" : "differ");
            dpsim_features_free(one[i]);
            dpsim_features_free(two[i]);
            dpsim_features_free(batch[i]);
            free(px[i]);
        }
    }
    dpsim_model_free(m);
    dpsim_ctx_free(c1);
    dpsim_ctx_free(c2);
}

int main(void)
{
    const int have_bf16 = isa_has_bf16();
    const gemm_kernel *vec = gemm_bf16_kernel_for(isa_active());
    CHECK(!vec == !have_bf16);
    CHECK(gemm_bf16_kernel_for(ISA_AVX2) == NULL && gemm_bf16_kernel_for(ISA_SCALAR) == NULL);
    dpsim_ctx *ctx;
    CHECK(dpsim_ctx_create(&ctx, NULL) == DPSIM_OK);
    test_options(ctx, have_bf16);
    test_rounding(vec);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(&cases[i], vec, 11 + i, 1.0f);
        if (i % 3 == 0) /* sums through the denormal range: flushed alike */
            check_case(&cases[i], vec, 31 + i, 1.5e-19f);
    }
    if (have_bf16) {
        if (getenv("DPSIM_WEIGHTS"))
            test_real_squeeze(ctx);
        else
            printf("no DPSIM_WEIGHTS: the real SqueezeNet check skipped\n");
        test_threads(DPSIM_NET_SQUEEZE, "random:3", 67);
        test_threads(DPSIM_NET_ALEX, "random:3", 71);
    }
    dpsim_ctx_free(ctx);
    gen_trunk_cleanup();
    if (!have_bf16 && !check_failed) {
        printf("skip: no AVX512-BF16 on this CPU or at $DPSIM_ISA (%d oracle checks passed)\n",
               check_passed);
        return 77;
    }
    return check_report();
}
