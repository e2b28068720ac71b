/*
 * test_distort.c - the distortions against definitions that cannot be
 * fooled (rotation by 90 degrees is transpose-and-flip, hue shifts of 0 and
 * 1 are the identity, darken 0.5 halves every value, blur keeps constant and
 * linear images away from borders, zoom 1 is the identity), the parameter
 * draws and the generator.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "dpsim/dpsim.h"

enum { W = 24, H = 24 };
#define AT(img, c, y, x) (img)[((size_t)(c) * H + (y)) * W + (x)]

static void random_image(float *img, uint64_t seed)
{
    dpsim_rng rng;
    dpsim_rng_seed(&rng, seed);
    for (int i = 0; i < 3 * W * H; i++)
        img[i] = (float)dpsim_rng_uniform(&rng);
}

static dpsim_distort_params par(double a, double b, int k)
{
    dpsim_distort_params p = {a, b, k};
    return p;
}

static void test_rng(void)
{
    dpsim_rng a, b;
    dpsim_rng_seed(&a, 0);
    CHECK(a.s[0] == 0xe220a8397b1dcdafull); /* splitmix64's first output for seed 0 */
    dpsim_rng_seed(&b, 0);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= dpsim_rng_next(&a) == dpsim_rng_next(&b);
    CHECK(same);
    dpsim_rng_seed(&b, 1);
    CHECK(dpsim_rng_next(&a) != dpsim_rng_next(&b));
    double lo = 1, hi = 0;
    int counts[5] = {0};
    for (int i = 0; i < 10000; i++) {
        double u = dpsim_rng_uniform(&a);
        lo = fmin(lo, u);
        hi = fmax(hi, u);
        counts[dpsim_rng_below(&a, 5)]++;
    }
    CHECK(lo >= 0.0 && lo < 0.01 && hi < 1.0 && hi > 0.99);
    for (int k = 0; k < 5; k++)
        CHECK(counts[k] > 1800 && counts[k] < 2200);
}

static void test_draw(void)
{
    static const double lo[6] = {30, -0.5, 0.1, -0.5, 4, 1.1}, hi[6] = {330, 0.5, 0.5, 0.5, 10, 2};
    dpsim_rng rng;
    dpsim_rng_seed(&rng, 42);
    for (int k = 0; k < DPSIM_DISTORT_COUNT; k++) {
        int inside = 1, kernels = 0;
        for (int i = 0; i < 500; i++) {
            dpsim_distort_params p;
            CHECK(dpsim_distort_draw((dpsim_distortion)k, &rng, &p) == DPSIM_OK);
            inside &= p.a >= lo[k] && p.a < hi[k];
            if (k == DPSIM_DISTORT_TRANSLATE)
                inside &= p.b >= -0.5 && p.b < 0.5;
            if (k == DPSIM_DISTORT_BLUR) {
                inside &= p.k >= 11 && p.k <= 21 && p.k % 2 == 1;
                kernels |= 1 << (p.k - 11) / 2;
            }
        }
        CHECK_MSG(inside, "%s", dpsim_distortion_name((dpsim_distortion)k));
        if (k == DPSIM_DISTORT_BLUR)
            CHECK(kernels == 0x3f); /* every odd size from 11 to 21 drawn */
    }
    dpsim_distortion d;
    CHECK(dpsim_distortion_parse("hue", &d) == DPSIM_OK && d == DPSIM_DISTORT_HUE);
    CHECK(dpsim_distortion_parse("sharpen", &d) == DPSIM_E_INVAL);
}

static void test_geometry(dpsim_ctx *ctx, const float *in, float *out)
{
    dpsim_distort_params p = par(90, 0, 0);
    CHECK(dpsim_distort_apply(ctx, DPSIM_DISTORT_ROTATE, &p, in, W, H, out) == DPSIM_OK);
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) /* counter-clockwise: transpose, then flip rows */
                ok &= AT(out, c, y, x) == AT(in, c, x, W - 1 - y);
    CHECK(ok);
    p = par(180, 0, 0);
    dpsim_distort_apply(ctx, DPSIM_DISTORT_ROTATE, &p, in, W, H, out);
    ok = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                ok &= AT(out, c, y, x) == AT(in, c, H - 1 - y, W - 1 - x);
    CHECK(ok);
    /* 45 degrees: corners come from outside (black), the centre region stays bright */
    p = par(45, 0, 0);
    dpsim_distort_apply(ctx, DPSIM_DISTORT_ROTATE, &p, in, W, H, out);
    CHECK(AT(out, 0, 0, 0) == 0.0f && AT(out, 1, H - 1, W - 1) == 0.0f);
    p = par(0.25, -0.125, 0); /* 6 pixels right, 3 up */
    dpsim_distort_apply(ctx, DPSIM_DISTORT_TRANSLATE, &p, in, W, H, out);
    ok = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                ok &= AT(out, c, y, x) == (x >= 6 && y < H - 3 ? AT(in, c, y + 3, x - 6) : 0.0f);
    CHECK(ok);
    p = par(1.0, 0, 0);
    dpsim_distort_apply(ctx, DPSIM_DISTORT_ZOOM, &p, in, W, H, out);
    CHECK(memcmp(in, out, 3 * W * H * sizeof(float)) == 0);
    /* zoom 2 about the centre (11.5, 11.5): output x samples 11.5 + (x - 11.5) / 2 */
    p = par(2.0, 0, 0);
    dpsim_distort_apply(ctx, DPSIM_DISTORT_ZOOM, &p, in, W, H, out);
    CHECK(fabs(AT(out, 0, 1, 1) - (AT(in, 0, 6, 6) * 0.5625 + AT(in, 0, 6, 7) * 0.1875 +
                                   AT(in, 0, 7, 6) * 0.1875 + AT(in, 0, 7, 7) * 0.0625)) < 1e-6);
}

static void test_colour(dpsim_ctx *ctx, const float *in, float *out)
{
    dpsim_distort_params p = par(0.5, 0, 0);
    CHECK(dpsim_distort_apply(ctx, DPSIM_DISTORT_DARKEN, &p, in, W, H, out) == DPSIM_OK);
    int ok = 1;
    for (int i = 0; i < 3 * W * H; i++)
        ok &= out[i] == in[i] * 0.5f;
    CHECK(ok);
    for (int s = 0; s <= 1; s++) {
        p = par(s, 0, 0);
        dpsim_distort_apply(ctx, DPSIM_DISTORT_HUE, &p, in, W, H, out);
        double err = 0;
        for (int i = 0; i < 3 * W * H; i++)
            err = fmax(err, fabs(out[i] - in[i]));
        CHECK_MSG(err < 1e-6, "hue %d: max error %g", s, err);
    }
    /* a third of the circle: red -> green -> blue; gray stays gray */
    float px[3 * W * H] = {0}, res[3 * W * H];
    px[0] = 1.0f;                          /* pixel 0 red */
    px[1] = px[W * H + 1] = px[2 * W * H + 1] = 0.5f; /* pixel 1 gray */
    p = par(1.0 / 3.0, 0, 0);
    dpsim_distort_apply(ctx, DPSIM_DISTORT_HUE, &p, px, W, H, res);
    CHECK(fabs(res[0]) < 1e-6 && fabs(res[W * H] - 1) < 1e-6 && fabs(res[2 * W * H]) < 1e-6);
    CHECK(res[1] == 0.5f && res[W * H + 1] == 0.5f && res[2 * W * H + 1] == 0.5f);
    p = par(-1.0 / 3.0, 0, 0);
    dpsim_distort_apply(ctx, DPSIM_DISTORT_HUE, &p, px, W, H, res);
    CHECK(fabs(res[2 * W * H] - 1) < 1e-6 && fabs(res[0]) < 1e-6);
}

static void test_blur(dpsim_ctx *ctx, const float *in, float *out)
{
    float img[3 * W * H];
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                AT(img, c, y, x) = c == 0 ? 0.3f : c == 1 ? 0.02f * x + 0.1f : 0.03f * y + 0.05f;
    dpsim_distort_params p = par(3.0, 0, 7);
    CHECK(dpsim_distort_apply(ctx, DPSIM_DISTORT_BLUR, &p, img, W, H, out) == DPSIM_OK);
    double err_const = 0, err_lin = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            err_const = fmax(err_const, fabs(AT(out, 0, y, x) - 0.3f));
            if (x >= 3 && x < W - 3 && y >= 3 && y < H - 3) /* away from the borders */
                err_lin = fmax(err_lin, fmax(fabs(AT(out, 1, y, x) - AT(img, 1, y, x)),
                                             fabs(AT(out, 2, y, x) - AT(img, 2, y, x))));
        }
    CHECK_MSG(err_const < 1e-6 && err_lin < 1e-5, "constant %g, linear %g", err_const, err_lin);
    /* on noise: the interior mean stays, the variance falls */
    p = par(2.0, 0, 5);
    dpsim_distort_apply(ctx, DPSIM_DISTORT_BLUR, &p, in, W, H, out);
    double var_in = 0, var_out = 0;
    for (int i = 0; i < W * H; i++) {
        var_in += (in[i] - 0.5) * (in[i] - 0.5);
        var_out += (out[i] - 0.5) * (out[i] - 0.5);
    }
    CHECK(var_out < 0.2 * var_in);
    p = par(2.0, 0, 4);
    CHECK(dpsim_distort_apply(ctx, DPSIM_DISTORT_BLUR, &p, in, W, H, out) == DPSIM_E_INVAL);
    CHECK(strstr(dpsim_ctx_last_error(ctx), "odd kernel") != NULL);
    p = par(NAN, 0, 0);
    CHECK(dpsim_distort_apply(ctx, DPSIM_DISTORT_ROTATE, &p, in, W, H, out) == DPSIM_E_INVAL);
}

int main(void)
{
    dpsim_ctx *ctx;
    if (dpsim_ctx_create(&ctx, NULL) != DPSIM_OK)
        return 1;
    float *in = malloc(3 * W * H * sizeof(float)), *out = malloc(3 * W * H * sizeof(float));
    random_image(in, 7);
    test_rng();
    test_draw();
    test_geometry(ctx, in, out);
    test_colour(ctx, in, out);
    test_blur(ctx, in, out);
    free(in);
    free(out);
    dpsim_ctx_free(ctx);
    return check_report();
}
