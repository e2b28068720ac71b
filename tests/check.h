/*
 * check.h - a minimal test harness: CHECK macros that count failures and
 * report file:line, and a main() helper. Each test program prints
 * "N passed, N failed" and exits non-zero on any failure, 77 (skip) when
 * it asked to be skipped (e.g. weights absent).
 */
#ifndef DPSIM_TESTS_CHECK_H
#define DPSIM_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            check_passed++;                                                           \
        } else {                                                                      \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (cond) {                                                                   \
            check_passed++;                                                           \
        } else {                                                                      \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

/* |got - want| <= rel * max(|want|, floor) */
#define CHECK_REL(got, want, rel, floor)                                              \
    do {                                                                              \
        double g_ = (got), w_ = (want);                                               \
        double tol_ = (rel) * fmax(fabs(w_), (floor));                                \
        CHECK_MSG(fabs(g_ - w_) <= tol_, "got %.9g want %.9g (rel err %.3g)", g_, w_, \
                  fabs(g_ - w_) / fmax(fabs(w_), 1e-300));                            \
    } while (0)

/* Print the closing line and return the exit code for main(). */
static inline int check_report(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
