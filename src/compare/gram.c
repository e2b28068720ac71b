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

dpsim_status gram_term_sizes(const float *a, size_t hw_a, const float *b, size_t hw_b, int c_,
                             const float *w, int norm, double *out, errbuf *e)
{
    const size_t c = (size_t)c_;
    // za (c, hw_a), zb (c, hw_b), inv_a (hw_a), inv_b (hw_b)
    double *za = dp_malloc((c + 1) * (hw_a + hw_b) * sizeof(double));
    if (!za)
        return err_set(e, DPSIM_E_NOMEM, "out of memory for a %zux%zu Gram matrix", c, c);
    double *zb = za + c * hw_a, *inv_a = zb + c * hw_b, *inv_b = inv_a + hw_a;
    if (norm) {
        channel_inv_norm(a, c_, hw_a, NORM_EPS, inv_a);
        channel_inv_norm(b, c_, hw_b, NORM_EPS, inv_b);
    }
    to_double(a, c_, hw_a, norm ? inv_a : NULL, za);
    to_double(b, c_, hw_b, norm ? inv_b : NULL, zb);
    /* G is symmetric: visit j >= i; an off-diagonal pair counts in rows i and j */
    double sum = 0.0;
    for (size_t i = 0; i < c; i++) {
        const double *ai = za + i * hw_a, *bi = zb + i * hw_b, wi = w ? w[i] : 1.0;
        for (size_t j = i; j < c; j++) {
            const double *aj = za + j * hw_a, *bj = zb + j * hw_b;
            double ga = 0.0, gb = 0.0;
            for (size_t k = 0; k < hw_a; k++)
                ga += ai[k] * aj[k];
            for (size_t k = 0; k < hw_b; k++)
                gb += bi[k] * bj[k];
            double d = hw_a == hw_b ? (ga - gb) / (double)hw_a /* as PyTorch: one division */
                                    : ga / (double)hw_a - gb / (double)hw_b;
            sum += (j == i ? wi : wi + (w ? w[j] : 1.0)) * d * d;
        }
    }
    *out = sum / (double)(c * c);
    dp_free(za);
    return DPSIM_OK;
}

dpsim_status gram_term(const tap_pair *p, const float *w, int norm, double *out, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w;
    return gram_term_sizes(p->a, hw, p->b, hw, p->c, w, norm, out, e);
}
