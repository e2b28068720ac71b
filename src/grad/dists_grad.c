/*
 * dists_grad.c - the DISTS term of one tap with its gradient. Per channel,
 * with population statistics over the n = h w positions,
 *   t = (2 mx my + c1) / (mx^2 + my^2 + c1),  s = (2 cxy + c2) / (vx + vy + c2),
 *   d t / d x_i = (2 my - 2 t mx) / (n Dt),
 *   d s / d x_i = (2 (y_i - my) - 2 s (x_i - mx)) / (n Ds),
 * and symmetrically for y; the term is wscale sum_c alpha (1 - t) + beta (1 - s).
 */
#include "grad/grad.h"

#define DISTS_C1 1e-6
#define DISTS_C2 1e-6

typedef struct moments {
    double mx, my, vx, vy, cxy;
} moments;

static moments channel_moments(const double *x, const double *y, size_t n)
{
    moments m = {0};
    for (size_t i = 0; i < n; i++) {
        m.mx += x[i];
        m.my += y[i];
    }
    m.mx /= (double)n;
    m.my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        m.vx += (x[i] - m.mx) * (x[i] - m.mx);
        m.vy += (y[i] - m.my) * (y[i] - m.my);
        m.cxy += (x[i] - m.mx) * (y[i] - m.my);
    }
    m.vx /= (double)n;
    m.vy /= (double)n;
    m.cxy /= (double)n;
    return m;
}

/* g (n) += gradient of -(wa t + wb s) scaled by f, with respect to x (the roles of x and y
   swapped for the other image: statistics given as seen from x) */
static void add_grad(const double *x, const double *y, size_t n, double mx, double my,
                     double t, double s, double dt, double ds, double wa, double wb, double f,
                     double *g)
{
    const double g_mean = -f * wa * (2.0 * my - 2.0 * t * mx) / ((double)n * dt);
    const double k = -f * wb / ((double)n * ds);
    for (size_t i = 0; i < n; i++)
        g[i] += g_mean + k * (2.0 * (y[i] - my) - 2.0 * s * (x[i] - mx));
}

void dists_grad(const dtap_pair *p, const float *alpha, const float *beta, double wscale,
                double scale, double *value, double *ga, double *gb)
{
    const size_t n = (size_t)p->h * p->w;
    double sum = 0.0;
    for (int ch = 0; ch < p->c; ch++) {
        const double *x = p->a + (size_t)ch * n, *y = p->b + (size_t)ch * n;
        const moments m = channel_moments(x, y, n);
        const double dt = m.mx * m.mx + m.my * m.my + DISTS_C1, ds = m.vx + m.vy + DISTS_C2;
        const double t = (2.0 * m.mx * m.my + DISTS_C1) / dt;
        const double s = (2.0 * m.cxy + DISTS_C2) / ds;
        const double wa = alpha ? alpha[ch] : 1.0, wb = beta ? beta[ch] : 1.0;
        sum += wscale * (wa * (1.0 - t) + wb * (1.0 - s));
        const double f = scale * wscale;
        if (ga)
            add_grad(x, y, n, m.mx, m.my, t, s, dt, ds, wa, wb, f, ga + (size_t)ch * n);
        if (gb)
            add_grad(y, x, n, m.my, m.mx, t, s, dt, ds, wa, wb, f, gb + (size_t)ch * n);
    }
    *value = sum;
}
