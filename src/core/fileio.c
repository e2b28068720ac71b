/*
 * fileio.c - whole-file reads with a cap, atomic writes via rename.
 */
#define _POSIX_C_SOURCE 200809L
#include "core/fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/ctx.h"

dpsim_status file_read_all(const char *path, size_t max_size, uint8_t **data, size_t *size,
                           errbuf *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set(e, DPSIM_E_IO, "'%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return err_set(e, DPSIM_E_IO, "'%s': is a directory, expected a file", path);
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max_size)
        return err_set(e, DPSIM_E_LIMIT, "'%s': larger than the limit of %zu bytes", path,
                       max_size);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, DPSIM_E_IO, "'%s': %s", path, strerror(errno));
    /* a regular file's size is known: one buffer, one read (+1 byte to see the end) */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16, len = 0;
    uint8_t *buf = dp_malloc_dense(cap);
    dpsim_status status = DPSIM_OK;
    if (!buf) {
        status = err_set(e, DPSIM_E_NOMEM, "'%s': out of memory", path);
        goto done;
    }
    for (;;) {
        if (len == cap) {
            if (cap > max_size) {
                status = err_set(e, DPSIM_E_LIMIT, "'%s': larger than the limit of %zu bytes",
                                 path, max_size);
                goto done;
            }
            uint8_t *bigger = dp_realloc(buf, cap * 2);
            if (!bigger) {
                status = err_set(e, DPSIM_E_NOMEM, "'%s': out of memory", path);
                goto done;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp))
                status = err_set(e, DPSIM_E_IO, "'%s': read error", path);
            break;
        }
    }
    if (status == DPSIM_OK && len > max_size)
        status = err_set(e, DPSIM_E_LIMIT, "'%s': larger than the limit of %zu bytes", path,
                         max_size);
done:
    fclose(fp);
    if (status != DPSIM_OK) {
        dp_free(buf);
        return status;
    }
    *data = buf;
    *size = len;
    return DPSIM_OK;
}

dpsim_status atomic_file_open(atomic_file *f, const char *path, errbuf *e)
{
    memset(f, 0, sizeof *f);
    struct stat st;
    /* renaming over a device or FIFO would replace it, not write into it */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return err_set(e, DPSIM_E_IO, "'%s': is %s, expected a file path", path,
                       S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    size_t n = strlen(path);
    f->final_path = dp_strdup(path);
    f->tmp_path = dp_malloc(n + sizeof ".tmp-XXXXXX");
    if (!f->final_path || !f->tmp_path) {
        atomic_file_abort(f);
        return err_set(e, DPSIM_E_NOMEM, "'%s': out of memory", path);
    }
    memcpy(f->tmp_path, path, n);
    memcpy(f->tmp_path + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    int fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        dpsim_status s = err_set(e, DPSIM_E_IO, "'%s': cannot create a file there: %s", path,
                                 strerror(errno));
        dp_free(f->tmp_path);
        f->tmp_path = NULL;
        atomic_file_abort(f);
        return s;
    }
    /* mkstemp makes 0600 files; give the result the usual umask-based mode */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        close(fd);
        atomic_file_abort(f);
        return err_set(e, DPSIM_E_IO, "'%s': %s", path, strerror(errno));
    }
    return DPSIM_OK;
}

dpsim_status atomic_file_commit(atomic_file *f, errbuf *e)
{
    int failed = ferror(f->fp) != 0;
    failed |= fflush(f->fp) != 0;
    failed |= fsync(fileno(f->fp)) != 0 && errno != EINVAL;
    failed |= fclose(f->fp) != 0;
    f->fp = NULL;
    if (failed) {
        dpsim_status s = err_set(e, DPSIM_E_IO, "'%s': write failed: %s", f->final_path,
                                 strerror(errno));
        atomic_file_abort(f);
        return s;
    }
    if (rename(f->tmp_path, f->final_path) != 0) {
        dpsim_status s = err_set(e, DPSIM_E_IO, "'%s': cannot rename the finished file: %s",
                                 f->final_path, strerror(errno));
        atomic_file_abort(f);
        return s;
    }
    dp_free(f->tmp_path);
    dp_free(f->final_path);
    memset(f, 0, sizeof *f);
    return DPSIM_OK;
}

void atomic_file_abort(atomic_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    dp_free(f->tmp_path);
    dp_free(f->final_path);
    memset(f, 0, sizeof *f);
}

dpsim_status dpsim_file_write_atomic(dpsim_ctx *ctx, const char *path, const void *data,
                                     size_t size)
{
    ctx_clear(ctx);
    if (!path || (!data && size))
        return ctx_fail(ctx, DPSIM_E_INVAL, "dpsim_file_write_atomic: NULL argument");
    errbuf *e = ctx ? &ctx->err : NULL;
    atomic_file f;
    dpsim_status s = atomic_file_open(&f, path, e);
    if (s != DPSIM_OK)
        return s;
    if (size && fwrite(data, 1, size, f.fp) != size) {
        atomic_file_abort(&f);
        return err_set(e, DPSIM_E_IO, "'%s': write failed: %s", path, strerror(errno));
    }
    return atomic_file_commit(&f, e);
}
