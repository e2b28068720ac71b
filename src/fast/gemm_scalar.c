/*
 * gemm_scalar.c - the portable tile kernel (4 x 16), for CPUs without the
 * vector extensions and as the $DPSIM_ISA=scalar path. Plain multiply-add in
 * float; the double-precision oracle stays in nn/conv2d.c.
 */
#include "fast/gemm.h"

enum { MR = 4, NR = 16 };

static void full_tile(int kc, const float *a, const float *b, size_t ldb, const ptrdiff_t *boff,
                      float *c, size_t ldc, const float *bias, int flags)
{
    float acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            acc[i][j] = (flags & GEMM_FIRST) ? bias[i] : c[i * ldc + j];
    for (int k = 0; k < kc; k++) {
        const float *bk = gemm_b_row(b, ldb, boff, k);
        for (int i = 0; i < MR; i++) {
            const float av = a[(size_t)k * MR + i];
            for (int j = 0; j < NR; j++)
                acc[i][j] += av * bk[j];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            c[i * ldc + j] = (flags & GEMM_RELU) && acc[i][j] < 0.0f ? 0.0f : acc[i][j];
}

static void tile(int kc, const float *a, const float *b, size_t ldb, const ptrdiff_t *boff,
                 float *c, size_t ldc, int m, int n, const float *bias, int flags)
{
    gemm_run_tile(full_tile, full_tile, MR, NR, kc, a, b, ldb, boff, c, ldc, m, n, bias, flags);
}

const gemm_kernel gemm_scalar = {ISA_SCALAR, MR, NR, tile, NULL, NULL};

const gemm_kernel *gemm_kernel_for(isa_level level)
{
#if defined(__x86_64__) || defined(__i386__)
    if (level == ISA_AVX512)
        return &gemm_avx512;
    if (level == ISA_AVX2)
        return &gemm_avx2;
#endif
    (void)level;
    return &gemm_scalar;
}
