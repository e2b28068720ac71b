/*
 * fileio.h - reading whole files with a size cap, and writing files
 * atomically (temporary name in the same folder, renamed on success), so a
 * failure never leaves a partial file or harms the previous one.
 */
#ifndef DPSIM_CORE_FILEIO_H
#define DPSIM_CORE_FILEIO_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/**
 * Read a whole regular file into a new buffer (free with dp_free).
 * Fails with DPSIM_E_IO for a missing/unreadable file or a directory,
 * DPSIM_E_LIMIT if it is larger than max_size bytes.
 */
dpsim_status file_read_all(const char *path, size_t max_size, uint8_t **data, size_t *size,
                           errbuf *e);

typedef struct atomic_file {
    FILE *fp;
    char *tmp_path;
    char *final_path;
} atomic_file;

/** Create "<path>.tmp-XXXXXX" for writing; DPSIM_E_IO if path exists and is not a regular file. */
dpsim_status atomic_file_open(atomic_file *f, const char *path, errbuf *e);
/** Flush, close and rename over path; on any failure the temporary is removed. */
dpsim_status atomic_file_commit(atomic_file *f, errbuf *e);
/** Close and remove the temporary (safe after a failed commit and on a zeroed struct). */
void atomic_file_abort(atomic_file *f);

#endif
