/*
 * ctx.c - contexts, configuration, status strings and version.
 */
#include "core/ctx.h"
#include "model/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "grad/grad.h"

const char *dpsim_strerror(dpsim_status status)
{
    switch (status) {
    case DPSIM_OK: return "success";
    case DPSIM_E_INVAL: return "invalid argument";
    case DPSIM_E_NOMEM: return "out of memory";
    case DPSIM_E_IO: return "input/output error";
    case DPSIM_E_FORMAT: return "malformed or unsupported file";
    case DPSIM_E_SHAPE: return "size or shape mismatch";
    case DPSIM_E_UNSUPPORTED: return "not supported";
    case DPSIM_E_ABI: return "header/library version mismatch";
    case DPSIM_E_NOT_FOUND: return "not found";
    case DPSIM_E_LIMIT: return "limit exceeded";
    }
    return "unknown status";
}

unsigned dpsim_version_number(void)
{
    return DPSIM_VERSION_MAJOR * 10000 + DPSIM_VERSION_MINOR * 100 + DPSIM_VERSION_PATCH;
}

const char *dpsim_version_string(void) { return DPSIM_VERSION_STRING; }

dpsim_status dpsim_config_init_abi(dpsim_config *config, unsigned abi)
{
    if (!config)
        return DPSIM_E_INVAL;
    if (abi != DPSIM_ABI_VERSION)
        return DPSIM_E_ABI;
    memset(config, 0, sizeof *config);
    config->abi = abi;
    config->n_threads = 1;
    return DPSIM_OK;
}

dpsim_status dpsim_ctx_create(dpsim_ctx **out, const dpsim_config *config)
{
    if (!out)
        return DPSIM_E_INVAL;
    if (config && config->abi != DPSIM_ABI_VERSION)
        return DPSIM_E_ABI;
    if (config && config->n_threads < 0)
        return DPSIM_E_INVAL;
    dpsim_ctx *ctx = dp_calloc(1, sizeof *ctx);
    if (!ctx)
        return DPSIM_E_NOMEM;
    if (config)
        ctx->config = *config;
    else
        dpsim_config_init(&ctx->config);
    if (ctx->config.n_threads >= 2) {
        dpsim_status s = pool_create(ctx->config.n_threads, &ctx->workers);
        if (s != DPSIM_OK) {
            dp_free(ctx);
            return s;
        }
    }
    ctx->scratch = dp_calloc((size_t)pool_size(ctx->workers), sizeof *ctx->scratch);
    if (!ctx->scratch) {
        dpsim_ctx_free(ctx);
        return DPSIM_E_NOMEM;
    }
    *out = ctx;
    return DPSIM_OK;
}

void dpsim_ctx_free(dpsim_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; ctx->scratch && i < pool_size(ctx->workers); i++)
        forward_scratch_free(&ctx->scratch[i]);
    dp_free(ctx->scratch);
    pool_free(ctx->workers);
    grad_work_free(ctx->grad);
    dp_free(ctx);
}

const char *dpsim_ctx_last_error(const dpsim_ctx *ctx) { return ctx ? ctx->err.msg : ""; }

dpsim_status ctx_fail(dpsim_ctx *ctx, dpsim_status status, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err.msg, sizeof ctx->err.msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

dpsim_status ctx_fail_err(dpsim_ctx *ctx, dpsim_status status, const errbuf *e)
{
    if (ctx && e && &ctx->err != e)
        memcpy(ctx->err.msg, e->msg, sizeof ctx->err.msg);
    return status;
}

void ctx_clear(dpsim_ctx *ctx)
{
    if (ctx)
        ctx->err.msg[0] = '\0';
}
