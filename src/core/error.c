/*
 * error.c - filling error detail buffers.
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

dpsim_status err_set(errbuf *e, dpsim_status status, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void err_prefix(errbuf *e, const char *fmt, ...)
{
    if (!e)
        return;
    char old[ERRBUF_LEN];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof e->msg - 2)
        return;
    e->msg[n] = ':';
    e->msg[n + 1] = ' ';
    size_t room = sizeof e->msg - (size_t)n - 2;
    size_t len = strnlen(old, room - 1);
    memcpy(e->msg + n + 2, old, len);
    e->msg[n + 2 + len] = '\0';
}
