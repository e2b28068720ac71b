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
#include "fast/isa.h"
#include "fast/pool.h"
#include "grad/grad.h"

/* The block's helpers are inlined into each ISA's copy of spatial_block. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

struct block;

/* What every block of positions of spatial_grad shares. */
typedef struct spatial_job {
    const dtap_pair *p;
    const float *w;
    int norm, workers;
    double scale;
    double *row;    /* (hw) out: each position's weighted squared distance */
    double *ga, *gb; /* (c, hw) each, or NULL */
    void (*block)(const struct spatial_job *j, struct block *b); /* spatial_block for the ISA */
} spatial_job;

/* Channel ch of both sides at n positions from i0, in double: ra, rb point into the double
   taps, or at buf (2, NORM_BLOCK) holding the float taps converted. */
ALWAYS_INLINE void tap_rows(const dtap_pair *p, int ch, size_t i0, int n, double *buf,
                     const double **ra, const double **rb)
{
    const size_t o = (size_t)ch * p->h * p->w + i0;
    if (!p->fa) {
        *ra = p->a + o, *rb = p->b + o;
        return;
    }
    for (int i = 0; i < n; i++)
        buf[i] = p->fa[o + i], buf[NORM_BLOCK + i] = p->fb[o + i];
    *ra = buf, *rb = buf + NORM_BLOCK;
}

/* d term / d n(a) = g = slope * (n(a) - n(b)) in a channel of weight wc */
static double gradient_slope(const spatial_job *j, double wc)
{
    return j->scale * 2.0 * wc / (double)((size_t)j->p->h * j->p->w);
}

/* Per position of a block: the squared norms, their inverses (ones unnormalised) and <g, z>
   of both sides. */
typedef struct block {
    size_t i0;
    int n;
    double sa[NORM_BLOCK], sb[NORM_BLOCK];
    double ia[NORM_BLOCK], ib[NORM_BLOCK];
    double dot_a[NORM_BLOCK], dot_b[NORM_BLOCK];
} block;

ALWAYS_INLINE void block_norms(const spatial_job *j, block *b, double *buf)
{
    const int n = b->n;
    for (int i = 0; i < n; i++)
        b->sa[i] = b->sb[i] = 0.0, b->ia[i] = b->ib[i] = 1.0;
    if (!j->norm)
        return;
    for (int ch = 0; ch < j->p->c; ch++) {
        const double *za, *zb;
        tap_rows(j->p, ch, b->i0, n, buf, &za, &zb);
        for (int i = 0; i < n; i++) {
            b->sa[i] += za[i] * za[i];
            b->sb[i] += zb[i] * zb[i];
        }
    }
    for (int i = 0; i < n; i++) {
        b->ia[i] = 1.0 / (sqrt(b->sa[i]) + NORM_EPS);
        b->ib[i] = 1.0 / (sqrt(b->sb[i]) + NORM_EPS);
    }
}

/* d_z += ik g - k z per position, from one side's s, inv and <g, z>; unnormalised d_z += g */
ALWAYS_INLINE void side_factors(int norm, int n, const double *s, const double *inv, const double *dot,
                         double *ik, double *k)
{
    for (int i = 0; i < n; i++)
        if (norm)
            norm_factors(s[i], inv[i], dot[i], &ik[i], &k[i]);
        else
            ik[i] = 1.0, k[i] = 0.0;
}

/* The term and its gradients at the block's positions */
ALWAYS_INLINE void spatial_block(const spatial_job *j, block *b)
{
    const dtap_pair *p = j->p;
    const size_t hw = (size_t)p->h * p->w;
    const int n = b->n;
    double buf[2 * NORM_BLOCK], row[NORM_BLOCK];
    block_norms(j, b, buf);
    for (int i = 0; i < n; i++)
        row[i] = b->dot_a[i] = b->dot_b[i] = 0.0;
    for (int ch = 0; ch < p->c; ch++) {
        const double *za, *zb;
        tap_rows(p, ch, b->i0, n, buf, &za, &zb);
        const double wc = j->w ? j->w[ch] : 1.0, gs = gradient_slope(j, wc);
        for (int i = 0; i < n; i++) {
            const double d = za[i] * b->ia[i] - zb[i] * b->ib[i], g = gs * d;
            row[i] += wc * d * d;
            b->dot_a[i] += g * za[i];
            b->dot_b[i] += -g * zb[i];
        }
    }
    for (int i = 0; i < n; i++)
        j->row[b->i0 + i] = row[i];
    if (!j->ga && !j->gb)
        return;
    double ika[NORM_BLOCK], ka[NORM_BLOCK], ikb[NORM_BLOCK], kb[NORM_BLOCK];
    side_factors(j->norm, n, b->sa, b->ia, b->dot_a, ika, ka);
    side_factors(j->norm, n, b->sb, b->ib, b->dot_b, ikb, kb);
    for (int ch = 0; ch < p->c; ch++) {
        const double *za, *zb;
        tap_rows(p, ch, b->i0, n, buf, &za, &zb);
        const double gs = gradient_slope(j, j->w ? j->w[ch] : 1.0);
        double *ga = j->ga ? j->ga + (size_t)ch * hw + b->i0 : NULL; // (n) or NULL
        double *gb = j->gb ? j->gb + (size_t)ch * hw + b->i0 : NULL;
        for (int i = 0; ga && i < n; i++) {
            const double d = za[i] * b->ia[i] - zb[i] * b->ib[i], g = gs * d;
            ga[i] += ika[i] * g - ka[i] * za[i];
        }
        for (int i = 0; gb && i < n; i++) {
            const double d = za[i] * b->ia[i] - zb[i] * b->ib[i], g = gs * d;
            gb[i] += ikb[i] * -g - kb[i] * zb[i];
        }
    }
}

/*
 * spatial_block compiled for the baseline ISA and, on x86, for AVX2 (the body is inlined into
 * each): the loops run across positions with no reduction reordered and no contraction (ISO
 * C), so both give the same bits, AVX2 four positions per instruction instead of two (1.5x;
 * AVX-512 measured no better).
 */
static void block_base(const spatial_job *j, block *b) { spatial_block(j, b); }

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void block_avx2(const spatial_job *j, block *b)
{
    spatial_block(j, b);
}
#endif

static void (*block_for_isa(void))(const spatial_job *j, block *b)
{
#if defined(__x86_64__) || defined(__i386__)
    if (isa_active() >= ISA_AVX2)
        return block_avx2;
#endif
    return block_base;
}

/* Worker w takes blocks w, w + workers, ...: every position has the same arithmetic whichever
   worker takes it. */
static void spatial_worker(void *arg, int worker)
{
    const spatial_job *j = arg;
    const size_t hw = (size_t)j->p->h * j->p->w;
    block b;
    for (b.i0 = (size_t)worker * NORM_BLOCK; b.i0 < hw; b.i0 += (size_t)j->workers * NORM_BLOCK) {
        b.n = hw - b.i0 < NORM_BLOCK ? (int)(hw - b.i0) : NORM_BLOCK;
        j->block(j, &b);
    }
}

dpsim_status spatial_grad(const dtap_pair *p, const float *w, int norm, double scale,
                          double *value, double *ga, double *gb, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w;
    spatial_job j = {p, w, norm, pool_size(p->workers), scale, dp_malloc(hw * sizeof(double)),
                     ga, gb, block_for_isa()};
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
    dtap_pair means = {ma, mb, p->c, 1, 1, NULL, NULL, NULL};
    dpsim_status s = spatial_grad(&means, w, norm, scale, value, g_ma, g_mb, e);
    if (s == DPSIM_OK && ga)
        spread_means(g_ma, p->c, hw, ga);
    if (s == DPSIM_OK && gb)
        spread_means(g_mb, p->c, hw, gb);
    dp_free(ma);
    return s;
}
