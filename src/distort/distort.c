/*
 * distort.c - the six distortions of SPEC section 8 on (3, h, w) images:
 * rotate and zoom by inverse-mapped bilinear sampling (outside = black),
 * translate by whole pixels, darken by scaling, hue in HSV (torchvision's
 * formulas), blur by a separable Gaussian with reflected borders.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"

static const char *const names[DPSIM_DISTORT_COUNT] = {"rotate", "translate", "darken",
                                                       "hue",    "blur",      "zoom"};

const char *dpsim_distortion_name(dpsim_distortion kind)
{
    return (unsigned)kind < DPSIM_DISTORT_COUNT ? names[kind] : NULL;
}

dpsim_status dpsim_distortion_parse(const char *name, dpsim_distortion *out)
{
    for (int i = 0; name && out && i < DPSIM_DISTORT_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (dpsim_distortion)i;
            return DPSIM_OK;
        }
    return DPSIM_E_INVAL;
}

static double between(dpsim_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * dpsim_rng_uniform(rng);
}

dpsim_status dpsim_distort_draw(dpsim_distortion kind, dpsim_rng *rng, dpsim_distort_params *out)
{
    if (!rng || !out || (unsigned)kind >= DPSIM_DISTORT_COUNT)
        return DPSIM_E_INVAL;
    dpsim_distort_params p = {0.0, 0.0, 0};
    switch (kind) {
    case DPSIM_DISTORT_ROTATE: p.a = between(rng, 30.0, 330.0); break;
    case DPSIM_DISTORT_TRANSLATE:
        p.a = between(rng, -0.5, 0.5);
        p.b = between(rng, -0.5, 0.5);
        break;
    case DPSIM_DISTORT_DARKEN: p.a = between(rng, 0.1, 0.5); break;
    case DPSIM_DISTORT_HUE: p.a = between(rng, -0.5, 0.5); break;
    case DPSIM_DISTORT_BLUR:
        p.k = 11 + 2 * (int)dpsim_rng_below(rng, 6);
        p.a = between(rng, 4.0, 10.0);
        break;
    case DPSIM_DISTORT_ZOOM: p.a = between(rng, 1.1, 2.0); break;
    case DPSIM_DISTORT_COUNT: return DPSIM_E_INVAL;
    }
    *out = p;
    return DPSIM_OK;
}

static float clamp01(double v) { return (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v); }

/* in (h, w) sampled bilinearly at (x, y); neighbours outside the image count as 0 */
static double sample(const float *in, int w, int h, double x, double y)
{
    const double fx = floor(x), fy = floor(y), ax = x - fx, ay = y - fy;
    const int x0 = (int)fx, y0 = (int)fy;
    double v = 0.0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            const int xi = x0 + dx, yi = y0 + dy;
            const double wgt = (dx ? ax : 1.0 - ax) * (dy ? ay : 1.0 - ay);
            if (wgt != 0.0 && xi >= 0 && xi < w && yi >= 0 && yi < h)
                v += wgt * in[(size_t)yi * w + xi];
        }
    return v;
}

/* out(x, y) = in(cx + m00 dx + m01 dy, cy + m10 dx + m11 dy), centred coordinates */
static void warp(const float *in, int w, int h, const double m[4], float *out)
{
    const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
    for (int c = 0; c < 3; c++) {
        const float *src = in + (size_t)c * w * h;
        float *dst = out + (size_t)c * w * h;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const double dx = x - cx, dy = y - cy;
                dst[(size_t)y * w + x] = clamp01(
                    sample(src, w, h, cx + m[0] * dx + m[1] * dy, cy + m[2] * dx + m[3] * dy));
            }
    }
}

/* cos and sin of deg degrees, exact at multiples of 90 */
static void cos_sin(double deg, double *c, double *s)
{
    double r = fmod(deg, 360.0);
    if (r < 0)
        r += 360.0;
    if (r == 0.0 || r == 90.0 || r == 180.0 || r == 270.0) {
        static const double cs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        *c = cs[(int)(r / 90.0)][0];
        *s = cs[(int)(r / 90.0)][1];
        return;
    }
    *c = cos(r * M_PI / 180.0);
    *s = sin(r * M_PI / 180.0);
}

static void translate(const float *in, int w, int h, int tx, int ty, float *out)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const int xs = x - tx, ys = y - ty;
                out[((size_t)c * h + y) * w + x] =
                    xs >= 0 && xs < w && ys >= 0 && ys < h ? in[((size_t)c * h + ys) * w + xs]
                                                           : 0.0f;
            }
}

/* torchvision's _rgb2hsv / _hsv2rgb with the hue moved by shift */
static void hue_pixel(double r, double g, double b, double shift, float out[3])
{
    const double maxc = fmax(r, fmax(g, b)), minc = fmin(r, fmin(g, b)), cr = maxc - minc;
    const int eq = maxc == minc;
    const double s = cr / (eq ? 1.0 : maxc), div = eq ? 1.0 : cr;
    const double rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    double h = maxc == r ? bc - gc : maxc == g ? 2.0 + rc - bc : 4.0 + gc - rc;
    h = fmod(h / 6.0 + 1.0, 1.0);
    h = fmod(h + shift, 1.0);
    if (h < 0.0)
        h += 1.0;
    const double v = maxc, i = floor(h * 6.0), f = h * 6.0 - i;
    const double p = fmin(fmax(v * (1.0 - s), 0.0), 1.0), q = fmin(fmax(v * (1.0 - s * f), 0.0), 1.0),
                 t = fmin(fmax(v * (1.0 - s * (1.0 - f)), 0.0), 1.0);
    const double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    const int k = (int)i % 6;
    for (int ch = 0; ch < 3; ch++)
        out[ch] = clamp01(rgb[k][ch]);
}

static int reflect(int i, int n)
{
    if (n == 1)
        return 0;
    const int period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

/* separable Gaussian: kernel (k), rows then columns; tmp (h, w) */
static dpsim_status blur(const float *in, int w, int h, int k, double sigma, float *out)
{
    double *kern = dp_malloc((size_t)k * sizeof(double));
    double *tmp = dp_malloc((size_t)w * h * sizeof(double)); // (h, w)
    if (!kern || !tmp) {
        dp_free(kern);
        dp_free(tmp);
        return DPSIM_E_NOMEM;
    }
    const int r = k / 2;
    double sum = 0.0;
    for (int i = 0; i < k; i++)
        sum += kern[i] = exp(-0.5 * (double)(i - r) * (i - r) / (sigma * sigma));
    for (int i = 0; i < k; i++)
        kern[i] /= sum;
    for (int c = 0; c < 3; c++) {
        const float *src = in + (size_t)c * w * h;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v = 0.0;
                for (int i = 0; i < k; i++)
                    v += kern[i] * src[(size_t)y * w + reflect(x + i - r, w)];
                tmp[(size_t)y * w + x] = v;
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v = 0.0;
                for (int i = 0; i < k; i++)
                    v += kern[i] * tmp[(size_t)reflect(y + i - r, h) * w + x];
                out[((size_t)c * h + y) * w + x] = clamp01(v);
            }
    }
    dp_free(kern);
    dp_free(tmp);
    return DPSIM_OK;
}

static dpsim_status check_params(dpsim_ctx *ctx, dpsim_distortion kind,
                                 const dpsim_distort_params *p)
{
    if (!isfinite(p->a) || !isfinite(p->b))
        return ctx_fail(ctx, DPSIM_E_INVAL, "%s: parameters must be finite", names[kind]);
    if (kind == DPSIM_DISTORT_BLUR && (p->k < 1 || p->k % 2 == 0 || p->k > 1001 || p->a <= 0.0))
        return ctx_fail(ctx, DPSIM_E_INVAL, "blur: kernel %d, sigma %g; expected an odd kernel "
                        "size from 1 to 1001 and sigma > 0", p->k, p->a);
    if (kind == DPSIM_DISTORT_ZOOM && p->a <= 0.0)
        return ctx_fail(ctx, DPSIM_E_INVAL, "zoom: factor %g, expected > 0", p->a);
    if (kind == DPSIM_DISTORT_DARKEN && p->a < 0.0)
        return ctx_fail(ctx, DPSIM_E_INVAL, "darken: factor %g, expected >= 0", p->a);
    return DPSIM_OK;
}

dpsim_status dpsim_distort_apply(dpsim_ctx *ctx, dpsim_distortion kind,
                                 const dpsim_distort_params *p, const float *in, int width,
                                 int height, float *out)
{
    ctx_clear(ctx);
    if (!p || !in || !out || (unsigned)kind >= DPSIM_DISTORT_COUNT)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_distort_apply: invalid argument");
    if (width < 1 || height < 1 || width > DPSIM_MAX_SIDE || height > DPSIM_MAX_SIDE ||
        (size_t)width * height > DPSIM_MAX_PIXELS)
        return ctx_fail(ctx, DPSIM_E_INVAL, "image size %dx%d out of range", width, height);
    dpsim_status s = check_params(ctx, kind, p);
    if (s != DPSIM_OK)
        return s;
    const size_t hw = (size_t)width * height;
    double c, sn, m[4];
    switch (kind) {
    case DPSIM_DISTORT_ROTATE:
        cos_sin(p->a, &c, &sn);
        m[0] = c;
        m[1] = -sn;
        m[2] = sn;
        m[3] = c;
        warp(in, width, height, m, out);
        break;
    case DPSIM_DISTORT_ZOOM:
        m[0] = m[3] = 1.0 / p->a;
        m[1] = m[2] = 0.0;
        warp(in, width, height, m, out);
        break;
    case DPSIM_DISTORT_TRANSLATE:
        translate(in, width, height, (int)lround(p->a * width), (int)lround(p->b * height), out);
        break;
    case DPSIM_DISTORT_DARKEN:
        for (size_t i = 0; i < 3 * hw; i++)
            out[i] = clamp01(in[i] * p->a);
        break;
    case DPSIM_DISTORT_HUE:
        for (size_t i = 0; i < hw; i++) {
            float px[3];
            hue_pixel(in[i], in[hw + i], in[2 * hw + i], p->a, px);
            out[i] = px[0];
            out[hw + i] = px[1];
            out[2 * hw + i] = px[2];
        }
        break;
    case DPSIM_DISTORT_BLUR:
        if (blur(in, width, height, p->k, p->a, out) != DPSIM_OK)
            return ctx_fail(ctx, DPSIM_E_NOMEM, "blur: out of memory");
        break;
    case DPSIM_DISTORT_COUNT: break;
    }
    return DPSIM_OK;
}
