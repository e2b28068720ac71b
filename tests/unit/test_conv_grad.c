/*
 * test_conv_grad.c - the fast input gradient of a convolution
 * (conv_fast_backward_input) against the double oracle
 * conv2d_backward_input, for each of its forms: the transposed convolution
 * on its own packed weights (direct, or a 5x5 by Winograd on its own
 * transformed weights), the transposed 3x3 by Winograd on the forward's
 * transformed weights rearranged (conv_wino_grad.c: kept for a small layer,
 * made again on each call for a large one), and patch gradients
 * scattered back (strides, few input channels). For every instruction set
 * this CPU runs, overwriting and accumulating, at odd sizes and channel
 * counts off every panel; the same bits on 1 and 2 threads; and the
 * Winograd-backed sizes packing no weights of their own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fast/conv_fast.h"
#include "fast/conv_wino.h"
#include "grad/grad.h"
#include "testgen.h"

#define REL 1e-5

typedef struct grad_case {
    int in_ch, out_ch, kernel, stride, pad, h, w;
    int wino; /* the forward's transformed weights serve (conv_wino_grad_wins): 1 rearranged
                 once and kept, 2 rearranged on each call (over WINO_GRAD_KEEP_FLOATS) */
} grad_case;

static const grad_case cases[] = {
    {64, 64, 3, 1, 1, 17, 15, 1},  /* 9x8 tiles: Winograd (VGG's conv1_2, shrunk) */
    {72, 80, 3, 1, 1, 21, 18, 1},  /* channels off the panels, a cut tile on each edge */
    {130, 96, 3, 1, 1, 16, 16, 1}, /* a reduction of several blocks */
    {384, 352, 3, 1, 1, 16, 16, 2}, /* 2.2M floats of weights rearranged: not kept */
    {64, 64, 3, 1, 1, 9, 9, 0},    /* too few tiles: direct */
    {16, 64, 3, 1, 1, 13, 11, 0},  /* fire expand 3x3: few channels */
    {64, 192, 5, 1, 2, 31, 29, 0}, /* AlexNet conv2: its own weights (Winograd as 2x2 groups) */
    {64, 16, 1, 1, 0, 7, 9, 0},    /* fire squeeze */
    {3, 64, 3, 1, 1, 19, 17, 0},   /* VGG conv1_1: 3 output rows, patches */
    {3, 64, 11, 4, 2, 37, 41, 0},  /* AlexNet conv1: stride, patches */
    {64, 64, 3, 1, 0, 20, 20, 0},  /* padding 0: its transposed convolution pads 2 */
};

static float *random_floats(uint64_t seed, size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(splitmix64(seed * 1000003u + i) >> 40) / (float)(1 << 23) - 1.0f;
    return x;
}

/* max |got - want| / max |want| */
static double rel_error(const float *got, const double *want, size_t n)
{
    double peak = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        peak = fmax(peak, fabs(want[i]));
        worst = fmax(worst, fabs((double)got[i] - want[i]));
    }
    return worst / peak;
}

static double check_case(const grad_case *c, const gemm_kernel *kern, uint64_t seed)
{
    const conv2d_shape s = {c->in_ch, c->out_ch, c->kernel, c->stride, c->pad};
    const int ho = conv2d_out_size(&s, c->h), wo = conv2d_out_size(&s, c->w);
    const size_t n_in = (size_t)c->in_ch * c->h * c->w, n_out = (size_t)c->out_ch * ho * wo;
    float *wt = random_floats(seed, (size_t)c->out_ch * c->in_ch * c->kernel * c->kernel);
    float *d_out = random_floats(seed + 1, n_out), *base = random_floats(seed + 2, n_in);
    double *d_out64 = malloc(n_out * sizeof *d_out64), *want = calloc(n_in, sizeof *want);
    double *want_acc = malloc(n_in * sizeof *want_acc);
    for (size_t i = 0; i < n_out; i++)
        d_out64[i] = d_out[i];
    conv2d_backward_input(&s, d_out64, c->h, c->w, wt, want);
    for (size_t i = 0; i < n_in; i++)
        want_acc[i] = want[i] + base[i];

    packed_conv p;
    packed_conv_grad g;
    CHECK(packed_conv_init(&p, &s, wt, NULL, kern, NULL) == DPSIM_OK);
    packed_conv_grad_init(&g, &p);
    const int direct = packed_conv_grad_direct(&p, &g, c->h, c->w);
    CHECK_MSG(direct == !c->wino, "%dx%d k%d p%d at %dx%d: %s, expected %s", c->in_ch, c->out_ch,
              c->kernel, c->pad, c->h, c->w, direct ? "own weights" : "the forward's",
              c->wino ? "the forward's" : "own weights");
    if (direct)
        CHECK(packed_conv_grad_pack(&g, &p, NULL) == DPSIM_OK);
    conv_buffers cb = {0};
    float *got = malloc(n_in * sizeof *got), *got_acc = malloc(n_in * sizeof *got);
    float *got_t = malloc(n_in * sizeof *got_t);
    memset(got, 0xff, n_in * sizeof *got); /* overwritten whole */
    memcpy(got_acc, base, n_in * sizeof *got_acc);
    CHECK(conv_fast_backward_input(&p, &g, d_out, c->h, c->w, got, 0, NULL, &cb, NULL) ==
          DPSIM_OK);
    CHECK(conv_fast_backward_input(&p, &g, d_out, c->h, c->w, got_acc, 1, NULL, &cb, NULL) ==
          DPSIM_OK);
    const double err = fmax(rel_error(got, want, n_in), rel_error(got_acc, want_acc, n_in));
    CHECK_MSG(err <= REL, "%s grad %dx%d k%d s%d p%d %dx%d: error %.3g of the peak",
              isa_name(kern->isa), c->in_ch, c->out_ch, c->kernel, c->stride, c->pad, c->h,
              c->w, err);
    CHECK_MSG(!direct == !g.t.kern, "weights of its own packed: %d, expected %d", !!g.t.kern,
              direct);
    CHECK_MSG((c->wino == 1) == (atomic_load(&g.u) != NULL), "%dx%d: rearranged weights %s",
              c->in_ch, c->out_ch, atomic_load(&g.u) ? "kept" : "not kept");
    worker_pool *workers;
    CHECK(pool_create(2, &workers) == DPSIM_OK);
    memset(got_t, 0xff, n_in * sizeof *got_t);
    CHECK(conv_fast_backward_input(&p, &g, d_out, c->h, c->w, got_t, 0, workers, &cb, NULL) ==
          DPSIM_OK);
    CHECK_MSG(!memcmp(got, got_t, n_in * sizeof *got), "%s grad %dx%d k%d: 2 threads differ",
              isa_name(kern->isa), c->in_ch, c->out_ch, c->kernel);
    pool_free(workers);
    packed_conv_grad_free(&g);
    packed_conv_free(&p);
    conv_buffers_free(&cb);
    free(wt), free(d_out), free(base), free(d_out64), free(want), free(want_acc);
    free(got), free(got_acc), free(got_t);
    return err;
}

int main(void)
{
    const isa_level top = isa_detected();
    double worst = 0;
    for (int l = ISA_SCALAR; l <= (int)top; l++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            worst = fmax(worst, check_case(&cases[i], gemm_kernel_for((isa_level)l), 40 + i));
    printf("input gradients checked up to %s: worst error %.3g of the peak\n", isa_name(top),
           worst);
    return check_report();
}
