/*
 * spatial_grad.c - the spatial (LPIPS) and mean terms with their gradients.
 * spatial: (1 / hw) sum_i sum_c w_c (n(a) - n(b))^2; mean: the same on the
 * channel means as a single position, whose gradient spreads evenly back
 * over the positions.
 */
#include <string.h>

#include "core/alloc.h"
#include "grad/grad.h"

dpsim_status spatial_grad(const dtap_pair *p, const float *w, int norm, double scale,
                          double *value, double *ga, double *gb, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w, n = (size_t)p->c * hw;
    /* na, nb, g (c, hw); inv_a, inv_b (hw) */
    double *na = dp_malloc((3 * n + 2 * hw) * sizeof(double));
    if (!na)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%dx%d gradient", p->c, p->h,
                       p->w);
    double *nb = na + n, *g = nb + n, *inv_a = g + n, *inv_b = inv_a + hw;
    if (norm) {
        unit_norm_forward(p->a, p->c, hw, na, inv_a);
        unit_norm_forward(p->b, p->c, hw, nb, inv_b);
    } else {
        memcpy(na, p->a, n * sizeof(double));
        memcpy(nb, p->b, n * sizeof(double));
    }
    /* per position sums first, like spatial_term, so the value matches it */
    double sum = 0.0;
    for (size_t i = 0; i < hw; i++) {
        double row = 0.0;
        for (int ch = 0; ch < p->c; ch++) {
            const size_t k = (size_t)ch * hw + i;
            const double wc = w ? w[ch] : 1.0, d = na[k] - nb[k];
            row += wc * d * d;
            g[k] = scale * 2.0 * wc * d / (double)hw;
        }
        sum += row;
    }
    *value = sum / (double)hw;
    norm_backward(p->a, p->c, hw, norm, inv_a, g, ga);
    for (size_t k = 0; k < n; k++)
        g[k] = -g[k];
    norm_backward(p->b, p->c, hw, norm, inv_b, g, gb);
    dp_free(na);
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
    dtap_pair means = {ma, mb, p->c, 1, 1};
    dpsim_status s = spatial_grad(&means, w, norm, scale, value, g_ma, g_mb, e);
    if (s == DPSIM_OK && ga)
        spread_means(g_ma, p->c, hw, ga);
    if (s == DPSIM_OK && gb)
        spread_means(g_mb, p->c, hw, gb);
    dp_free(ma);
    return s;
}
