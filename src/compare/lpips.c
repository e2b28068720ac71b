/*
 * lpips.c - the spatial (LPIPS) comparison: per tap, unit-normalise both
 * feature maps along channels, square the difference, weight each channel
 * (lin weights, or 1), sum over channels and average over positions.
 * Computed in double; the map is each tap's weighted sum upsampled to the
 * input size and summed over taps (LPIPS spatial=True).
 */
#include <string.h>

#include "core/alloc.h"
#include "model/model.h"

#define LPIPS_EPS 1e-10

/*
 * One tap: za, zb (c, hw) -> term (mean over positions), and if tap_map is
 * non-NULL the per-position weighted sums (hw) as float.
 */
static double tap_term(const float *za, const float *zb, int c, size_t hw, const float *weight,
                       double *inv_a, double *inv_b, double *row, float *tap_map)
{
    channel_inv_norm(za, c, hw, LPIPS_EPS, inv_a);
    channel_inv_norm(zb, c, hw, LPIPS_EPS, inv_b);
    memset(row, 0, hw * sizeof(double));
    for (int ch = 0; ch < c; ch++) {
        const float *pa = za + (size_t)ch * hw, *pb = zb + (size_t)ch * hw;
        const double wc = weight ? weight[ch] : 1.0;
        for (size_t i = 0; i < hw; i++) {
            double d = pa[i] * inv_a[i] - pb[i] * inv_b[i];
            row[i] += wc * d * d;
        }
    }
    double sum = 0.0;
    for (size_t i = 0; i < hw; i++) {
        sum += row[i];
        if (tap_map)
            tap_map[i] = (float)row[i];
    }
    return sum / (double)hw;
}

dpsim_status lpips_distance(const dpsim_model *m, const dpsim_features *a,
                            const dpsim_features *b, double *distance, double *per_tap,
                            float *map, errbuf *e)
{
    size_t max_hw = 1;
    for (int t = 0; t < a->n_taps; t++)
        if ((size_t)a->h[t] * a->w[t] > max_hw)
            max_hw = (size_t)a->h[t] * a->w[t];
    double *scratch = dp_malloc(3 * max_hw * sizeof(double));
    float *tap_map = map ? dp_malloc(max_hw * sizeof(float)) : NULL;
    if (!scratch || (map && !tap_map)) {
        dp_free(scratch);
        dp_free(tap_map);
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    }
    if (map)
        memset(map, 0, (size_t)a->width * a->height * sizeof(float));
    double total = 0.0;
    for (int t = 0; t < a->n_taps; t++) {
        size_t hw = (size_t)a->h[t] * a->w[t];
        double term = tap_term(a->tap[t], b->tap[t], a->c[t], hw, m->use_lin ? m->lin[t] : NULL,
                               scratch, scratch + max_hw, scratch + 2 * max_hw, tap_map);
        if (per_tap)
            per_tap[t] = term;
        total += term;
        if (map)
            upsample_bilinear_add(tap_map, a->h[t], a->w[t], map, a->height, a->width);
    }
    *distance = total;
    dp_free(scratch);
    dp_free(tap_map);
    return DPSIM_OK;
}
