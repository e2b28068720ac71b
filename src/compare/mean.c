/*
 * mean.c - the mean term (thesis eq. 4.2): replace each channel by its
 * spatial mean, normalise the c means as one position (after the mean, as
 * the thesis code does), then weighted squared difference summed over c.
 */
#include <math.h>

#include "compare/methods.h"
#include "core/alloc.h"

/* z (c, hw) -> mean (c) */
static void channel_means(const float *z, int c, size_t hw, double *mean)
{
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0;
        for (size_t i = 0; i < hw; i++)
            s += z[(size_t)ch * hw + i];
        mean[ch] = s / (double)hw;
    }
}

static double inv_norm(const double *v, int c)
{
    double s = 0.0;
    for (int ch = 0; ch < c; ch++)
        s += v[ch] * v[ch];
    return 1.0 / (sqrt(s) + NORM_EPS);
}

dpsim_status mean_term_sizes(const float *a, size_t hw_a, const float *b, size_t hw_b, int c,
                             const float *w, int norm, double *out, errbuf *e)
{
    double *ma = dp_malloc(2 * (size_t)c * sizeof(double)); // (2, c): ma, mb
    if (!ma)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    double *mb = ma + c;
    channel_means(a, c, hw_a, ma);
    channel_means(b, c, hw_b, mb);
    const double ia = norm ? inv_norm(ma, c) : 1.0, ib = norm ? inv_norm(mb, c) : 1.0;
    double sum = 0.0;
    for (int ch = 0; ch < c; ch++) {
        double d = ma[ch] * ia - mb[ch] * ib;
        sum += (w ? w[ch] : 1.0) * d * d;
    }
    *out = sum;
    dp_free(ma);
    return DPSIM_OK;
}

dpsim_status mean_term(const tap_pair *p, const float *w, int norm, double *out, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w;
    return mean_term_sizes(p->a, hw, p->b, hw, p->c, w, norm, out, e);
}
