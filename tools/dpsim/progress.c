/*
 * progress.c - the stderr progress bar (see progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 28

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void draw(progress *p, double t)
{
    double elapsed = t - p->start_s, rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    if (p->total > 0) {
        double frac = (double)p->done / (double)p->total;
        int fill = (int)(frac * BAR_WIDTH);
        char bar[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;
        fprintf(stderr, "\r[%s] %ld/%ld %s  %.1f/s  %dm%02ds left ", bar, p->done, p->total,
                p->label, rate, (int)left / 60, (int)left % 60);
    } else {
        fprintf(stderr, "\r%ld %s  %.1f/s ", p->done, p->label, rate);
    }
    fflush(stderr);
    p->last_draw_s = t;
}

void progress_start(progress *p, const char *label, long total, int quiet)
{
    p->label = label;
    p->total = total;
    p->done = 0;
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->start_s = now_s();
    p->last_draw_s = 0;
}

void progress_add(progress *p, long n)
{
    p->done += n;
    if (!p->enabled)
        return;
    double t = now_s();
    if (t - p->last_draw_s >= 0.1 || p->done == p->total)
        draw(p, t);
}

void progress_end(progress *p)
{
    if (p->enabled && p->last_draw_s > 0) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->last_draw_s = 0;
}
