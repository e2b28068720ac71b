/*
 * gemm_bf16_avx512.c - the opt-in bf16 tile kernel (AVX512-BF16): 8 output
 * channels x 32 pixels, 16 zmm fp32 accumulators; per pair of reduction
 * steps two vector loads of B (32 pixels x 2 bf16) and eight broadcasts of
 * an A pair feed 16 vdpbf16ps, twice the multiply-adds of gemm_avx512.c's
 * vfmadd231ps. B is converted while packed (vcvtne2ps2bf16, round to
 * nearest even) and interleaved into pairs. Each output's sum runs in one
 * order (gemm_bf16_scalar.c spells it out), so the bits do not depend on the
 * tile's position, the blocking or the thread.
 */
#include "fast/bf16.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

enum { MR = 8, NR = 32 };

TARGET static void full_tile(int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                             const float *bias, int flags)
{
    __m512 lo[MR], hi[MR]; /* row i: pixels 0..15, 16..31 */
    for (int i = 0; i < MR; i++) {
        if (flags & GEMM_FIRST) {
            lo[i] = hi[i] = _mm512_set1_ps(bias[i]);
        } else {
            lo[i] = _mm512_loadu_ps(c + i * ldc);
            hi[i] = _mm512_loadu_ps(c + i * ldc + 16);
        }
    }
    for (int p = 0; p < kp; p++) {
        const uint32_t *bp = b + (size_t)p * NR;
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + 16);
        const uint32_t *ap = a + (size_t)p * MR;
        for (int i = 0; i < MR; i++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[i]);
            lo[i] = _mm512_dpbf16_ps(lo[i], av, b0);
            hi[i] = _mm512_dpbf16_ps(hi[i], av, b1);
        }
    }
    const __m512 zero = _mm512_setzero_ps();
    for (int i = 0; i < MR; i++) {
        if (flags & GEMM_RELU) {
            lo[i] = _mm512_max_ps(lo[i], zero);
            hi[i] = _mm512_max_ps(hi[i], zero);
        }
        _mm512_storeu_ps(c + i * ldc, lo[i]);
        _mm512_storeu_ps(c + i * ldc + 16, hi[i]);
    }
}

/* full_tile for the first 16 columns only: c (MR, 16 of NR) */
TARGET static void narrow_tile(int kp, const uint32_t *a, const uint32_t *b, float *c,
                               size_t ldc, const float *bias, int flags)
{
    __m512 lo[MR];
    for (int i = 0; i < MR; i++)
        lo[i] = (flags & GEMM_FIRST) ? _mm512_set1_ps(bias[i]) : _mm512_loadu_ps(c + i * ldc);
    for (int p = 0; p < kp; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + (size_t)p * NR);
        const uint32_t *ap = a + (size_t)p * MR;
        for (int i = 0; i < MR; i++)
            lo[i] = _mm512_dpbf16_ps(lo[i], (__m512bh)_mm512_set1_epi32((int)ap[i]), b0);
    }
    for (int i = 0; i < MR; i++)
        _mm512_storeu_ps(c + i * ldc,
                         (flags & GEMM_RELU) ? _mm512_max_ps(lo[i], _mm512_setzero_ps()) : lo[i]);
}

static void tile(int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m, int n,
                 const float *bias, int flags)
{
    gemm_bf16_run_tile(full_tile, n <= 16 ? narrow_tile : full_tile, MR, NR, kp, a, b, c, ldc, m,
                       n, bias, flags);
}

/* 16-bit element 2j of a pair vector takes r0's j (element j), 2j + 1 takes r1's (16 + j) */
static const uint16_t interleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                        21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                        11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

TARGET static void pack(const float *r0, const float *r1, int n, uint32_t *dst)
{
    const __m512i order = _mm512_loadu_si512(interleave);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512 x0 = _mm512_loadu_ps(r0 + j);
        const __m512 x1 = r1 ? _mm512_loadu_ps(r1 + j) : _mm512_setzero_ps();
        const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(x1, x0); /* x0's 16, then x1's */
        _mm512_storeu_si512(dst + j, _mm512_permutexvar_epi16(order, both));
    }
    for (; j < n; j++)
        dst[j] = bf16_pair(r0[j], r1 ? r1[j] : 0.0f);
}

const gemm_kernel gemm_bf16_avx512 = {ISA_AVX512, MR, NR, NULL, tile, pack};
#endif
