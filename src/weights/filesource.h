/*
 * filesource.h - a weights file as a byte_source read in the parts the
 * readers ask for, and hashed whole afterwards.
 *
 * A regular file's length is reserved as address space (an anonymous
 * mapping: a page never read takes no memory) and each part asked for is
 * read into place with pread, in whole blocks, once. A checkpoint's tensors
 * that no one wants (a torchvision file's classifier: 470 of VGG-16's 528 MB)
 * are never read. Anything else (a pipe) is read whole into memory. The
 * mapping has room to move the file's bytes up to SOURCE_MAX_ALIGN - 1 bytes
 * on (byte_source.place), where a reader wants them aligned.
 *
 * The SHA-256 of the whole file is taken on its own reads (a small buffer),
 * beside the readers' and after them, in steps that may stop and go on from
 * where they stopped (on another thread). Both end by checking that the file
 * is the one opened (size, modification and change times): the digest is of
 * the bytes the weights came from, or there is none.
 */
#ifndef DPSIM_WEIGHTS_FILESOURCE_H
#define DPSIM_WEIGHTS_FILESOURCE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/sha256.h"
#include "weights/tensors.h"

typedef struct file_source {
    byte_source src; /* what the readers get */
    const char *path;
    int fd;          /* -1: read whole (src.fill NULL) */
    uint8_t *map;    /* (len) the file's bytes: shift bytes into the reserved mapping
                      * (len + SOURCE_MAX_ALIGN), or the whole file read */
    size_t len;
    size_t shift;
    uint8_t *have;   /* (blocks) 1 where map holds the block read */
    struct stat opened; /* the file as opened */
} file_source;

/**
 * Open path (kept by f, not copied) for reading; files above max bytes fail
 * with DPSIM_E_LIMIT. Errors read "'path': <why>".
 */
dpsim_status file_source_open(file_source *f, const char *path, size_t max, errbuf *e);
/** DPSIM_E_IO "'path': changed while it was read" unless the file is still the one opened. */
dpsim_status file_source_unchanged(const file_source *f, errbuf *e);
/**
 * Give back the memory of the parts read (the readers' views of it must be
 * gone); the file stays open for file_source_sha256. Touches neither fd nor
 * len, so a hasher may run meanwhile.
 */
void file_source_release(file_source *f);

/**
 * Hand f's mapping of a regular file (read in parts; *len bytes from the
 * pointer returned, the file's bytes shift bytes in) to the caller, who may
 * write over what was read (a model packs its weights there) and frees it
 * with file_pages_free; f forgets it, as file_source_release would, while its
 * hashing reads the file itself. NULL, f unchanged, for a file read whole
 * (whose hashing reads that buffer).
 */
uint8_t *file_source_take_pages(file_source *f, size_t *len);
void file_pages_free(uint8_t *pages, size_t len);
/** Close the file and release the memory (safe on a zeroed or closed source). */
void file_source_close(file_source *f);

/** Bytes of the buffer file_source_hash reads into. */
#define FILE_SOURCE_HASH_BUFFER ((size_t)1 << 20)

/** A SHA-256 of a file under way: the state after its first done bytes. */
typedef struct file_hash {
    sha256_state st;
    size_t done;
} file_hash;

void file_hash_init(file_hash *h);
/**
 * Hash on from h->done to the end of the file, read on its own into buf
 * (FILE_SOURCE_HASH_BUFFER bytes), or until *stop is set (looked at before
 * each buffer; NULL: never). It allocates nothing, and may run on another
 * thread than the readers until file_source_close. DPSIM_E_IO when the file
 * cannot be read to its length.
 */
dpsim_status file_source_hash(const file_source *f, file_hash *h, uint8_t *buf,
                              const atomic_int *stop, errbuf *e);
/**
 * The lower-case hex digest into hex[65] once the whole file is hashed and
 * it is still the one opened; else hex empty and DPSIM_E_IO.
 */
dpsim_status file_hash_hex(const file_source *f, file_hash *h, char hex[65], errbuf *e);

#endif
