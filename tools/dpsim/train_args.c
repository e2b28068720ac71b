/*
 * train_args.c - options and the epoch log shared by train and adapt.
 */
#include "train_args.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void train_args_init(train_args *a)
{
    memset(a, 0, sizeof *a);
    dpsim_train_options_init(&a->opt);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int parse_real(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end || !(v >= lo && v <= hi))
        return 0;
    *out = v;
    return 1;
}

int train_arg(void *self, int opt, const char *arg, const char *cmd)
{
    train_args *a = self;
    long v;
    switch (opt) {
    case TOPT_SEED: {
        char *end;
        unsigned long long s = strtoull(arg, &end, 10);
        if (*arg == '\0' || *arg == '-' || *end)
            return cli_usage_error(cmd, "--seed '%s': expected a non-negative integer", arg);
        a->opt.seed = (uint64_t)s;
        return -1;
    }
    case TOPT_EPOCHS:
    case TOPT_DECAY:
        if (!parse_int(arg, 0, 10000, &v))
            return cli_usage_error(cmd, "--%s '%s': expected an integer from 0 to 10000",
                                   opt == TOPT_EPOCHS ? "epochs" : "decay-epochs", arg);
        *(opt == TOPT_EPOCHS ? &a->opt.epochs : &a->opt.decay_epochs) = (int)v;
        return -1;
    case TOPT_BATCH:
        if (!parse_int(arg, 1, 1000000, &v))
            return cli_usage_error(cmd, "--batch '%s': expected a positive integer", arg);
        a->opt.batch = (int)v;
        return -1;
    case TOPT_LR:
        if (!parse_real(arg, 0.0, 1e3, &a->opt.lr))
            return cli_usage_error(cmd, "--lr '%s': expected a number >= 0", arg);
        return -1;
    case TOPT_DROPOUT:
        if (!parse_real(arg, 0.0, 0.99, &a->opt.dropout))
            return cli_usage_error(cmd, "--dropout '%s': expected a number in [0, 0.99]", arg);
        return -1;
    case TOPT_INIT: a->init = arg; return -1;
    case TOPT_LOG: a->log = arg; return -1;
    case TOPT_OUT: a->out = arg; return -1;
    default: return -2;
    }
}

int train_args_finish(train_args *a, const char *cmd)
{
    if (!a->out)
        return cli_usage_error(cmd, "--out FILE.safetensors is required");
    if (a->opt.epochs + a->opt.decay_epochs < 1)
        return cli_usage_error(cmd, "--epochs and --decay-epochs: at least one epoch in all");
    if (!a->log) {
        const char *dot = strrchr(a->out, '.'), *slash = strrchr(a->out, '/');
        int stem = dot && (!slash || dot > slash) ? (int)(dot - a->out) : (int)strlen(a->out);
        snprintf(a->log_default, sizeof a->log_default, "%.*s.csv", stem, a->out);
        a->log = a->log_default;
    }
    if (strcmp(a->log, a->out) == 0)
        return cli_usage_error(cmd, "--log and --out name the same file");
    return -1;
}

__attribute__((format(printf, 2, 3)))
static void append(epoch_log *log, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (log->len + (size_t)n + 1 > log->cap) {
        size_t cap = (log->cap + (size_t)n + 1) * 2;
        char *p = realloc(log->csv, cap);
        if (!p)
            return;
        log->csv = p;
        log->cap = cap;
    }
    memcpy(log->csv + log->len, line, (size_t)n + 1);
    log->len += (size_t)n;
}

void epoch_log_line(void *user, const dpsim_train_epoch *e)
{
    epoch_log *log = user;
    if (log->len == 0) {
        append(log, "epoch,lr,loss,train_2afc,val_2afc,sync\n");
        if (!log->quiet)
            printf("%5s %10s %10s %10s %10s %5s\n", "epoch", "lr", "loss", "train", "val", "sync");
    }
    append(log, "%d,%.6g,%.6f,%.4f,%.4f,%d\n", e->epoch, e->lr, e->loss, 100 * e->train_2afc,
           100 * e->val_2afc, e->sync);
    if (!log->quiet) {
        printf("%5d %10.3g %10.5f %10.2f %10.2f %5s\n", e->epoch, e->lr, e->loss,
               100 * e->train_2afc, 100 * e->val_2afc, e->sync ? "on" : "off");
        fflush(stdout);
    }
}

int epoch_log_write(dpsim_ctx *ctx, epoch_log *log, const char *path)
{
    dpsim_status s = dpsim_file_write_atomic(ctx, path, log->csv ? log->csv : "", log->len);
    return s == DPSIM_OK ? EXIT_OK : cli_fail(ctx, s, path);
}

void epoch_log_free(epoch_log *log)
{
    free(log->csv);
    memset(log, 0, sizeof *log);
}
