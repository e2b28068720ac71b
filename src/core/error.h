/*
 * error.h - an error detail buffer that modules without a context fill in.
 * A module that can fail takes an `errbuf *` and returns a dpsim_status; the
 * caller copies the detail into the context's last error.
 * Detail format: "<object>: <problem>[, expected <x>]" in lower case.
 */
#ifndef DPSIM_CORE_ERROR_H
#define DPSIM_CORE_ERROR_H

#include "dpsim/dpsim.h"

#define ERRBUF_LEN 1024

typedef struct errbuf {
    char msg[ERRBUF_LEN];
} errbuf;

/** Format the detail into e (may be NULL) and return status unchanged. */
dpsim_status err_set(errbuf *e, dpsim_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Prefix the existing detail with "<prefix>: " (used to add a file name). */
void err_prefix(errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
