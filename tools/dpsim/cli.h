/*
 * cli.h - shared pieces of the dpsim command-line tool: exit codes, error
 * reporting in one format, and the subcommands' entry points.
 * The CLI uses only the public header <dpsim/dpsim.h>.
 */
#ifndef DPSIM_CLI_H
#define DPSIM_CLI_H

#include <stdio.h>

#include <dpsim/dpsim.h>

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2 };

/** "dpsim: error: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** "dpsim: hint: <message>" on stderr. */
void cli_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Report a failed library call: its detail, or the status text if none; returns EXIT_DATA. */
int cli_fail(const dpsim_ctx *ctx, dpsim_status status, const char *what);
/** Usage error with a pointer to --help; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Write s as a JSON string literal (with quotes) to fp. */
void json_string(FILE *fp, const char *s);

/** Parse "1,4,7" into taps; returns 0 on a malformed list. */
int parse_taps(const char *s, int *taps, int *n_taps, int max);

int cmd_compare(int argc, char **argv);
int cmd_weights(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
/** Draw values (n) over steps as a loss-curve PNG (log scale when all are > 0). */
dpsim_status loss_plot_png(dpsim_ctx *ctx, const char *path, const double *values, int n);
int cmd_features(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_distort(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_adapt(int argc, char **argv);

/**
 * Write the distance map as a heatmap PNG: a colour scale from 0 to the map's
 * maximum, a colour bar with its range, optionally blended over the image.
 * @param map   (h, w)
 * @param under NULL or the first image, (3, h, w) in [0,1]
 */
dpsim_status heatmap_write_png(dpsim_ctx *ctx, const char *path, const float *map, int w, int h,
                               const float *under);
/** Write (h, w) float32 as a NumPy .npy file, atomically. Returns 0 on success. */
int npy_write_f32(const char *path, const float *data, int h, int w, char *err, size_t err_len);

/** Download url to path (temporary file + rename) and check its sha256 prefix. */
int fetch_url(const char *url, const char *path, const char *sha256_prefix, char *err,
              size_t err_len);
/** 1 if this build can download (libcurl), else 0. */
int fetch_available(void);

#endif
