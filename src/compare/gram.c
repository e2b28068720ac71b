/*
 * gram.c - the Gram (style) term (thesis eq. 4.4): G = Z Z^T / (h w) with
 * Z the (c, h w) feature matrix, optionally unit-normalised along channels
 * first; term = sum_i w[i] sum_j (G_ij - G0_ij)^2 / c^2.
 */
#include "compare/methods.h"
#include "core/alloc.h"
#include "nn/nn.h"

/* z (c, hw) -> zd (c, hw) in double, times inv (hw) when given */
static void to_double(const float *z, int c, size_t hw, const double *inv, double *zd)
{
    for (size_t k = 0; k < (size_t)c * hw; k++)
        zd[k] = inv ? z[k] * inv[k % hw] : (double)z[k];
}

dpsim_status gram_term(const tap_pair *p, const float *w, int norm, double *out, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w, c = (size_t)p->c;
    double *za = dp_malloc((2 * c * hw + 2 * hw) * sizeof(double)); // za, zb (c, hw); inv (2, hw)
    if (!za)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a %zux%zu Gram matrix", c, c);
    double *zb = za + c * hw, *inv_a = zb + c * hw, *inv_b = inv_a + hw;
    if (norm) {
        channel_inv_norm(p->a, p->c, hw, NORM_EPS, inv_a);
        channel_inv_norm(p->b, p->c, hw, NORM_EPS, inv_b);
    }
    to_double(p->a, p->c, hw, norm ? inv_a : NULL, za);
    to_double(p->b, p->c, hw, norm ? inv_b : NULL, zb);
    /* G is symmetric: visit j >= i; an off-diagonal pair counts in rows i and j */
    double sum = 0.0;
    for (size_t i = 0; i < c; i++) {
        const double *ai = za + i * hw, *bi = zb + i * hw, wi = w ? w[i] : 1.0;
        for (size_t j = i; j < c; j++) {
            const double *aj = za + j * hw, *bj = zb + j * hw;
            double ga = 0.0, gb = 0.0;
            for (size_t k = 0; k < hw; k++) {
                ga += ai[k] * aj[k];
                gb += bi[k] * bj[k];
            }
            double d = (ga - gb) / (double)hw;
            sum += (j == i ? wi : wi + (w ? w[j] : 1.0)) * d * d;
        }
    }
    *out = sum / (double)(c * c);
    dp_free(za);
    return DPSIM_OK;
}
