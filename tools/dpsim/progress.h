/*
 * progress.h - a one-line progress bar on stderr for long runs: count, rate
 * and time left. It draws only when stderr is a terminal and the user did not
 * ask for --quiet, and at most ten times a second.
 */
#ifndef DPSIM_PROGRESS_H
#define DPSIM_PROGRESS_H

typedef struct progress {
    const char *label; /* e.g. "pairs" */
    long total;        /* units of work; 0 if unknown */
    long done;
    int enabled;       /* stderr is a TTY and not quiet */
    double start_s, last_draw_s;
} progress;

/** Start a bar over total units; quiet != 0 disables it. */
void progress_start(progress *p, const char *label, long total, int quiet);
/** Record n more units done; redraws when due. */
void progress_add(progress *p, long n);
/** Clear the bar's line (call before printing anything else to stderr, and at the end). */
void progress_end(progress *p);

#endif
