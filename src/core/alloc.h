/*
 * alloc.h - the library's only allocator entry points.
 * Every allocation goes through these so a test build can make the n-th one
 * fail (allocation-failure injection) and so sizes are overflow-checked.
 */
#ifndef DPSIM_CORE_ALLOC_H
#define DPSIM_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *dp_malloc(size_t size);
void *dp_calloc(size_t count, size_t size);
void *dp_realloc(void *ptr, size_t size);
void dp_free(void *ptr);
/** dp_malloc for a block that is written whole (weights, a file): large ones get huge pages. */
void *dp_malloc_dense(size_t size);
char *dp_strdup(const char *s);

#ifdef DPSIM_ALLOC_FAILURE_INJECTION
/** Restart the count: the n-th allocation from now on and every later one fail (0: none). */
void dp_alloc_fail_at(long n);
/** Allocations attempted since the last dp_alloc_fail_at(). */
long dp_alloc_count(void);
#endif

/** *out = a * b; returns 0 on overflow (out untouched), 1 otherwise. */
static inline int size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/** *out = a + b; returns 0 on overflow. */
static inline int size_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return 0;
    *out = a + b;
    return 1;
}

#endif
