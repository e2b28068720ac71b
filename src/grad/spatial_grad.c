/*
 * spatial_grad.c - the spatial (LPIPS) and mean terms with their gradients.
 * spatial: (1 / hw) sum_i sum_c w_c (n(a) - n(b))^2; mean: the same on the
 * channel means as a single position, whose gradient spreads evenly back
 * over the positions.
 */
#include <math.h>
#include <string.h>

#include "compare/methods.h"
#include "core/alloc.h"
#include "fast/pool.h"
#include "grad/grad.h"

/* What every block of positions of spatial_grad shares. */
typedef struct spatial_job {
    const dtap_pair *p;
    const float *w;
    int norm, workers;
    double scale;
    double *row;    /* (hw) out: each position's weighted squared distance */
    double *ga, *gb; /* (c, hw) each, or NULL */
} spatial_job;

/* inv (n) = 1 / (|z| + eps) with s (n) = |z|^2 at the block's positions, or ones unnormalised */
static void block_norms(const double *z, int c, size_t hw, int n, int norm, double *s,
                        double *inv)
{
    if (!norm) {
        for (int i = 0; i < n; i++)
            inv[i] = 1.0;
        return;
    }
    channel_sumsq(z, c, hw, n, s);
    for (int i = 0; i < n; i++)
        inv[i] = 1.0 / (sqrt(s[i]) + NORM_EPS);
}

/* One block of n positions: both sides' planes start at za, zb ((c, n) each, hw apart). */
typedef struct block {
    const double *za, *zb;
    int n;
    double sa[NORM_BLOCK], sb[NORM_BLOCK];       /* |z|^2 */
    double ia[NORM_BLOCK], ib[NORM_BLOCK];       /* 1 / (|z| + eps), or ones */
    double dot_a[NORM_BLOCK], dot_b[NORM_BLOCK]; /* <g, z> of each side */
} block;

/* d_z (c, n planes hw apart) += ik g - k z over the block with side z's s, inv and dot; g is
   sign times the term's gradient in n(z), recomputed as in spatial_block */
static void block_backward(const spatial_job *j, const block *b, const double *s,
                           const double *inv, const double *dot, double sign, const double *z,
                           double *d_z)
{
    const size_t hw = (size_t)j->p->h * j->p->w;
    double ik[NORM_BLOCK], k[NORM_BLOCK]; /* without normalisation d_z += g: ik = 1, k = 0 */
    for (int i = 0; i < b->n; i++)
        if (j->norm)
            norm_factors(s[i], inv[i], dot[i], &ik[i], &k[i]);
        else
            ik[i] = 1.0, k[i] = 0.0;
    for (int ch = 0; ch < j->p->c; ch++) {
        const size_t o = (size_t)ch * hw;
        const double gs = j->scale * 2.0 * (j->w ? j->w[ch] : 1.0);
        for (int i = 0; i < b->n; i++) {
            const double d = b->za[o + i] * b->ia[i] - b->zb[o + i] * b->ib[i];
            const double g = sign * (gs * d / (double)hw);
            d_z[o + i] += ik[i] * g - k[i] * z[o + i];
        }
    }
}

/* The term and its gradients at positions [i0, i0 + n) */
static void spatial_block(const spatial_job *j, size_t i0, int n)
{
    const dtap_pair *p = j->p;
    const size_t hw = (size_t)p->h * p->w;
    block b;
    b.za = p->a + i0, b.zb = p->b + i0, b.n = n;
    double row[NORM_BLOCK];
    block_norms(b.za, p->c, hw, n, j->norm, b.sa, b.ia);
    block_norms(b.zb, p->c, hw, n, j->norm, b.sb, b.ib);
    for (int i = 0; i < n; i++)
        row[i] = b.dot_a[i] = b.dot_b[i] = 0.0;
    for (int ch = 0; ch < p->c; ch++) {
        const double *za = b.za + (size_t)ch * hw, *zb = b.zb + (size_t)ch * hw; // (n)
        const double wc = j->w ? j->w[ch] : 1.0, gs = j->scale * 2.0 * wc;
        for (int i = 0; i < n; i++) {
            const double d = za[i] * b.ia[i] - zb[i] * b.ib[i], g = gs * d / (double)hw;
            row[i] += wc * d * d;
            b.dot_a[i] += g * za[i];
            b.dot_b[i] += -g * zb[i];
        }
    }
    for (int i = 0; i < n; i++)
        j->row[i0 + i] = row[i];
    if (j->ga)
        block_backward(j, &b, b.sa, b.ia, b.dot_a, 1.0, b.za, j->ga + i0);
    if (j->gb)
        block_backward(j, &b, b.sb, b.ib, b.dot_b, -1.0, b.zb, j->gb + i0);
}

/* Worker w takes blocks w, w + workers, ...: every position has the same arithmetic whichever
   worker takes it. */
static void spatial_worker(void *arg, int worker)
{
    const spatial_job *j = arg;
    const size_t hw = (size_t)j->p->h * j->p->w;
    for (size_t i0 = (size_t)worker * NORM_BLOCK; i0 < hw; i0 += (size_t)j->workers * NORM_BLOCK)
        spatial_block(j, i0, hw - i0 < NORM_BLOCK ? (int)(hw - i0) : NORM_BLOCK);
}

dpsim_status spatial_grad(const dtap_pair *p, const float *w, int norm, double scale,
                          double *value, double *ga, double *gb, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w;
    spatial_job j = {p, w, norm, pool_size(p->workers), scale, dp_malloc(hw * sizeof(double)),
                     ga, gb};
    if (!j.row)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%dx%d gradient", p->c, p->h,
                       p->w);
    pool_run(p->workers, spatial_worker, &j);
    /* the positions summed in order, like spatial_term, so the value matches it */
    double sum = 0.0;
    for (size_t i = 0; i < hw; i++)
        sum += j.row[i];
    *value = sum / (double)hw;
    dp_free(j.row);
    return DPSIM_OK;
}

/* z (c, hw) -> mean (c) */
static void channel_means(const double *z, int c, size_t hw, double *mean)
{
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0;
        for (size_t i = 0; i < hw; i++)
            s += z[(size_t)ch * hw + i];
        mean[ch] = s / (double)hw;
    }
}

/* g_z (c, hw) += g_mean (c) / hw at every position */
static void spread_means(const double *g_mean, int c, size_t hw, double *g_z)
{
    for (int ch = 0; ch < c; ch++)
        for (size_t i = 0; i < hw; i++)
            g_z[(size_t)ch * hw + i] += g_mean[ch] / (double)hw;
}

dpsim_status mean_grad(const dtap_pair *p, const float *w, int norm, double scale,
                       double *value, double *ga, double *gb, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w, c = (size_t)p->c;
    double *ma = dp_calloc(4 * c, sizeof(double)); // (4, c): ma, mb, g_ma, g_mb
    if (!ma)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    double *mb = ma + c, *g_ma = mb + c, *g_mb = g_ma + c;
    channel_means(p->a, p->c, hw, ma);
    channel_means(p->b, p->c, hw, mb);
    dtap_pair means = {ma, mb, p->c, 1, 1, NULL};
    dpsim_status s = spatial_grad(&means, w, norm, scale, value, g_ma, g_mb, e);
    if (s == DPSIM_OK && ga)
        spread_means(g_ma, p->c, hw, ga);
    if (s == DPSIM_OK && gb)
        spread_means(g_mb, p->c, hw, gb);
    dp_free(ma);
    return s;
}
