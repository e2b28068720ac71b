/*
 * sha256_shani.c - the SHA-256 block function on the x86 SHA extensions
 * (sha256rnds2 does two rounds, sha256msg1/msg2 the message schedule), about
 * five times the portable one: hashing a 58 MB VGG-16 checkpoint for the
 * provenance line took most of a whole-process run. tests/unit/test_core.c
 * checks it against the portable block function on random data.
 */
#include "core/sha256.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("sha,ssse3,sse4.1")))

int sha256_shani_available(void)
{
    unsigned a, b, c, d;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("ssse3") || !__builtin_cpu_supports("sse4.1"))
        return 0;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (a < 7)
        return 0;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    return (b >> 29) & 1; /* CPUID.(EAX=7,ECX=0):EBX.SHA */
}

TARGET void sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n_blocks)
{
    const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    /* the instructions keep the state as (A,B,E,F) and (C,D,G,H), highest lane first */
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);
    __m128i abef = _mm_alignr_epi8(dcba, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);
    for (; n_blocks > 0; n_blocks--, p += 64) {
        const __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i w[4]; /* the schedule's last 16 words, 4 per vector, w[g % 4] = group g */
        for (int g = 0; g < 16; g++) {
            __m128i cur;
            if (g < 4) {
                cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)),
                                       big_endian);
            } else {
                __m128i t = _mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4));
                cur = _mm_sha256msg2_epu32(t, w[(g + 3) % 4]);
            }
            w[g % 4] = cur;
            __m128i msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&sha256_k[4 * g]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(msg, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

#else

int sha256_shani_available(void) { return 0; }

void sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n_blocks)
{
    sha256_blocks_portable(h, p, n_blocks);
}

#endif
