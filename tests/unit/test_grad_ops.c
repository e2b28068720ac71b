/*
 * test_grad_ops.c - every backward op of src/grad against central finite
 * differences in double precision, on small random shapes: convolution
 * (strides, padding, 1x1 and 11x11), ReLU, max-pool (floor and ceil mode),
 * L2 pooling, channel normalisation, and the spatial, mean, sort, Gram and
 * DISTS terms (normalisation on and off, weights, both images). Forward
 * references for the trunk ops are plain double loops written here; the
 * terms' values come from the functions under test (computed in double).
 * Also: the gradient is finite (zero) at all-zero feature vectors.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "grad/grad.h"
#include "testgen.h"

#define FD_H 1e-6   /* central difference step */
#define FD_TOL 1e-6 /* max |analytic - numeric| <= FD_TOL * max |analytic| */

static uint64_t rng_state = 1;
static double worst_rel; /* largest max|fd - grad| / max|grad| of any op */

/* u in [-1, 1), exactly representable as a float */
static double rnd(void)
{
    rng_state++;
    return (double)(float)((double)(splitmix64(rng_state) >> 40) / 8388608.0 - 1.0);
}

static double *rnd_array(size_t n, double lo_abs)
{
    double *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        x[i] = rnd();
        if (lo_abs > 0 && x[i] > -lo_abs && x[i] < lo_abs) /* keep away from a kink */
            x[i] = x[i] < 0 ? -lo_abs - 0.25 * x[i] * x[i] : lo_abs + 0.25 * x[i] * x[i];
        x[i] = (double)(float)x[i];
    }
    return x;
}

static float *to_float(const double *x, size_t n)
{
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)x[i];
    return f;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* ---- scalar function of x with analytic gradient, checked element by element ---- */

typedef double (*scalar_fn)(const double *x, void *ctx);

static void check_fd(const char *what, scalar_fn f, void *ctx, double *x, size_t n,
                     const double *grad)
{
    double worst = 0.0, peak = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, fabs(grad[i]));
    for (size_t i = 0; i < n; i++) {
        const double keep = x[i];
        x[i] = keep + FD_H;
        double up = f(x, ctx);
        x[i] = keep - FD_H;
        double down = f(x, ctx);
        x[i] = keep;
        double num = (up - down) / (2.0 * FD_H), err = fabs(num - grad[i]);
        if (err > worst) {
            worst = err;
            at = i;
        }
    }
    fprintf(stderr, "%-40s n %5zu  max|grad| %.3e  max|fd - grad| %.2e (at %zu)\n", what, n,
            peak, worst, at);
    CHECK_MSG(peak > 0.0, "%s: gradient is all zero", what);
    worst_rel = fmax(worst_rel, worst / peak);
    CHECK_MSG(worst <= FD_TOL * fmax(peak, 1e-3), "%s: finite differences differ by %.3g at %zu "
              "(peak %.3g)", what, worst, at, peak);
}

// ---- convolution ----

typedef struct conv_case {
    conv2d_shape s;
    int h, w;
    const float *weight;
    const double *r; /* (out_ch, ho, wo) the loss weights: L = <r, conv(x)> */
} conv_case;

static double conv_loss(const double *x, void *vctx)
{
    const conv_case *c = vctx;
    const int k = c->s.kernel, ho = conv2d_out_size(&c->s, c->h), wo = conv2d_out_size(&c->s, c->w);
    double L = 0.0;
    for (int oc = 0; oc < c->s.out_ch; oc++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                double acc = 0.0;
                for (int ic = 0; ic < c->s.in_ch; ic++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int y = oy * c->s.stride - c->s.pad + ky;
                            int xx = ox * c->s.stride - c->s.pad + kx;
                            if (y >= 0 && y < c->h && xx >= 0 && xx < c->w)
                                acc += c->weight[((oc * c->s.in_ch + ic) * k + ky) * k + kx] *
                                       x[((size_t)ic * c->h + y) * c->w + xx];
                        }
                L += c->r[((size_t)oc * ho + oy) * wo + ox] * acc;
            }
    return L;
}

static void test_conv(int in_ch, int out_ch, int k, int stride, int pad, int h, int w)
{
    conv_case c = {{in_ch, out_ch, k, stride, pad}, h, w, NULL, NULL};
    const size_t nw = (size_t)out_ch * in_ch * k * k, nx = (size_t)in_ch * h * w;
    const size_t ny = (size_t)out_ch * conv2d_out_size(&c.s, h) * conv2d_out_size(&c.s, w);
    double *wd = rnd_array(nw, 0), *x = rnd_array(nx, 0), *r = rnd_array(ny, 0);
    float *wf = to_float(wd, nw);
    c.weight = wf;
    c.r = r;
    double *g = calloc(nx, sizeof *g);
    conv2d_backward_input(&c.s, r, h, w, wf, g);
    char what[80];
    snprintf(what, sizeof what, "conv %d->%d k%d s%d p%d %dx%d", in_ch, out_ch, k, stride, pad,
             h, w);
    check_fd(what, conv_loss, &c, x, nx, g);
    free(wd), free(x), free(r), free(wf), free(g);
}

// ---- ReLU, max-pool, L2 pool: L = <r, op(x)> ----

typedef struct pool_case {
    int kind; /* 0 relu, 1 maxpool, 2 l2pool */
    maxpool_shape ps;
    int c, h, w;
    const double *r;
} pool_case;

static int out_side(const pool_case *p, int n)
{
    return p->kind == 0 ? n : p->kind == 1 ? maxpool_out_size(&p->ps, n) : (n - 1) / 2 + 1;
}

static double pool_loss(const double *x, void *vctx)
{
    const pool_case *p = vctx;
    const int ho = out_side(p, p->h), wo = out_side(p, p->w);
    static const double g3[3] = {0.25, 0.5, 0.25};
    double L = 0.0;
    for (int ch = 0; ch < p->c; ch++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                const double *src = x + (size_t)ch * p->h * p->w;
                double v;
                if (p->kind == 0) {
                    v = fmax(src[oy * p->w + ox], 0.0);
                } else if (p->kind == 1) {
                    int y0 = oy * p->ps.stride, x0 = ox * p->ps.stride;
                    v = src[y0 * p->w + x0];
                    for (int y = y0; y < y0 + p->ps.kernel && y < p->h; y++)
                        for (int xx = x0; xx < x0 + p->ps.kernel && xx < p->w; xx++)
                            v = fmax(v, src[y * p->w + xx]);
                } else {
                    double acc = 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int y = 2 * oy - 1 + ky, xx = 2 * ox - 1 + kx;
                            if (y >= 0 && y < p->h && xx >= 0 && xx < p->w)
                                acc += g3[ky] * g3[kx] * src[y * p->w + xx] * src[y * p->w + xx];
                        }
                    v = sqrt(acc + 1e-12);
                }
                L += p->r[((size_t)ch * ho + oy) * wo + ox] * v;
            }
    return L;
}

static void test_pool(int kind, int k, int stride, int ceil_mode, int c, int h, int w)
{
    pool_case p = {kind, {k, stride, ceil_mode}, c, h, w, NULL};
    const size_t nx = (size_t)c * h * w, ny = (size_t)c * out_side(&p, h) * out_side(&p, w);
    /* distinct values at least 2 FD_H apart from each other's reach: random floats do */
    double *x = rnd_array(nx, kind == 0 ? 1e-3 : 0), *r = rnd_array(ny, 0);
    p.r = r;
    float *xf = to_float(x, nx), *rf = to_float(r, ny); /* r is exact in float (rnd) */
    float *gf = calloc(nx, sizeof *gf);
    double *g = malloc(nx * sizeof *g);
    char what[80];
    if (kind == 0) {
        memcpy(gf, rf, nx * sizeof *gf);
        float *y = to_float(x, nx);
        relu_forward(y, nx);
        relu_backward(y, gf, nx, NULL);
        free(y);
        snprintf(what, sizeof what, "relu %dx%dx%d", c, h, w);
    } else if (kind == 1) {
        maxpool_backward(&p.ps, xf, c, h, w, rf, gf, NULL);
        snprintf(what, sizeof what, "maxpool k%d s%d%s %dx%dx%d", k, stride,
                 ceil_mode ? " ceil" : "", c, h, w);
    } else {
        l2pool_backward(xf, c, h, w, rf, gf);
        snprintf(what, sizeof what, "l2pool %dx%dx%d", c, h, w);
    }
    for (size_t i = 0; i < nx; i++)
        g[i] = gf[i];
    check_fd(what, pool_loss, &p, x, nx, g);
    free(x), free(r), free(xf), free(rf), free(gf), free(g);
}

// ---- channel normalisation: L = <r, n(z)> ----

typedef struct norm_case {
    int c;
    size_t hw;
    const double *r;
} norm_case;

static double norm_loss(const double *z, void *vctx)
{
    const norm_case *nc = vctx;
    double *n = malloc((size_t)nc->c * nc->hw * sizeof *n), *inv = malloc(nc->hw * sizeof *inv);
    unit_norm_forward(z, nc->c, nc->hw, n, inv);
    double L = dot(n, nc->r, (size_t)nc->c * nc->hw);
    free(n), free(inv);
    return L;
}

static void test_norm(void)
{
    norm_case nc = {6, 5, NULL};
    const size_t n = (size_t)nc.c * nc.hw;
    double *z = rnd_array(n, 0), *r = rnd_array(n, 0), *g = calloc(n, sizeof *g);
    double *zn = malloc(n * sizeof *zn), *inv = malloc(nc.hw * sizeof *inv);
    nc.r = r;
    unit_norm_forward(z, nc.c, nc.hw, zn, inv);
    unit_norm_backward(z, nc.c, nc.hw, inv, r, g);
    check_fd("channel normalisation 6x5", norm_loss, &nc, z, n, g);
    /* an all-zero position: finite, and taken as zero */
    for (int ch = 0; ch < nc.c; ch++)
        z[(size_t)ch * nc.hw + 2] = 0.0;
    memset(g, 0, n * sizeof *g);
    unit_norm_forward(z, nc.c, nc.hw, zn, inv);
    unit_norm_backward(z, nc.c, nc.hw, inv, r, g);
    int finite = 1;
    for (size_t i = 0; i < n; i++)
        finite &= isfinite(g[i]);
    CHECK_MSG(finite, "normalisation gradient not finite at an all-zero position");
    for (int ch = 0; ch < nc.c; ch++)
        CHECK(g[(size_t)ch * nc.hw + 2] == 0.0);
    free(z), free(r), free(g), free(zn), free(inv);
}

// ---- comparison terms: value and gradient with respect to a and to b ----

typedef struct term_case {
    const char *name;
    int c, h, w, norm, side; /* side 0: x is a, 1: x is b */
    const float *weight;
    double *a, *b;
} term_case;

static double term_value(const term_case *t, const double *x, double *ga, double *gb)
{
    dtap_pair p = {t->side == 0 ? x : t->a, t->side == 1 ? x : t->b, t->c, t->h, t->w, NULL, NULL, NULL};
    double v = 0.0;
    dpsim_status s = DPSIM_OK;
    if (!strcmp(t->name, "spatial"))
        s = spatial_grad(&p, t->weight, t->norm, 1.0, &v, ga, gb, NULL);
    else if (!strcmp(t->name, "mean"))
        s = mean_grad(&p, t->weight, t->norm, 1.0, &v, ga, gb, NULL);
    else if (!strcmp(t->name, "sort"))
        s = sort_grad(&p, t->weight, t->norm, 1.0, &v, ga, gb, NULL);
    else if (!strcmp(t->name, "gram"))
        s = gram_grad(&p, t->weight, t->norm, 1.0, &v, ga, gb, NULL);
    else
        dists_grad(&p, t->weight, t->weight, 0.05, 1.0, &v, ga, gb);
    CHECK(s == DPSIM_OK);
    return v;
}

static double term_loss(const double *x, void *vctx)
{
    return term_value(vctx, x, NULL, NULL);
}

static void test_term(const char *name, int norm, int weighted)
{
    const int c = 7, h = 3, w = 4;
    const size_t n = (size_t)c * h * w;
    float weight[7];
    for (int i = 0; i < c; i++)
        weight[i] = (float)(0.5 + 0.5 * rnd());
    term_case t = {name, c, h, w, norm, 0, weighted ? weight : NULL, rnd_array(n, 0),
                   rnd_array(n, 0)};
    if (!strcmp(name, "dists")) /* DISTS features are ReLU outputs: positive means */
        for (size_t i = 0; i < n; i++)
            t.a[i] = fabs(t.a[i]), t.b[i] = fabs(t.b[i]);
    for (int side = 0; side < 2; side++) {
        t.side = side;
        double *g = calloc(n, sizeof *g), *x = malloc(n * sizeof *x);
        memcpy(x, side ? t.b : t.a, n * sizeof *x);
        term_value(&t, x, side ? NULL : g, side ? g : NULL);
        char what[80];
        snprintf(what, sizeof what, "%s norm %d weights %d d/d%c", name, norm, weighted,
                 side ? 'b' : 'a');
        check_fd(what, term_loss, &t, x, n, g);
        free(g), free(x);
    }
    free(t.a), free(t.b);
}

int main(void)
{
    test_conv(3, 4, 3, 1, 1, 6, 5);
    test_conv(3, 2, 3, 2, 0, 9, 8);  /* squeezenet conv 0 */
    test_conv(2, 3, 11, 4, 2, 19, 23); /* alexnet conv 0 */
    test_conv(4, 3, 5, 1, 2, 5, 6);
    test_conv(5, 3, 1, 1, 0, 4, 3);  /* fire squeeze / expand1x1 */
    test_pool(0, 0, 0, 0, 3, 4, 5);
    test_pool(1, 3, 2, 1, 2, 8, 7);  /* squeezenet: ceil mode, partial windows */
    test_pool(1, 3, 2, 0, 2, 9, 7);  /* alexnet */
    test_pool(1, 2, 2, 0, 2, 7, 6);  /* vgg16 */
    test_pool(2, 0, 0, 0, 2, 7, 6);  /* DISTS L2 pooling, odd and even sides */
    test_norm();
    const char *terms[] = {"spatial", "mean", "sort", "gram"};
    for (int i = 0; i < 4; i++)
        for (int norm = 0; norm < 2; norm++)
            test_term(terms[i], norm, norm);
    test_term("spatial", 1, 0);
    test_term("gram", 0, 0);
    test_term("dists", 0, 1);
    test_term("dists", 0, 0);
    printf("largest finite-difference error: %.2e of the gradient's peak\n", worst_rel);
    return check_report();
}
