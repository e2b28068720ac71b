/*
 * zipstore.h - a minimal reader for the ZIP archives torch.save writes:
 * entries are STORED (not compressed), possibly with zip64 records. It only
 * hands out (pointer, size) views into the caller's bytes (a byte_source),
 * after checking every offset and length against them; it asks the source
 * for the end records, the central directory and the entries it hands out,
 * and reads nothing else.
 */
#ifndef DPSIM_WEIGHTS_ZIPSTORE_H
#define DPSIM_WEIGHTS_ZIPSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "weights/tensors.h"

typedef struct zip_entry {
    const uint8_t *name; /* (name_len) bytes in the central directory, not NUL-terminated */
    size_t name_len;
    uint64_t local_offset; /* of the local file header */
    uint64_t size;         /* uncompressed size from the central directory */
    uint64_t csize;        /* compressed size */
    uint32_t crc;
    uint16_t method; /* 0 = stored */
    uint16_t flags;
    uint8_t verified; /* zip_entry_data checked it already */
} zip_entry;

typedef struct zipstore {
    byte_source src;    /* the caller's archive, which must outlive the store */
    zip_entry *entries; /* (count) sorted by name, names unique */
    size_t count;
    uint64_t cd_offset; /* where the central directory starts: entry data lies before it */
} zipstore;

/** Parse the central directory of src's bytes. Errors read "zip: <problem>". */
dpsim_status zip_open(zipstore *z, const byte_source *src, errbuf *e);
void zip_close(zipstore *z);

/** The entry named exactly name[0..name_len), or NULL. */
const zip_entry *zip_find(const zipstore *z, const char *name, size_t name_len);

/**
 * The bytes of a stored entry, after checking its local header against the
 * central directory, its extent against the buffer and (once per entry) its
 * CRC-32. Compressed or encrypted entries fail with DPSIM_E_FORMAT.
 */
dpsim_status zip_entry_data(zipstore *z, const zip_entry *entry, const uint8_t **data,
                            size_t *size, errbuf *e);

#endif
