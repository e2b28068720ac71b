/*
 * gemm_bf16_scalar.c - the bf16 oracle: the arithmetic of vdpbf16ps in
 * plain C, tile 4 x 16. Each output starts from the bias (or C) and, per
 * pair of reduction steps (2p, 2p + 1), takes two fused multiply-adds in
 * fp32, step 2p + 1 first, each rounded to nearest even with denormal
 * inputs and results flushed to zero (Intel SDM, VDPBF16PS). The products
 * of two bf16 values are exact in fp32, so only the additions round. Not a
 * fallback: bf16 models need the AVX512-BF16 kernel; this one checks it.
 */
#include <float.h>
#include <math.h>

#include "fast/bf16.h"
#include "fast/isa.h"

enum { MR = 4, NR = 16 };

/* a denormal to a zero of its sign */
static float flush(float x) { return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x; }

static void full_tile(int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc,
                      const float *bias, int flags)
{
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) {
            float acc = flush((flags & GEMM_FIRST) ? bias[i] : c[i * ldc + j]);
            for (int p = 0; p < kp; p++) {
                const uint32_t av = a[(size_t)p * MR + i], bv = b[(size_t)p * NR + j];
                acc = flush(fmaf(bf16_to_float((uint16_t)(av >> 16)),
                                 bf16_to_float((uint16_t)(bv >> 16)), acc));
                acc = flush(fmaf(bf16_to_float((uint16_t)av), bf16_to_float((uint16_t)bv), acc));
            }
            /* max(acc, 0) as vmaxps(acc, 0): +0 for -0 and NaN */
            c[i * ldc + j] = (flags & GEMM_RELU) && !(acc > 0.0f) ? 0.0f : acc;
        }
}

static void tile(int kp, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int m, int n,
                 const float *bias, int flags)
{
    gemm_bf16_run_tile(full_tile, full_tile, MR, NR, kp, a, b, c, ldc, m, n, bias, flags);
}

static void pack(const float *r0, const float *r1, int n, uint32_t *dst)
{
    for (int j = 0; j < n; j++)
        dst[j] = bf16_pair(r0[j], r1 ? r1[j] : 0.0f);
}

const gemm_kernel gemm_bf16_scalar = {ISA_SCALAR, MR, NR, NULL, tile, pack};

const gemm_kernel *gemm_bf16_kernel_for(isa_level level)
{
#if defined(__x86_64__) || defined(__i386__)
    if (level == ISA_AVX512 && isa_has_bf16())
        return &gemm_bf16_avx512;
#endif
    (void)level;
    return NULL;
}
