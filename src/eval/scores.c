/*
 * scores.c - the 2AFC score and the JND average precision of SPEC section 6,
 * on plain arrays. Both are exact definitions: no sampling, stable ordering.
 */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "eval/evalint.h"

dpsim_status dpsim_score_2afc(const double *d0, const double *d1, const double *h, size_t n,
                              double *score)
{
    if (!d0 || !d1 || !h || !score || n == 0)
        return DPSIM_E_INVAL;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(d0[i]) || isnan(d1[i]) || !(h[i] >= 0.0 && h[i] <= 1.0))
            return DPSIM_E_INVAL;
        sum += d1[i] < d0[i] ? h[i] : d0[i] < d1[i] ? 1.0 - h[i] : 0.5;
    }
    *score = sum / (double)n;
    return DPSIM_OK;
}

/* ascending distance; equal distances keep their input order (stable) */
static int cmp_index(const void *pa, const void *pb, void *arg)
{
    const double *d = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    if (d[a] < d[b])
        return -1;
    if (d[a] > d[b])
        return 1;
    return (a > b) - (a < b);
}

/* a small merge sort with a context (qsort_r is not portable) */
static void sort_indices(size_t *idx, size_t *tmp, size_t n, const double *d)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_indices(idx, tmp, h, d);
    sort_indices(idx + h, tmp, n - h, d);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_index(&idx[j], &idx[i], (void *)d) < 0 ? idx[j++] : idx[i++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    for (k = 0; k < n; k++)
        idx[k] = tmp[k];
}

dpsim_status order_by_value(const double *d, size_t n, size_t **out)
{
    size_t *idx = dp_malloc(2 * n * sizeof(size_t)); // (2, n): order, merge scratch
    if (!idx)
        return DPSIM_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_indices(idx, idx + n, n, d);
    *out = idx;
    return DPSIM_OK;
}

dpsim_status dpsim_score_jnd(const double *d, const double *same, size_t n, double *ap)
{
    if (!d || !same || !ap || n == 0)
        return DPSIM_E_INVAL;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(d[i]) || !(same[i] >= 0.0 && same[i] <= 1.0))
            return DPSIM_E_INVAL;
        total += same[i];
    }
    if (total <= 0.0)
        return DPSIM_E_INVAL;
    size_t *idx;
    if (order_by_value(d, n, &idx) != DPSIM_OK)
        return DPSIM_E_NOMEM;
    double *rec = dp_malloc(2 * (n + 2) * sizeof(double)); // (2, n+2): recall, precision
    if (!rec) {
        dp_free(idx);
        return DPSIM_E_NOMEM;
    }
    double *prec = rec + n + 2, tp = 0.0, fp = 0.0;
    rec[0] = 0.0;
    prec[0] = 0.0;
    for (size_t k = 0; k < n; k++) {
        tp += same[idx[k]];
        fp += 1.0 - same[idx[k]];
        rec[k + 1] = tp / total;
        prec[k + 1] = tp + fp > 0.0 ? tp / (tp + fp) : 0.0;
    }
    rec[n + 1] = 1.0;
    prec[n + 1] = 0.0;
    for (size_t k = n + 1; k > 0; k--)
        if (prec[k] > prec[k - 1])
            prec[k - 1] = prec[k];
    double sum = 0.0;
    for (size_t k = 1; k < n + 2; k++)
        if (rec[k] != rec[k - 1])
            sum += (rec[k] - rec[k - 1]) * prec[k];
    dp_free(rec);
    dp_free(idx);
    *ap = sum;
    return DPSIM_OK;
}
