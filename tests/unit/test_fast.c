/*
 * test_fast.c - the fast convolution against the scalar oracle
 * (nn/conv2d.c) on random shapes (odd sizes, every kernel size, stride and
 * padding the nets use, partial tiles, several reduction blocks) for every
 * instruction set this CPU runs; bit-identical outputs for 1, 2 and 3
 * threads; fused ReLU; $DPSIM_ISA lowering the level; and whole extractions
 * identical for any thread count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/alloc.h"
#include "fast/conv_fast.h"
#include "fast/conv_wino.h"
#include "fast/pool_fast.h"
#include "model/model.h"
#include "modeltest.h"
#include "testgen.h"
#include "weights/tensors.h"

#define REL 1e-5

typedef struct conv_case {
    int in_ch, out_ch, kernel, stride, pad, h, w;
} conv_case;

/* the nets' shapes, shrunk, and odd ones that cut every tile and block */
static const conv_case cases[] = {
    {3, 64, 11, 4, 2, 37, 41},  /* AlexNet conv1 */
    {3, 64, 3, 2, 0, 29, 23},   /* SqueezeNet conv1 */
    {16, 64, 1, 1, 0, 13, 11},  /* fire expand 1x1 */
    {16, 64, 3, 1, 1, 13, 11},  /* fire expand 3x3 */
    {64, 16, 1, 1, 0, 7, 9},    /* fire squeeze */
    {64, 192, 5, 1, 2, 9, 10},  /* AlexNet conv2 */
    {67, 13, 3, 1, 1, 5, 33},   /* reduction of 603: five blocks, ragged channels */
    {5, 7, 3, 1, 1, 1, 1},      /* one pixel */
    {300, 9, 3, 1, 1, 3, 4},    /* long reduction, few outputs */
    {2, 3, 3, 3, 1, 16, 17},    /* stride 3 with padding (space-to-depth: 1x1) */
    {4, 9, 6, 2, 1, 17, 20},    /* space-to-depth, the kernel whole blocks (3x3 of 2x2) */
    {3, 64, 11, 4, 0, 11, 14},  /* space-to-depth, no padding, one output row */
};

static float *random_floats(uint64_t seed, size_t n, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)(splitmix64(seed * 1000003u + i) >> 40) / (float)(1 << 24);
    return x;
}

/*
 * 3x3 and 5x5 stride-1 shapes run by conv_wino_forward whatever
 * conv_fast_forward would choose: odd sizes, partial tiles on both edges, one
 * pixel, channels off every panel size, a reduction of several blocks, more
 * tiles than one task holds, padding 0 and 2, 5x5 kernels as 2x2 groups of
 * 3x3 (AlexNet's conv2 shape); the last one conv_fast_forward also runs as
 * Winograd (enough channels and tiles). Worst error measured: 7.5e-7 of the
 * peak output (F(4x4, 3x3), tried before, reached 3.4e-6).
 */
static const conv_case wino_cases[] = {
    {16, 64, 3, 1, 1, 7, 9},    {17, 23, 3, 1, 1, 13, 5},  {33, 19, 3, 1, 1, 1, 1},
    {64, 70, 3, 1, 1, 2, 3},    {200, 45, 3, 1, 1, 9, 11}, {40, 37, 3, 1, 1, 41, 38},
    {24, 16, 3, 1, 0, 11, 10},  {19, 21, 3, 1, 2, 6, 7},   {385, 16, 3, 1, 1, 4, 4},
    {64, 192, 5, 1, 2, 13, 11}, {20, 13, 5, 1, 0, 12, 9},  {70, 9, 5, 1, 1, 1, 2},
    {370, 360, 3, 1, 1, 17, 15}, /* weights past WINO_KEEP_FLOATS: made on each call */
    {64, 67, 3, 1, 1, 33, 35},
};

typedef dpsim_status (*conv_fn)(const packed_conv *p, const float *in, int h, int w, float *out,
                                int relu, worker_pool *workers, conv_buffers *buf, errbuf *e);

/* max |conv - oracle| relative to the largest oracle magnitude; returns that ratio */
static double check_case(const conv_case *c, const gemm_kernel *kern, uint64_t seed, conv_fn conv)
{
    conv2d_shape s = {c->in_ch, c->out_ch, c->kernel, c->stride, c->pad};
    const int ho = conv2d_out_size(&s, c->h), wo = conv2d_out_size(&s, c->w);
    const size_t n_in = (size_t)c->in_ch * c->h * c->w, n_out = (size_t)c->out_ch * ho * wo;
    const size_t n_w = (size_t)c->out_ch * c->in_ch * c->kernel * c->kernel;
    float *in = random_floats(seed, n_in, -1, 1), *wt = random_floats(seed + 1, n_w, -0.5f, 0.5f);
    float *bias = random_floats(seed + 2, (size_t)c->out_ch, -1, 1);
    float *want = malloc(n_out * sizeof *want), *got = malloc(n_out * sizeof *got);
    float *got_relu = malloc(n_out * sizeof *got), *got_t = malloc(n_out * sizeof *got);
    double *acc = malloc((size_t)ho * wo * sizeof *acc);
    conv2d_forward(&s, in, c->h, c->w, wt, bias, want, acc);

    packed_conv p;
    CHECK(packed_conv_init(&p, &s, wt, bias, kern, NULL) == DPSIM_OK);
    conv_buffers cb = {0};
    CHECK(conv(&p, in, c->h, c->w, got, 0, NULL, &cb, NULL) == DPSIM_OK);
    CHECK(conv(&p, in, c->h, c->w, got_relu, 1, NULL, &cb, NULL) == DPSIM_OK);
    double peak = 0, worst = 0;
    int relu_ok = 1;
    for (size_t i = 0; i < n_out; i++) {
        peak = fmax(peak, fabs(want[i]));
        worst = fmax(worst, fabs((double)got[i] - want[i]));
        relu_ok &= got_relu[i] == (got[i] < 0 ? 0.0f : got[i]);
    }
    CHECK_MSG(worst <= REL * peak, "%s conv %dx%d k%d s%d p%d %dx%d: error %.3g of peak %.3g",
              isa_name(kern->isa), c->in_ch, c->out_ch, c->kernel, c->stride, c->pad, c->h, c->w,
              worst, peak);
    CHECK_MSG(relu_ok, "%s: fused ReLU differs from ReLU of the output", isa_name(kern->isa));

    /* the same bits for 2 and 3 threads */
    for (int n = 2; n <= 3; n++) {
        worker_pool *workers;
        CHECK(pool_create(n, &workers) == DPSIM_OK);
        memset(got_t, 0xff, n_out * sizeof *got_t);
        CHECK(conv(&p, in, c->h, c->w, got_t, 0, workers, &cb, NULL) == DPSIM_OK);
        CHECK_MSG(!memcmp(got, got_t, n_out * sizeof *got), "%s, %d threads: bits differ",
                  isa_name(kern->isa), n);
        pool_free(workers);
    }
    packed_conv_free(&p);
    free(in), free(wt), free(bias), free(want), free(got), free(got_relu), free(got_t), free(acc);
    conv_buffers_free(&cb);
    return worst / peak;
}

static void test_kernels(void)
{
    const isa_level top = isa_detected();
    for (int l = ISA_SCALAR; l <= (int)top; l++) {
        const gemm_kernel *kern = gemm_kernel_for((isa_level)l);
        CHECK(kern->isa == (isa_level)l);
        CHECK(kern->mr <= GEMM_MAX_MR && kern->nr <= GEMM_MAX_NR);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            check_case(&cases[i], kern, 17 + i, conv_fast_forward);
    }
    printf("kernels checked up to %s\n", isa_name(top));
}

/* r (4, stride rs) = G g, g (3, stride gs): conv_wino.c's formulas, one value at a time */
static void weight_1d(const double *g, int gs, double *r, int rs)
{
    r[0] = g[0];
    r[rs] = 0.5 * (g[0] + g[gs] + g[2 * gs]);
    r[2 * rs] = 0.5 * (g[0] - g[gs] + g[2 * gs]);
    r[3 * rs] = g[2 * gs];
}

/*
 * conv_wino_weights against G g G^T of each 3x3 group of each (out, in)
 * channel pair, worked one at a time from the unpacked weights, on every
 * level: a small layer's kept on p, a large one's (past WINO_KEEP_FLOATS)
 * made in the caller's buffer on each call, by 1 or 3 workers, the same bits.
 */
static void check_wino_weights(const gemm_kernel *kern, int in_ch, int out_ch, int k,
                               worker_pool *workers)
{
    conv2d_shape s = {in_ch, out_ch, k, 1, k / 2};
    float *wt = random_floats(7, (size_t)out_ch * in_ch * k * k, -0.5f, 0.5f);
    packed_conv p;
    CHECK(packed_conv_init(&p, &s, wt, NULL, kern, NULL) == DPSIM_OK);
    conv_buffers cb = {0};
    const float *u = conv_wino_weights(&p, workers, &cb);
    const int large = conv_wino_u_floats(&p) > WINO_KEEP_FLOATS;
    CHECK(u != NULL && u == (large ? cb.u : atomic_load(&p.u)));
    const int groups = (k + 2) / 3, cg = in_ch * groups * groups, mr = kern->mr;
    const size_t stride = conv_wino_u_stride(&p);
    size_t wrong = 0;
    for (int oc = 0; oc < out_ch; oc++)
        for (int c = 0; c < cg; c++) {
            const int ic = c % in_ch, y0 = c / in_ch / groups * 3, x0 = c / in_ch % groups * 3;
            double g[9], gg[12], ue[16];
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++)
                    g[y * 3 + x] = y0 + y < k && x0 + x < k
                                       ? wt[(((size_t)oc * in_ch + ic) * k + y0 + y) * k + x0 + x]
                                       : 0.0;
            for (int x = 0; x < 3; x++)
                weight_1d(g + x, 3, gg + x, 3);
            for (int y = 0; y < 4; y++)
                weight_1d(gg + y * 3, 1, ue + y * 4, 1);
            for (int el = 0; el < 16; el++)
                wrong += u[el * stride + ((size_t)(oc / mr) * cg + c) * mr + oc % mr] !=
                         (float)ue[el];
        }
    CHECK_MSG(wrong == 0, "%s, %dx%d k%d, %d workers: %zu transformed weights differ",
              isa_name(kern->isa), in_ch, out_ch, k, pool_size(workers), wrong);
    packed_conv_free(&p);
    conv_buffers_free(&cb);
    free(wt);
}

static void test_wino_weights(void)
{
    worker_pool *three;
    CHECK(pool_create(3, &three) == DPSIM_OK);
    for (int l = ISA_SCALAR; l <= (int)isa_detected(); l++) {
        const gemm_kernel *kern = gemm_kernel_for((isa_level)l);
        check_wino_weights(kern, 67, 70, 3, NULL);   /* kept */
        check_wino_weights(kern, 64, 192, 5, three); /* kept, 2x2 groups */
        check_wino_weights(kern, 370, 360, 3, NULL); /* made on each call */
        check_wino_weights(kern, 370, 360, 3, three);
    }
    pool_free(three);
}

static void test_winograd(void)
{
    const isa_level top = isa_detected();
    double worst = 0;
    for (int l = ISA_SCALAR; l <= (int)top; l++)
        for (size_t i = 0; i < sizeof wino_cases / sizeof wino_cases[0]; i++) {
            const gemm_kernel *kern = gemm_kernel_for((isa_level)l);
            worst = fmax(worst, check_case(&wino_cases[i], kern, 90 + i, conv_wino_forward));
        }
    /* conv_fast_forward's choice: Winograd on enough tiles only */
    const conv_case *c = &wino_cases[sizeof wino_cases / sizeof wino_cases[0] - 1];
    conv2d_shape s = {c->in_ch, c->out_ch, 3, 1, 1};
    float *wt = random_floats(5, (size_t)c->in_ch * c->out_ch * 9, -0.5f, 0.5f);
    packed_conv p;
    CHECK(packed_conv_init(&p, &s, wt, NULL, gemm_kernel_for(top), NULL) == DPSIM_OK);
    CHECK(conv_wino_wins(&p, c->h, c->w) && !conv_wino_wins(&p, 9, 9));
    CHECK(atomic_load(&p.u) == NULL); /* made on first use, then kept */
    conv_buffers cb = {0};
    const float *u = conv_wino_weights(&p, NULL, &cb);
    CHECK(u != NULL && conv_wino_weights(&p, NULL, &cb) == u && cb.u == NULL);
    packed_conv_free(&p);
    conv_buffers_free(&cb);
    free(wt);
    check_case(c, gemm_kernel_for(top), 99, conv_fast_forward);
    /* a 5x5 (AlexNet's conv2): Winograd on 16x16 tiles and more, not with stride 2 */
    const conv_case c5 = {64, 192, 5, 1, 2, 31, 29};
    conv2d_shape s5 = {c5.in_ch, c5.out_ch, 5, 1, 2}, s5s2 = {c5.in_ch, c5.out_ch, 5, 2, 2};
    wt = random_floats(6, (size_t)c5.in_ch * c5.out_ch * 25, -0.5f, 0.5f);
    packed_conv p5, p5s2;
    CHECK(packed_conv_init(&p5, &s5, wt, NULL, gemm_kernel_for(top), NULL) == DPSIM_OK);
    CHECK(packed_conv_init(&p5s2, &s5s2, wt, NULL, gemm_kernel_for(top), NULL) == DPSIM_OK);
    CHECK(conv_wino_wins(&p5, c5.h, c5.w) && !conv_wino_wins(&p5, 13, 11) &&
          !conv_wino_wins(&p5s2, 2 * c5.h, 2 * c5.w));
    packed_conv_free(&p5);
    packed_conv_free(&p5s2);
    free(wt);
    worst = fmax(worst, check_case(&c5, gemm_kernel_for(top), 98, conv_fast_forward));
    printf("Winograd: worst error %.3g of the peak output, up to %s\n", worst, isa_name(top));
}

static void test_isa_override(void)
{
    const isa_level top = isa_detected();
    setenv("DPSIM_ISA", "scalar", 1);
    CHECK(isa_active() == ISA_SCALAR);
    setenv("DPSIM_ISA", "avx512", 1);
    CHECK(isa_active() == top); /* never above what the CPU has */
    setenv("DPSIM_ISA", "avx2", 1);
    CHECK(isa_active() == (top < ISA_AVX2 ? top : ISA_AVX2));
    setenv("DPSIM_ISA", "bogus", 1);
    CHECK(isa_active() == top);
    unsetenv("DPSIM_ISA");
    CHECK(isa_active() == top);
}

/* the separable max-pool equals the reference bit for bit, any thread count */
static void test_maxpool(void)
{
    const maxpool_shape shapes[] = {{3, 2, 1}, {3, 2, 0}, {2, 2, 0}, {2, 2, 1}};
    const int sizes[][2] = {{13, 17}, {16, 16}, {3, 3}, {2, 5}, {31, 8}};
    worker_pool *workers;
    CHECK(pool_create(3, &workers) == DPSIM_OK);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            const int h = sizes[j][0], w = sizes[j][1], c = 5;
            const int ho = maxpool_out_size(&shapes[i], h), wo = maxpool_out_size(&shapes[i], w);
            if (ho <= 0 || wo <= 0)
                continue;
            float *in = random_floats(40 + j, (size_t)c * h * w, -1, 1);
            const size_t n = (size_t)c * ho * wo;
            float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
            float *got3 = malloc(n * sizeof *got3);
            maxpool_forward(&shapes[i], in, c, h, w, want);
            CHECK(maxpool_fast(&shapes[i], in, c, h, w, got, NULL) == DPSIM_OK);
            CHECK(maxpool_fast(&shapes[i], in, c, h, w, got3, workers) == DPSIM_OK);
            CHECK_MSG(!memcmp(want, got, n * sizeof *got) && !memcmp(want, got3, n * sizeof *got),
                      "max-pool k%d s%d ceil %d on %dx%d differs from the reference",
                      shapes[i].kernel, shapes[i].stride, shapes[i].ceil_mode, w, h);
            free(in), free(want), free(got), free(got3);
        }
    pool_free(workers);
}

/* every worker runs once per pool_run, across many runs */
static void count_worker(void *arg, int worker) { ((int *)arg)[worker]++; }

static void test_pool(void)
{
    worker_pool *workers;
    CHECK(pool_create(1, &workers) == DPSIM_E_INVAL);
    CHECK(pool_create(4, &workers) == DPSIM_OK);
    CHECK(pool_size(workers) == 4 && pool_size(NULL) == 1);
    int counts[4] = {0};
    for (int r = 0; r < 200; r++)
        pool_run(workers, count_worker, counts);
    CHECK(counts[0] == 200 && counts[1] == 200 && counts[2] == 200 && counts[3] == 200);
    pool_free(workers);
}

/* one whole extraction: the same feature bits for 1, 2 and 3 threads */
static void test_extract_threads(void)
{
    const dpsim_net nets[] = {DPSIM_NET_SQUEEZE, DPSIM_NET_ALEX, DPSIM_NET_VGG16};
    char dir[] = "/tmp/dpsim-test-fast-XXXXXX", path[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/trunk.safetensors", dir);
    for (int n = 0; n < 3; n++) {
        tensor_list list = {0};
        CHECK(gen_trunk(net_def_get(nets[n]), 5, &list));
        CHECK(safetensors_write_file(path, &list, NULL, NULL) == DPSIM_OK);
        tensor_list_free(&list);
        dpsim_model_options opt;
        dpsim_model_options_init(&opt);
        opt.net = nets[n];
        opt.trunk_path = path;
        opt.use_lin = 0;
        dpsim_model *m = NULL;
        CHECK(dpsim_model_load(NULL, &opt, &m) == DPSIM_OK);
        const int w = 67, h = 53;
        float *img = malloc((size_t)3 * w * h * sizeof *img);
        gen_image(9, w, h, img);
        dpsim_features *ref = NULL;
        CHECK(dpsim_extract(NULL, m, img, w, h, &ref) == DPSIM_OK);
        for (int t = 2; t <= 3; t++) {
            dpsim_config cfg;
            dpsim_config_init(&cfg);
            cfg.n_threads = t;
            dpsim_ctx *ctx = NULL;
            CHECK(dpsim_ctx_create(&ctx, &cfg) == DPSIM_OK);
            dpsim_features *f = NULL;
            CHECK(dpsim_extract(ctx, m, img, w, h, &f) == DPSIM_OK);
            CHECK_MSG(features_equal(ref, f), "net %d, %d threads: features differ", n, t);
            dpsim_features_free(f);
            dpsim_ctx_free(ctx);
        }
        dpsim_features_free(ref);
        dpsim_model_free(m);
        free(img);
        remove(path);
    }
    remove(dir);
}

int main(void)
{
    test_kernels();
    test_winograd();
    test_wino_weights();
    test_isa_override();
    test_maxpool();
    test_pool();
    test_extract_threads();
    return check_report();
}
