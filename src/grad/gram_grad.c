/*
 * gram_grad.c - the Gram (style) term with its gradient. With Z the (c, hw)
 * map (n(z) when normalised), G = Z Z^T / hw, D = Ga - Gb and
 * term = sum_ij w_i D_ij^2 / c^2: d term / d Za = M Za / hw and
 * d term / d Zb = -M Zb / hw with M_ij = 2 (w_i + w_j) D_ij / c^2.
 */
#include <string.h>

#include "core/alloc.h"
#include "grad/grad.h"

/* z (c, hw) -> g (c, c) = z z^T / hw */
static void gram(const double *z, size_t c, size_t hw, double *g)
{
    for (size_t i = 0; i < c; i++)
        for (size_t j = i; j < c; j++) {
            double s = 0.0;
            for (size_t k = 0; k < hw; k++)
                s += z[i * hw + k] * z[j * hw + k];
            g[i * c + j] = g[j * c + i] = s / (double)hw;
        }
}

/* g_z (c, hw) = sign * m z / hw; m (c, c) */
static void apply(const double *m, const double *z, size_t c, size_t hw, double sign,
                  double *g_z)
{
    memset(g_z, 0, c * hw * sizeof(double));
    for (size_t i = 0; i < c; i++)
        for (size_t j = 0; j < c; j++) {
            const double f = sign * m[i * c + j] / (double)hw;
            for (size_t k = 0; k < hw; k++)
                g_z[i * hw + k] += f * z[j * hw + k];
        }
}

dpsim_status gram_grad(const dtap_pair *p, const float *w, int norm, double scale,
                       double *value, double *ga, double *gb, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w, c = (size_t)p->c, n = c * hw;
    /* za, zb, g (c, hw); inv_a, inv_b (hw); ga_m, gb_m, m (c, c) */
    double *za = dp_malloc((3 * n + 2 * hw + 3 * c * c) * sizeof(double));
    if (!za)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a %zux%zu Gram matrix", c, c);
    double *zb = za + n, *g = zb + n, *inv_a = g + n, *inv_b = inv_a + hw;
    double *gm_a = inv_b + hw, *gm_b = gm_a + c * c, *m = gm_b + c * c;
    if (norm) {
        unit_norm_forward(p->a, p->c, hw, za, inv_a);
        unit_norm_forward(p->b, p->c, hw, zb, inv_b);
    } else {
        memcpy(za, p->a, n * sizeof(double));
        memcpy(zb, p->b, n * sizeof(double));
    }
    gram(za, c, hw, gm_a);
    gram(zb, c, hw, gm_b);
    /* the value in gram_term's order: j >= i, off-diagonal pairs counted in rows i and j */
    double sum = 0.0;
    for (size_t i = 0; i < c; i++) {
        const double wi = w ? w[i] : 1.0;
        for (size_t j = i; j < c; j++) {
            const double d = gm_a[i * c + j] - gm_b[i * c + j];
            sum += (j == i ? wi : wi + (w ? w[j] : 1.0)) * d * d;
        }
    }
    *value = sum / (double)(c * c);
    for (size_t i = 0; i < c; i++)
        for (size_t j = 0; j < c; j++) {
            const double wij = (w ? w[i] : 1.0) + (w ? w[j] : 1.0);
            m[i * c + j] = scale * 2.0 * wij * (gm_a[i * c + j] - gm_b[i * c + j]) /
                           (double)(c * c);
        }
    if (ga) {
        apply(m, za, c, hw, 1.0, g);
        norm_backward(p->a, p->c, hw, norm, inv_a, g, ga);
    }
    if (gb) {
        apply(m, zb, c, hw, -1.0, g);
        norm_backward(p->b, p->c, hw, norm, inv_b, g, gb);
    }
    dp_free(za);
    return DPSIM_OK;
}
