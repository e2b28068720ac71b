/*
 * mos.c - correlations with mean opinion scores: SROCC (Pearson on average
 * ranks), KROCC (Kendall tau-b, O(n^2)), PLCC after the 4-parameter
 * logistic q(d) = (b1 - b2) / (1 + exp(-(d - b3) / |b4|)) + b2 fitted by
 * Levenberg-Marquardt least squares (until no step lowers the error, at most
 * 5000 iterations; deterministic).
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx.h"
#include "eval/evalint.h"

static double pearson(const double *x, const double *y, size_t n)
{
    double mx = 0.0, my = 0.0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0.0 && syy > 0.0 ? sxy / sqrt(sxx * syy) : 0.0;
}

/* ranks (1-based, ties get their average rank) of v (n) into r (n) */
static dpsim_status average_ranks(const double *v, size_t n, double *r)
{
    size_t *idx;
    if (order_by_value(v, n, &idx) != DPSIM_OK)
        return DPSIM_E_NOMEM;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
            j++;
        double avg = 0.5 * (double)(i + j) + 1.0;
        for (size_t k = i; k <= j; k++)
            r[idx[k]] = avg;
        i = j + 1;
    }
    dp_free(idx);
    return DPSIM_OK;
}

static double kendall_tau_b(const double *x, const double *y, size_t n)
{
    double concordant = 0.0, discordant = 0.0, ties_x = 0.0, ties_y = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0.0 && dy == 0.0)
                continue;
            if (dx == 0.0)
                ties_x += 1.0;
            else if (dy == 0.0)
                ties_y += 1.0;
            else if ((dx > 0.0) == (dy > 0.0))
                concordant += 1.0;
            else
                discordant += 1.0;
        }
    double denom = sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y));
    return denom > 0.0 ? (concordant - discordant) / denom : 0.0;
}

static double logistic(const double *b, double d)
{
    return (b[0] - b[1]) / (1.0 + exp(-(d - b[2]) / fabs(b[3]))) + b[1];
}

static double sse(const double *b, const double *d, const double *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = logistic(b, d[i]) - y[i];
        s += r * r;
    }
    return s;
}

/* Solve the 4x4 system a x = g in place (Gaussian elimination, partial pivoting). */
static int solve4(double a[4][4], double g[4], double x[4])
{
    for (int c = 0; c < 4; c++) {
        int p = c;
        for (int r = c + 1; r < 4; r++)
            if (fabs(a[r][c]) > fabs(a[p][c]))
                p = r;
        if (fabs(a[p][c]) < 1e-300)
            return 0;
        for (int k = 0; k < 4; k++) {
            double t = a[c][k];
            a[c][k] = a[p][k];
            a[p][k] = t;
        }
        double t = g[c];
        g[c] = g[p];
        g[p] = t;
        for (int r = c + 1; r < 4; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k < 4; k++)
                a[r][k] -= f * a[c][k];
            g[r] -= f * g[c];
        }
    }
    for (int c = 3; c >= 0; c--) {
        double s = g[c];
        for (int k = c + 1; k < 4; k++)
            s -= a[c][k] * x[k];
        x[c] = s / a[c][c];
    }
    return 1;
}

/* One Gauss-Newton system J^T J, J^T r of the logistic at b. */
static void normal_equations(const double *b, const double *d, const double *y, size_t n,
                             double jtj[4][4], double jtr[4])
{
    memset(jtj, 0, 16 * sizeof(double));
    memset(jtr, 0, 4 * sizeof(double));
    const double s = fabs(b[3]), sign = b[3] < 0 ? -1.0 : 1.0;
    for (size_t i = 0; i < n; i++) {
        double z = (d[i] - b[2]) / s, e = exp(-z), f = 1.0 / (1.0 + e);
        double g[4];
        g[0] = f;
        g[1] = 1.0 - f;
        double df_dz = f * f * e; /* d f / d z */
        g[2] = (b[0] - b[1]) * df_dz * (-1.0 / s);
        g[3] = (b[0] - b[1]) * df_dz * (-z / s) * sign;
        double r = y[i] - logistic(b, d[i]);
        for (int p = 0; p < 4; p++) {
            jtr[p] += g[p] * r;
            for (int q = 0; q < 4; q++)
                jtj[p][q] += g[p] * g[q];
        }
    }
}

static void fit_logistic(const double *d, const double *y, size_t n, double *b)
{
    double md = 0.0, vd = 0.0, ymax = y[0], ymin = y[0];
    for (size_t i = 0; i < n; i++) {
        md += d[i];
        ymax = fmax(ymax, y[i]);
        ymin = fmin(ymin, y[i]);
    }
    md /= (double)n;
    for (size_t i = 0; i < n; i++)
        vd += (d[i] - md) * (d[i] - md);
    double cov = 0.0;
    for (size_t i = 0; i < n; i++)
        cov += (d[i] - md) * y[i];
    b[0] = cov >= 0.0 ? ymax : ymin; /* start with the direction of the data */
    b[1] = cov >= 0.0 ? ymin : ymax;
    b[2] = md;
    b[3] = sqrt(vd / (double)n);
    double lambda = 1e-3, cost = sse(b, d, y, n);
    for (int it = 0; it < 5000 && lambda < 1e12; it++) {
        double jtj[4][4], jtr[4], step[4], trial[4];
        normal_equations(b, d, y, n, jtj, jtr);
        for (int p = 0; p < 4; p++)
            jtj[p][p] *= 1.0 + lambda;
        if (!solve4(jtj, jtr, step)) {
            lambda *= 10.0;
            continue;
        }
        for (int p = 0; p < 4; p++)
            trial[p] = b[p] + step[p];
        double c = trial[3] != 0.0 ? sse(trial, d, y, n) : INFINITY;
        if (c < cost) {
            memcpy(b, trial, sizeof trial);
            cost = c;
            lambda = fmax(lambda / 10.0, 1e-12);
        } else {
            lambda *= 10.0;
        }
    }
}

dpsim_status dpsim_score_mos(dpsim_ctx *ctx, const double *d, const double *mos, size_t n,
                             dpsim_mos_stats *out)
{
    ctx_clear(ctx);
    if (!d || !mos || !out)
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_score_mos: NULL argument");
    if (n < 4)
        return ctx_fail(ctx, DPSIM_E_INVAL, "MOS: %zu rows, expected at least 4", n);
    int d_varies = 0, m_varies = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(d[i]) || !isfinite(mos[i]))
            return ctx_fail(ctx, DPSIM_E_INVAL, "MOS: row %zu has a non-finite %s", i + 1,
                            isfinite(d[i]) ? "score" : "distance");
        d_varies |= d[i] != d[0];
        m_varies |= mos[i] != mos[0];
    }
    if (!d_varies || !m_varies)
        return ctx_fail(ctx, DPSIM_E_INVAL, "MOS: every %s is the same, correlations are "
                        "undefined", d_varies ? "score" : "distance");
    double *rd = dp_malloc(3 * n * sizeof(double)); // (3, n): ranks of d, ranks of mos, q(d)
    if (!rd)
        return ctx_fail(ctx, DPSIM_E_NOMEM, "MOS: out of memory for %zu rows", n);
    double *rm = rd + n, *q = rm + n;
    dpsim_mos_stats st;
    if (average_ranks(d, n, rd) != DPSIM_OK || average_ranks(mos, n, rm) != DPSIM_OK) {
        dp_free(rd);
        return ctx_fail(ctx, DPSIM_E_NOMEM, "MOS: out of memory for %zu rows", n);
    }
    st.srocc = pearson(rd, rm, n);
    st.krocc = kendall_tau_b(d, mos, n);
    fit_logistic(d, mos, n, st.logistic);
    for (size_t i = 0; i < n; i++)
        q[i] = logistic(st.logistic, d[i]);
    st.plcc = pearson(q, mos, n);
    dp_free(rd);
    *out = st;
    return DPSIM_OK;
}
