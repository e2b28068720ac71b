/*
 * gemm_avx512.c - the AVX-512 tile kernel: 8 output channels x 32 pixels,
 * 16 zmm accumulators; per reduction step two vector loads of B and eight
 * broadcasts of A feed 16 fused multiply-adds. A tile of at most 16 pixels
 * (small feature maps) runs the same arithmetic on its low half only, one of
 * at most 8 on its low quarter.
 */
#include "fast/gemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,fma")))

enum { MR = 8, NR = 32 };

TARGET static void full_tile(int kc, const float *a, const float *b, size_t ldb,
                             const ptrdiff_t *boff, float *c, size_t ldc, const float *bias,
                             int flags)
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
    for (int k = 0; k < kc; k++) {
        const float *bk = gemm_b_row(b, ldb, boff, k);
        const __m512 b0 = _mm512_loadu_ps(bk);
        const __m512 b1 = _mm512_loadu_ps(bk + 16);
        const float *ak = a + (size_t)k * MR;
        for (int i = 0; i < MR; i++) {
            const __m512 av = _mm512_set1_ps(ak[i]);
            lo[i] = _mm512_fmadd_ps(av, b0, lo[i]);
            hi[i] = _mm512_fmadd_ps(av, b1, hi[i]);
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
TARGET static void narrow_tile(int kc, const float *a, const float *b, size_t ldb,
                               const ptrdiff_t *boff, float *c, size_t ldc, const float *bias,
                               int flags)
{
    __m512 lo[MR];
    for (int i = 0; i < MR; i++)
        lo[i] = (flags & GEMM_FIRST) ? _mm512_set1_ps(bias[i]) : _mm512_loadu_ps(c + i * ldc);
    for (int k = 0; k < kc; k++) {
        const float *bk = gemm_b_row(b, ldb, boff, k);
        const __m512 b0 = _mm512_loadu_ps(bk);
        const float *ak = a + (size_t)k * MR;
        for (int i = 0; i < MR; i++)
            lo[i] = _mm512_fmadd_ps(_mm512_set1_ps(ak[i]), b0, lo[i]);
    }
    for (int i = 0; i < MR; i++)
        _mm512_storeu_ps(c + i * ldc,
                         (flags & GEMM_RELU) ? _mm512_max_ps(lo[i], _mm512_setzero_ps()) : lo[i]);
}

/*
 * full_tile for the first 8 columns only, on 256-bit vectors: c (MR, 8 of NR). Where a
 * 512-bit multiply-add takes both of a core's 256-bit FMA pipes (AMD Zen 4), two of these
 * issue a cycle, so the 8 pixels a batch's 3x3 layers leave in their last tile cost half
 * of narrow_tile's 16.
 */
TARGET static void quarter_tile(int kc, const float *a, const float *b, size_t ldb,
                                const ptrdiff_t *boff, float *c, size_t ldc, const float *bias,
                                int flags)
{
    __m256 acc[MR];
    for (int i = 0; i < MR; i++)
        acc[i] = (flags & GEMM_FIRST) ? _mm256_set1_ps(bias[i]) : _mm256_loadu_ps(c + i * ldc);
    for (int k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(gemm_b_row(b, ldb, boff, k));
        const float *ak = a + (size_t)k * MR;
        for (int i = 0; i < MR; i++)
            acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(ak[i]), b0, acc[i]);
    }
    for (int i = 0; i < MR; i++)
        _mm256_storeu_ps(c + i * ldc, (flags & GEMM_RELU)
                                          ? _mm256_max_ps(acc[i], _mm256_setzero_ps())
                                          : acc[i]);
}

static void tile(int kc, const float *a, const float *b, size_t ldb, const ptrdiff_t *boff,
                 float *c, size_t ldc, int m, int n, const float *bias, int flags)
{
    gemm_run_tile(full_tile, n <= 8 ? quarter_tile : n <= 16 ? narrow_tile : full_tile, MR, NR,
                  kc, a, b, ldb, boff, c, ldc, m, n, bias, flags);
}

const gemm_kernel gemm_avx512 = {ISA_AVX512, MR, NR, tile, NULL, NULL};
#endif
