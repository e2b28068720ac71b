/*
 * gemm_avx2.c - the AVX2 + FMA tile kernel: 6 output channels x 16 pixels,
 * 12 ymm accumulators; per reduction step two vector loads of B and six
 * broadcasts of A feed 12 fused multiply-adds.
 */
#include "fast/gemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))

enum { MR = 6, NR = 16 };

TARGET static void full_tile(int kc, const float *a, const float *b, size_t ldb,
                             const ptrdiff_t *boff, float *c, size_t ldc, const float *bias,
                             int flags)
{
    __m256 lo[MR], hi[MR]; /* row i: pixels 0..7, 8..15 */
    for (int i = 0; i < MR; i++) {
        if (flags & GEMM_FIRST) {
            lo[i] = hi[i] = _mm256_set1_ps(bias[i]);
        } else {
            lo[i] = _mm256_loadu_ps(c + i * ldc);
            hi[i] = _mm256_loadu_ps(c + i * ldc + 8);
        }
    }
    for (int k = 0; k < kc; k++) {
        const float *bk = gemm_b_row(b, ldb, boff, k);
        const __m256 b0 = _mm256_loadu_ps(bk);
        const __m256 b1 = _mm256_loadu_ps(bk + 8);
        const float *ak = a + (size_t)k * MR;
        for (int i = 0; i < MR; i++) {
            const __m256 av = _mm256_broadcast_ss(ak + i);
            lo[i] = _mm256_fmadd_ps(av, b0, lo[i]);
            hi[i] = _mm256_fmadd_ps(av, b1, hi[i]);
        }
    }
    const __m256 zero = _mm256_setzero_ps();
    for (int i = 0; i < MR; i++) {
        if (flags & GEMM_RELU) {
            lo[i] = _mm256_max_ps(lo[i], zero);
            hi[i] = _mm256_max_ps(hi[i], zero);
        }
        _mm256_storeu_ps(c + i * ldc, lo[i]);
        _mm256_storeu_ps(c + i * ldc + 8, hi[i]);
    }
}

static void tile(int kc, const float *a, const float *b, size_t ldb, const ptrdiff_t *boff,
                 float *c, size_t ldc, int m, int n, const float *bias, int flags)
{
    gemm_run_tile(full_tile, full_tile, MR, NR, kc, a, b, ldb, boff, c, ldc, m, n, bias, flags);
}

const gemm_kernel gemm_avx2 = {ISA_AVX2, MR, NR, tile, NULL, NULL};
#endif
