/*
 * lpips.c - the spatial (LPIPS) term: per position, unit-normalise both
 * feature maps along channels (unless norm is off), square the difference,
 * weight each channel, sum over channels; average over positions.
 * Computed in double; the per-position sums can be kept for the map.
 * spatial_sum adds the per-position sums in row-major order to a running
 * total, so rows given band by band (model/stream.c) sum in the same order
 * as the whole map.
 */
#include <string.h>

#include "compare/methods.h"
#include "core/alloc.h"
#include "nn/nn.h"

dpsim_status spatial_sum(const tap_pair *p, const float *w, int norm, double *sum,
                         float *tap_map, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w;
    double *inv_a = dp_malloc(3 * hw * sizeof(double)); // (3, hw): inv_a, inv_b, row
    if (!inv_a)
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    double *inv_b = inv_a + hw, *row = inv_a + 2 * hw;
    if (norm) {
        channel_inv_norm(p->a, p->c, hw, NORM_EPS, inv_a);
        channel_inv_norm(p->b, p->c, hw, NORM_EPS, inv_b);
    } else {
        for (size_t i = 0; i < hw; i++)
            inv_a[i] = inv_b[i] = 1.0;
    }
    memset(row, 0, hw * sizeof(double));
    for (int ch = 0; ch < p->c; ch++) {
        const float *pa = p->a + (size_t)ch * hw, *pb = p->b + (size_t)ch * hw;
        const double wc = w ? w[ch] : 1.0;
        for (size_t i = 0; i < hw; i++) {
            double d = pa[i] * inv_a[i] - pb[i] * inv_b[i];
            row[i] += wc * d * d;
        }
    }
    double total = *sum;
    for (size_t i = 0; i < hw; i++) {
        total += row[i];
        if (tap_map)
            tap_map[i] = (float)row[i];
    }
    *sum = total;
    dp_free(inv_a);
    return DPSIM_OK;
}

dpsim_status spatial_term(const tap_pair *p, const float *w, int norm, double *out,
                          float *tap_map, errbuf *e)
{
    double sum = 0.0;
    dpsim_status s = spatial_sum(p, w, norm, &sum, tap_map, e);
    if (s == DPSIM_OK)
        *out = sum / ((double)p->h * p->w);
    return s;
}
