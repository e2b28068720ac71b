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
/** sha256_final as lower-case hex into hex[65]. */
void sha256_final_hex(sha256_state *s, char hex[65]);
/* The block functions: h = the state after n_blocks 64-byte blocks at p. */
extern const uint32_t sha256_k[64];
void sha256_blocks_portable(uint32_t h[8], const uint8_t *p, size_t n_blocks);
void sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n_blocks); /* x86 SHA */
/** 1 when this CPU has the SHA extensions sha256_blocks_shani needs. */
int sha256_shani_available(void);

/** Lower-case hex of a whole buffer's digest into hex[65]. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
