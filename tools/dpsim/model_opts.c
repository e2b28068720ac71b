/*
 * model_opts.c - parsing and checking the shared model options (see
 * model_opts.h), and loading the model they describe.
 */
#include "model_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void model_opts_init(model_opts *mo)
{
    memset(mo, 0, sizeof *mo);
    dpsim_model_options_init(&mo->model);
    dpsim_config_init(&mo->config);
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN); /* results do not depend on it */
    mo->config.n_threads = cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus;
}

int model_opts_parse(void *self, int c, const char *arg, const char *cmd)
{
    model_opts *mo = self;
    dpsim_model_options *m = &mo->model;
    switch (c) {
    case OPT_NET:
        if (dpsim_net_parse(arg, &m->net) != DPSIM_OK)
            return cli_usage_error(cmd, "--net '%s': expected squeeze, alex or vgg", arg);
        mo->net_given = 1;
        return -1;
    case OPT_METHOD:
        if (dpsim_method_parse(arg, &m->method) != DPSIM_OK)
            return cli_usage_error(cmd, "--method '%s': expected spatial, mean, sort, "
                                   "spatial+mean, spatial+sort, gram or dists", arg);
        return -1;
    case OPT_NORM:
    case OPT_NO_NORM:
        if (mo->norm_flag && mo->norm_flag != (c == OPT_NORM ? 1 : 2))
            return cli_usage_error(cmd, "--norm and --no-norm exclude each other");
        mo->norm_flag = c == OPT_NORM ? 1 : 2;
        m->normalize = c == OPT_NORM;
        return -1;
    case OPT_PIXEL: m->pixel_layer = 1; return -1;
    case OPT_VERSION:
        if (strcmp(arg, "0.1") == 0)
            m->version = DPSIM_LPIPS_V0_1;
        else if (strcmp(arg, "0.0") == 0)
            m->version = DPSIM_LPIPS_V0_0;
        else
            return cli_usage_error(cmd, "--version '%s': expected 0.1 or 0.0", arg);
        mo->version_given = 1;
        return -1;
    case OPT_NO_LIN: m->use_lin = 0; return -1;
    case OPT_TAPS:
        if (!parse_taps(arg, m->taps, &m->n_taps, DPSIM_MAX_TAPS))
            return cli_usage_error(cmd, "--taps '%s': expected a comma-separated list of layer "
                                   "indices such as 3,8,15", arg);
        return -1;
    case OPT_PRECISION:
        if (dpsim_precision_parse(arg, &m->precision) != DPSIM_OK)
            return cli_usage_error(cmd, "--precision '%s': expected fp32 or bf16", arg);
        return -1;
    case OPT_TRUNK: m->trunk_path = arg; return -1;
    case OPT_LIN: m->lin_path = arg; return -1;
    case OPT_THREADS: {
        char *end;
        long n = strtol(arg, &end, 10);
        if (*arg == '\0' || *end || n < 1 || n > 256)
            return cli_usage_error(cmd, "--threads '%s': expected a number from 1 to 256", arg);
        mo->config.n_threads = (int)n;
        return -1;
    }
    default: return -2;
    }
}

int method_has_spatial(dpsim_method m)
{
    return m == DPSIM_METHOD_SPATIAL || m == DPSIM_METHOD_SPATIAL_MEAN ||
           m == DPSIM_METHOD_SPATIAL_SORT;
}

int model_opts_check(model_opts *mo, const char *cmd)
{
    dpsim_model_options *m = &mo->model;
    if (!m->use_lin && m->lin_path)
        return cli_usage_error(cmd, "--lin and --no-lin exclude each other");
    if (m->method != DPSIM_METHOD_DISTS)
        return -1;
    if (mo->net_given && m->net != DPSIM_NET_VGG16)
        return cli_usage_error(cmd, "--method dists: defined on vgg only, got --net %s",
                               dpsim_net_name(m->net));
    if (mo->norm_flag)
        return cli_usage_error(cmd, "--method dists: has no channel normalisation, "
                               "--norm/--no-norm do not apply");
    if (m->pixel_layer)
        return cli_usage_error(cmd, "--method dists: always has the pixel layer, "
                               "--pixel-layer does not apply");
    if (mo->version_given)
        return cli_usage_error(cmd, "--method dists: has its own preprocessing, "
                               "--version does not apply");
    if (m->n_taps)
        return cli_usage_error(cmd, "--method dists: uses its own taps "
                               "(pixel,3,8,15,22,29), --taps does not apply");
    m->net = DPSIM_NET_VGG16;
    return -1;
}

int model_opts_load(dpsim_ctx *ctx, const model_opts *mo, int verbose, dpsim_model **out)
{
    dpsim_status s = dpsim_model_load(ctx, &mo->model, out);
    if (s != DPSIM_OK)
        return cli_fail(ctx, s, "weights");
    if (verbose) {
        fprintf(stderr, "dpsim: trunk %s\n", dpsim_model_weights_path(*out, 0));
        if (dpsim_model_weights_path(*out, 1))
            fprintf(stderr, "dpsim: lin %s\n", dpsim_model_weights_path(*out, 1));
    }
    return EXIT_OK;
}

static int make_context(const model_opts *mo, dpsim_ctx **out)
{
    dpsim_status s = dpsim_ctx_create(out, &mo->config);
    if (s != DPSIM_OK) {
        cli_error("cannot create a context: %s", dpsim_strerror(s));
        return EXIT_DATA;
    }
    return EXIT_OK;
}

int model_opts_run(const model_opts *mo, int (*run)(dpsim_ctx *ctx, const void *arg),
                   const void *arg)
{
    dpsim_ctx *ctx;
    int rc = make_context(mo, &ctx);
    if (rc != EXIT_OK)
        return rc;
    rc = run(ctx, arg);
    dpsim_ctx_free(ctx);
    return rc;
}

int model_opts_run_model(const model_opts *mo, int quiet,
                         int (*run)(dpsim_ctx *ctx, const dpsim_model *model, const void *arg),
                         const void *arg)
{
    dpsim_ctx *ctx;
    dpsim_model *model = NULL;
    int rc = make_context(mo, &ctx);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = model_opts_load(ctx, mo, 0, &model)) == EXIT_OK) {
        if (!quiet) {
            char line[1024];
            dpsim_model_provenance(model, line, sizeof line);
            fprintf(stderr, "%s\n", line);
        }
        rc = run(ctx, model, arg);
    }
    dpsim_model_free(model);
    dpsim_ctx_free(ctx);
    return rc;
}
