/*
 * alloc.c - allocator wrappers. With -DDPSIM_ALLOC_FAILURE_INJECTION the
 * environment variable DPSIM_FAIL_ALLOC=N (N >= 1) makes the N-th allocation
 * (1-based) and every later one fail, for error-path tests; tests in the same
 * process use dp_alloc_fail_at() instead.
 */
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef DPSIM_ALLOC_FAILURE_INJECTION
#include <stdatomic.h>
static atomic_long alloc_count;
static atomic_long alloc_fail_at = -1; /* -1: DPSIM_FAIL_ALLOC not read yet; 0: never fail */

void dp_alloc_fail_at(long n)
{
    atomic_store(&alloc_fail_at, n);
    atomic_store(&alloc_count, 0);
}

long dp_alloc_count(void) { return atomic_load(&alloc_count); }

static int alloc_should_fail(void)
{
    long limit = atomic_load(&alloc_fail_at);
    if (limit < 0) {
        const char *env = getenv("DPSIM_FAIL_ALLOC");
        limit = env && *env ? atol(env) : 0;
        atomic_store(&alloc_fail_at, limit);
    }
    long n = atomic_fetch_add(&alloc_count, 1) + 1;
    return limit > 0 && n >= limit;
}
#else
static int alloc_should_fail(void) { return 0; }
#endif

void *dp_malloc(size_t size)
{
    if (alloc_should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *dp_calloc(size_t count, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1;
    return calloc(count, size);
}

/*
 * Dense blocks of 4 MB and more start on a 2 MB boundary and ask for
 * transparent huge pages: loading VGG-16 touched its 58 MB of weights in 4 KB
 * pages, 55 000 page faults that took a quarter of a one-pair run. Where the
 * kernel gives THP only on request (the common "madvise" setting), this is
 * the request; elsewhere it changes nothing. Only for blocks written whole:
 * a huge page is resident as soon as one byte of it is touched (activation
 * buffers grown for the largest image would cost up to 10% more memory).
 */
enum { HUGE_MIN = 4 << 20, HUGE_PAGE = 2 << 20 };

void *dp_malloc_dense(size_t size)
{
#ifdef MADV_HUGEPAGE
    if (size >= HUGE_MIN) {
        if (alloc_should_fail())
            return NULL;
        void *p;
        if (posix_memalign(&p, HUGE_PAGE, size) != 0)
            return NULL;
        madvise(p, size & ~(size_t)(HUGE_PAGE - 1), MADV_HUGEPAGE); /* advice only */
        return p;
    }
#endif
    return dp_malloc(size);
}

void *dp_realloc(void *ptr, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void dp_free(void *ptr) { free(ptr); }

char *dp_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = dp_malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}
