/*
 * model_args.c - parsing of the model options shared by eval, train and
 * adapt (see model_args.h).
 */
#include "model_args.h"

#include <stdlib.h>
#include <string.h>

void model_args_init(model_args *a)
{
    memset(a, 0, sizeof *a);
    dpsim_model_options_init(&a->model);
    dpsim_config_init(&a->config);
}

int model_arg(model_args *a, int opt, const char *arg, const char *cmd)
{
    switch (opt) {
    case MOPT_NET:
        if (dpsim_net_parse(arg, &a->model.net) != DPSIM_OK)
            return cli_usage_error(cmd, "--net '%s': expected squeeze, alex or vgg", arg);
        return -1;
    case MOPT_METHOD:
        if (dpsim_method_parse(arg, &a->model.method) != DPSIM_OK)
            return cli_usage_error(cmd, "--method '%s': expected spatial, mean, sort, "
                                   "spatial+mean, spatial+sort, gram or dists", arg);
        if (a->model.method == DPSIM_METHOD_DISTS)
            a->model.net = DPSIM_NET_VGG16;
        return -1;
    case MOPT_VERSION:
        if (strcmp(arg, "0.1") && strcmp(arg, "0.0"))
            return cli_usage_error(cmd, "--version '%s': expected 0.1 or 0.0", arg);
        a->model.version = strcmp(arg, "0.1") == 0 ? DPSIM_LPIPS_V0_1 : DPSIM_LPIPS_V0_0;
        return -1;
    case MOPT_NO_LIN: a->model.use_lin = 0; return -1;
    case MOPT_LIN: a->model.lin_path = arg; return -1;
    case MOPT_TRUNK: a->model.trunk_path = arg; return -1;
    case MOPT_TAPS:
        if (!parse_taps(arg, a->model.taps, &a->model.n_taps, DPSIM_MAX_TAPS))
            return cli_usage_error(cmd, "--taps '%s': expected a comma-separated list of "
                                   "layer indices such as 3,8,15", arg);
        return -1;
    case MOPT_NORM:
    case MOPT_NO_NORM:
        if (a->norm_flag && a->norm_flag != (opt == MOPT_NORM ? 1 : 2))
            return cli_usage_error(cmd, "--norm and --no-norm exclude each other");
        a->norm_flag = opt == MOPT_NORM ? 1 : 2;
        a->model.normalize = opt == MOPT_NORM;
        return -1;
    case MOPT_PIXEL: a->model.pixel_layer = 1; return -1;
    case MOPT_THREADS: {
        char *end;
        long n = strtol(arg, &end, 10);
        if (*arg == '\0' || *end || n < 1 || n > 256)
            return cli_usage_error(cmd, "--threads '%s': expected a number from 1 to 256", arg);
        a->config.n_threads = (int)n;
        return -1;
    }
    default: return 0;
    }
}

int model_args_finish(model_args *a, const char *cmd)
{
    if (!a->model.use_lin && a->model.lin_path)
        return cli_usage_error(cmd, "--lin and --no-lin exclude each other");
    if (a->model.method == DPSIM_METHOD_DISTS && (a->norm_flag || a->model.n_taps ||
                                                  a->model.pixel_layer))
        return cli_usage_error(cmd, "--method dists: has fixed taps and no channel "
                               "normalisation; --taps, --norm, --no-norm, --pixel-layer do "
                               "not apply");
    return -1;
}

int model_args_load(const model_args *a, dpsim_ctx **ctx, dpsim_model **model)
{
    dpsim_status s = dpsim_ctx_create(ctx, &a->config);
    if (s != DPSIM_OK) {
        cli_error("cannot create a context: %s", dpsim_strerror(s));
        return EXIT_DATA;
    }
    s = dpsim_model_load(*ctx, &a->model, model);
    if (s != DPSIM_OK) {
        cli_fail(*ctx, s, "model");
        dpsim_ctx_free(*ctx);
        *ctx = NULL;
        return EXIT_DATA;
    }
    return EXIT_OK;
}

void print_provenance(const dpsim_model *model)
{
    char line[1024];
    dpsim_model_provenance(model, line, sizeof line);
    fprintf(stderr, "%s\n", line);
}
