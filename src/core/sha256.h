/*
 * sha256.h - SHA-256 (FIPS 180-4) for weight file provenance.
 */
#ifndef DPSIM_CORE_SHA256_H
#define DPSIM_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_state {
    uint32_t h[8];
    uint64_t length; /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;     /* bytes in block */
} sha256_state;

void sha256_init(sha256_state *s);
void sha256_update(sha256_state *s, const void *data, size_t len);
void sha256_final(sha256_state *s, uint8_t digest[32]);
/** Lower-case hex of a whole buffer's digest into hex[65]. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
