/*
 * lossplot.c - a loss curve as a small PNG: the values on a log scale
 * (linear when any is <= 0) over the steps, dark blue on white, with axes
 * and light grid lines at every decade; drawn pixel by pixel and written
 * with the library's PNG writer (atomically).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PLOT_W 480
#define PLOT_H 300
#define MARGIN 24

static void put(uint8_t *rgb, int x, int y, const uint8_t c[3])
{
    if (x >= 0 && x < PLOT_W && y >= 0 && y < PLOT_H)
        memcpy(rgb + ((size_t)y * PLOT_W + x) * 3, c, 3);
}

/* a line of width 2 from (x0, y0) to (x1, y1) */
static void line(uint8_t *rgb, int x0, int y0, int x1, int y1, const uint8_t c[3])
{
    int steps = abs(x1 - x0) > abs(y1 - y0) ? abs(x1 - x0) : abs(y1 - y0);
    for (int i = 0; i <= steps; i++) {
        double t = steps ? (double)i / steps : 0.0;
        int x = (int)lround(x0 + t * (x1 - x0)), y = (int)lround(y0 + t * (y1 - y0));
        put(rgb, x, y, c);
        put(rgb, x, y + 1, c);
    }
}

dpsim_status loss_plot_png(dpsim_ctx *ctx, const char *path, const double *values, int n)
{
    static const uint8_t axis[3] = {60, 60, 60}, grid[3] = {225, 225, 225},
                         curve[3] = {31, 60, 160};
    uint8_t *rgb = malloc((size_t)PLOT_W * PLOT_H * 3);
    if (!rgb)
        return DPSIM_E_NOMEM;
    memset(rgb, 255, (size_t)PLOT_W * PLOT_H * 3);
    int use_log = 1;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        use_log &= values[i] > 0.0;
    for (int i = 0; i < n; i++) {
        double v = use_log ? log10(values[i]) : values[i];
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    if (!(hi > lo))
        hi = lo + 1.0;
    const int x0 = MARGIN, x1 = PLOT_W - MARGIN / 2, y0 = PLOT_H - MARGIN, y1 = MARGIN / 2;
    if (use_log)
        for (double dec = ceil(lo); dec <= hi; dec += 1.0) {
            int y = (int)lround(y0 - (dec - lo) / (hi - lo) * (y0 - y1));
            line(rgb, x0, y, x1, y, grid);
        }
    line(rgb, x0, y0, x1, y0, axis);
    line(rgb, x0, y0, x0, y1, axis);
    int px = 0, py = 0;
    for (int i = 0; i < n; i++) {
        double v = use_log ? log10(values[i]) : values[i];
        int x = x0 + (n > 1 ? (int)lround((double)i / (n - 1) * (x1 - x0)) : 0);
        int y = (int)lround(y0 - (v - lo) / (hi - lo) * (y0 - y1));
        if (i > 0)
            line(rgb, px, py, x, y, curve);
        px = x;
        py = y;
    }
    dpsim_status s = dpsim_png_write_rgb8(ctx, path, rgb, PLOT_W, PLOT_H);
    free(rgb);
    return s;
}
