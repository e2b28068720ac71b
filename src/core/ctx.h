/*
 * ctx.h - the per-thread context: settings, last error and worker threads.
 */
#ifndef DPSIM_CORE_CTX_H
#define DPSIM_CORE_CTX_H

#include "core/error.h"
#include "fast/pool.h"

struct forward_scratch;

struct dpsim_ctx {
    dpsim_config config;
    errbuf err;    /* detail of the last failure */
    worker_pool *workers; /* config.n_threads >= 2: the threads one extraction uses; else NULL */
    struct forward_scratch *scratch; /* (pool_size(workers)) extraction buffers, one per worker */
    struct grad_work *grad; /* dpsim_gradient's tapes, kept between calls; NULL before one */
};

/** Set the context's last error and return status (ctx may be NULL). */
dpsim_status ctx_fail(dpsim_ctx *ctx, dpsim_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Copy an errbuf into the context and return status. */
dpsim_status ctx_fail_err(dpsim_ctx *ctx, dpsim_status status, const errbuf *e);
/** Clear the last error at the start of an API call. */
void ctx_clear(dpsim_ctx *ctx);

#endif
