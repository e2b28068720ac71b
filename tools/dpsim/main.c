/*
 * main.c - dpsim: deep perceptual similarity from the shell. Dispatches to
 * the subcommands and holds the shared error helpers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: dpsim <command> [options]\n"
    "\n"
    "Deep perceptual similarity (LPIPS) between images, computed in C with the\n"
    "official pretrained weights. Default metric: LPIPS v0.1 on SqueezeNet 1.1.\n"
    "\n"
    "commands:\n"
    "  compare A B      distance between two images (see dpsim compare --help)\n"
    "  weights [list]   show which weights files are found and where\n"
    "  weights fetch    download the official weights files (needs network)\n"
    "  probe            flaw probes of the comparison methods (see dpsim probe --help)\n"
    "  optimize         reconstruct an image by descending the perceptual loss\n"
    "  features IMG...  save images' features to a file (dpsim features --help)\n"
    "  index DIR        save a folder's features to a file (dpsim index --help)\n"
    "  search Q DIR     the images most similar to Q (dpsim search --help)\n"
    "  eval MODE PATH   2AFC, JND or MOS scores against human judgments (dpsim eval --help)\n"
    "  distort KIND IN OUT  rotate, translate, darken, hue, blur or zoom an image\n"
    "  train DIR        learn per-channel weights on 2AFC triplets (dpsim train --help)\n"
    "  adapt            adapt the weights to a ranking of distortions (dpsim adapt --help)\n"
    "\n"
    "options:\n"
    "  -h, --help       this help\n"
    "  --version        print the version\n"
    "\n"
    "examples:\n"
    "  dpsim compare ref.png distorted.png\n"
    "  dpsim compare --net alex --per-layer --json a.jpg b.jpg\n"
    "  dpsim compare --map diff.png a.png b.png\n"
    "  dpsim compare --method sort --no-norm a.png b.png\n"
    "  dpsim probe --save-images probe/\n"
    "  dpsim optimize --target photo.png --out recon.png --plot loss.png\n"
    "  dpsim compare --all-pairs --csv -o scores.csv photos/\n"
    "  dpsim index -o photos.dpf photos/ && dpsim search -k 5 query.png photos.dpf\n"
    "  DPSIM_WEIGHTS=/data/weights dpsim weights\n"
    "\n"
    "exit status: 0 success, 1 data or I/O error, 2 usage error\n"
    "weights are looked for in $DPSIM_WEIGHTS, ~/.cache/dpsim and\n"
    "~/.cache/torch/hub/checkpoints (see dpsim weights --help)\n";

__attribute__((format(printf, 2, 0)))
static void say(const char *kind, const char *fmt, va_list ap)
{
    fprintf(stderr, "dpsim: %s: ", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("error", fmt, ap);
    va_end(ap);
}

void cli_hint(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("hint", fmt, ap);
    va_end(ap);
}

int cli_fail(const dpsim_ctx *ctx, dpsim_status status, const char *what)
{
    const char *detail = ctx ? dpsim_ctx_last_error(ctx) : "";
    if (detail && *detail)
        cli_error("%s", detail);
    else
        cli_error("%s: %s", what, dpsim_strerror(status));
    return EXIT_DATA;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("error", fmt, ap);
    va_end(ap);
    fprintf(stderr, "dpsim: hint: see 'dpsim %s--help'\n", cmd);
    return EXIT_USAGE;
}

void json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

int parse_taps(const char *s, int *taps, int *n_taps, int max)
{
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 1000 || n == max)
            return 0;
        taps[n++] = (int)v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return 0;
    }
    *n_taps = n;
    return n > 0;
}

/* The subcommands, one line each. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"compare", cmd_compare},
    {"weights", cmd_weights},
    {"probe", cmd_probe},
    {"optimize", cmd_optimize},
    {"features", cmd_features},
    {"index", cmd_index},
    {"search", cmd_search},
    {"eval", cmd_eval},
    {"distort", cmd_distort},
    {"train", cmd_train},
    {"adapt", cmd_adapt},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("dpsim %s\n", dpsim_version_string());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    char names[256] = "";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 commands[i].name);
    return cli_usage_error("", "unknown command '%s', expected one of: %s", cmd, names);
}
