/*
 * allocsweep.h - the allocation-failure sweep shared by the injection tests
 * (built only with -Dalloc_failure_injection=true): run an API path once per
 * n with the n-th and every later allocation failing until it gets through,
 * and the one-call paths whose out-parameter must stay untouched on failure.
 */
#ifndef DPSIM_TESTS_ALLOCSWEEP_H
#define DPSIM_TESTS_ALLOCSWEEP_H

#include <stdio.h>

#include "check.h"
#include "core/alloc.h"
#include "dpsim/dpsim.h"

/* more allocations than any path makes: a sweep that gets this far is stuck */
#define MAX_ALLOCS 100000

/* A pointer no API returns: out-parameters start as this and must stay so on failure. */
static inline void *alloc_untouched(void)
{
    static char sentinel;
    return &sentinel;
}

/*
 * Define `static dpsim_status name(void)`: call (which writes `out`, a type *);
 * on success free_fn(out), else CHECK that out was left untouched.
 */
#define ALLOC_OP(name, type, call, free_fn)                                                    \
    static dpsim_status name(void)                                                             \
    {                                                                                          \
        type *out = alloc_untouched();                                                         \
        dpsim_status s = call;                                                                 \
        if (s == DPSIM_OK)                                                                     \
            free_fn(out);                                                                      \
        else                                                                                   \
            CHECK(out == alloc_untouched());                                                   \
        return s;                                                                              \
    }

/*
 * Run op with allocation n failing for n = 1, 2, ... until it needs fewer
 * than n. Every failing run must return DPSIM_E_NOMEM (or expected, when that
 * is an error) and, when ctx is given, leave a message there; the run without
 * failures must return expected.
 */
static inline void alloc_sweep(const dpsim_ctx *ctx, const char *what, dpsim_status (*op)(void),
                               dpsim_status expected)
{
    long n;
    for (n = 1; n <= MAX_ALLOCS; n++) {
        dp_alloc_fail_at(n);
        dpsim_status s = op();
        long count = dp_alloc_count();
        dp_alloc_fail_at(0);
        const char *msg = ctx ? dpsim_ctx_last_error(ctx) : "";
        if (count < n) {
            CHECK_MSG(s == expected, "%s: without failures got %s, expected %s (%s)", what,
                      dpsim_strerror(s), dpsim_strerror(expected), msg);
            break;
        }
        CHECK_MSG(s == DPSIM_E_NOMEM || (s == expected && s != DPSIM_OK),
                  "%s: allocation %ld failed: got %s (%s)", what, n, dpsim_strerror(s), msg);
        if (ctx)
            CHECK_MSG(*msg, "%s: allocation %ld failed: no message", what, n);
    }
    CHECK_MSG(n <= MAX_ALLOCS, "%s: still allocating after %d allocations", what, MAX_ALLOCS);
    printf("%s: %ld allocation(s) swept\n", what, n - 1);
}

#endif
