/*
 * diffs.c - per-channel squared differences of two feature sets for each
 * weighted term (see diffs.h), computed exactly as the comparison methods
 * do: channel normalisation per position (after the mean / sort step),
 * Gram rows scaled by 1 / C^2.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare/methods.h"
#include "core/alloc.h"
#include "train/diffs.h"

static int term_count(dpsim_method m, term_kind kinds[2])
{
    switch (m) {
    case DPSIM_METHOD_SPATIAL: kinds[0] = TERM_SPATIAL; return 1;
    case DPSIM_METHOD_MEAN: kinds[0] = TERM_MEAN; return 1;
    case DPSIM_METHOD_SORT: kinds[0] = TERM_SORT; return 1;
    case DPSIM_METHOD_GRAM: kinds[0] = TERM_GRAM; return 1;
    case DPSIM_METHOD_SPATIAL_MEAN: kinds[0] = TERM_SPATIAL; kinds[1] = TERM_MEAN; return 2;
    case DPSIM_METHOD_SPATIAL_SORT: kinds[0] = TERM_SPATIAL; kinds[1] = TERM_SORT; return 2;
    case DPSIM_METHOD_DISTS: break;
    }
    return 0;
}

dpsim_status weight_layout_make(const dpsim_model *m, weight_layout *out, errbuf *e)
{
    term_kind kinds[2];
    int nk = term_count(m->method, kinds);
    if (!nk)
        return err_set(e, DPSIM_E_UNSUPPORTED, "method %s: its alpha/beta weights are not a "
                       "weighted sum of channel terms; training supports spatial, mean, sort, "
                       "spatial+mean, spatial+sort and gram", dpsim_method_name(m->method));
    weight_layout l;
    memset(&l, 0, sizeof l);
    for (int k = 0; k < nk; k++)
        for (int t = 0; t < m->n_taps; t++) {
            int b = l.n_blocks++;
            l.kind[b] = kinds[k];
            l.tap[b] = t;
            l.channels[b] = m->tap_channels[t];
            l.offset[b] = l.n_weights;
            l.n_weights += (size_t)m->tap_channels[t];
        }
    *out = l;
    return DPSIM_OK;
}

static size_t block_positions(term_kind k, const dpsim_features *a, int t)
{
    return k == TERM_SPATIAL || k == TERM_SORT ? (size_t)a->h[t] * a->w[t] : 1;
}

size_t pair_diffs_elements(const weight_layout *l, const dpsim_features *a)
{
    size_t n = 0;
    for (int b = 0; b < l->n_blocks; b++)
        n += (size_t)l->channels[b] * block_positions(l->kind[b], a, l->tap[b]);
    return n;
}

/* z (c, hw) sorted descending per channel into out (c, hw) */
static int cmp_desc(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a < b) - (a > b);
}

static void sort_channels(const float *z, int c, size_t hw, float *out)
{
    memcpy(out, z, (size_t)c * hw * sizeof(float));
    for (int ch = 0; ch < c; ch++)
        qsort(out + (size_t)ch * hw, hw, sizeof(float), cmp_desc);
}

/* (n(a) - n(b))^2 per element of (c, hw) maps: spatial and sort */
static void position_diffs(const float *a, const float *b, int c, size_t hw, int norm,
                           double *inv, float *d)
{
    double *inv_b = inv + hw;
    if (norm) {
        channel_inv_norm(a, c, hw, NORM_EPS, inv);
        channel_inv_norm(b, c, hw, NORM_EPS, inv_b);
    } else {
        for (size_t i = 0; i < hw; i++)
            inv[i] = inv_b[i] = 1.0;
    }
    for (size_t k = 0; k < (size_t)c * hw; k++) {
        double v = a[k] * inv[k % hw] - b[k] * inv_b[k % hw];
        d[k] = (float)(v * v);
    }
}

/* the mean term: channel means, normalised as one position */
static void mean_diffs(const float *a, const float *b, int c, size_t hw, int norm, double *m,
                       float *d)
{
    double *mb = m + c, sa = 0.0, sb = 0.0;
    for (int ch = 0; ch < c; ch++) {
        double x = 0.0, y = 0.0;
        for (size_t i = 0; i < hw; i++) {
            x += a[(size_t)ch * hw + i];
            y += b[(size_t)ch * hw + i];
        }
        m[ch] = x / (double)hw;
        mb[ch] = y / (double)hw;
        sa += m[ch] * m[ch];
        sb += mb[ch] * mb[ch];
    }
    const double ia = norm ? 1.0 / (sqrt(sa) + NORM_EPS) : 1.0;
    const double ib = norm ? 1.0 / (sqrt(sb) + NORM_EPS) : 1.0;
    for (int ch = 0; ch < c; ch++) {
        double v = m[ch] * ia - mb[ch] * ib;
        d[ch] = (float)(v * v);
    }
}

/* gram rows: d[i] = sum_j (G_ij - G0_ij)^2 / c^2; work (2, c, hw) + (2, hw) */
static void gram_diffs(const float *a, const float *b, int c, size_t hw, int norm, double *work,
                       float *d)
{
    double *za = work, *zb = za + (size_t)c * hw, *ia = zb + (size_t)c * hw, *ib = ia + hw;
    if (norm) {
        channel_inv_norm(a, c, hw, NORM_EPS, ia);
        channel_inv_norm(b, c, hw, NORM_EPS, ib);
    }
    for (size_t k = 0; k < (size_t)c * hw; k++) {
        za[k] = norm ? a[k] * ia[k % hw] : a[k];
        zb[k] = norm ? b[k] * ib[k % hw] : b[k];
    }
    for (int i = 0; i < c; i++) {
        double row = 0.0;
        for (int j = 0; j < c; j++) {
            double ga = 0.0, gb = 0.0;
            for (size_t k = 0; k < hw; k++) {
                ga += za[(size_t)i * hw + k] * za[(size_t)j * hw + k];
                gb += zb[(size_t)i * hw + k] * zb[(size_t)j * hw + k];
            }
            double g = (ga - gb) / (double)hw;
            row += g * g;
        }
        d[i] = (float)(row / ((double)c * c));
    }
}

dpsim_status pair_diffs_compute(const dpsim_model *m, const weight_layout *l,
                                const dpsim_features *a, const dpsim_features *b,
                                int keep_elements, pair_diffs *out, errbuf *e)
{
    size_t max_block = 1, max_hw = 1;
    for (int t = 0; t < a->n_taps; t++) {
        size_t hw = (size_t)a->h[t] * a->w[t];
        max_hw = hw > max_hw ? hw : max_hw;
        max_block = (size_t)a->c[t] * hw > max_block ? (size_t)a->c[t] * hw : max_block;
    }
    const size_t n_el = pair_diffs_elements(l, a);
    pair_diffs p;
    memset(&p, 0, sizeof p);
    p.s = dp_malloc(l->n_weights * sizeof(float));
    p.d = keep_elements ? dp_malloc(n_el * sizeof(float)) : NULL;
    float *block = dp_malloc((3 * max_block) * sizeof(float)); // D, sorted a, sorted b
    double *work = dp_malloc((2 * max_block + 2 * max_hw) * sizeof(double)); // gram: za, zb, inv
    if (!p.s || (keep_elements && !p.d) || !block || !work) {
        dp_free(block);
        dp_free(work);
        pair_diffs_free(&p);
        return err_set(e, DPSIM_E_NOMEM, "out of memory for the training differences");
    }
    size_t el = 0;
    for (int bi = 0; bi < l->n_blocks; bi++) {
        const int t = l->tap[bi], c = a->c[t];
        const size_t hw = (size_t)a->h[t] * a->w[t], pos = block_positions(l->kind[bi], a, t);
        switch (l->kind[bi]) {
        case TERM_SPATIAL: position_diffs(a->tap[t], b->tap[t], c, hw, m->normalize, work, block); break;
        case TERM_SORT:
            sort_channels(a->tap[t], c, hw, block + max_block);
            sort_channels(b->tap[t], c, hw, block + 2 * max_block);
            position_diffs(block + max_block, block + 2 * max_block, c, hw, m->normalize, work,
                           block);
            break;
        case TERM_MEAN: mean_diffs(a->tap[t], b->tap[t], c, hw, m->normalize, work, block); break;
        default: gram_diffs(a->tap[t], b->tap[t], c, hw, m->normalize, work, block); break;
        }
        p.positions[bi] = (int)pos;
        for (int ch = 0; ch < c; ch++) {
            double sum = 0.0;
            for (size_t i = 0; i < pos; i++)
                sum += block[(size_t)ch * pos + i];
            p.s[l->offset[bi] + (size_t)ch] = (float)(sum / (double)pos);
        }
        if (p.d)
            memcpy(p.d + el, block, (size_t)c * pos * sizeof(float));
        el += (size_t)c * pos;
    }
    dp_free(block);
    dp_free(work);
    *out = p;
    return DPSIM_OK;
}

void pair_diffs_free(pair_diffs *p)
{
    dp_free(p->s);
    dp_free(p->d);
    p->s = p->d = NULL;
}
