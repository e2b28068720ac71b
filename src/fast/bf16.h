/*
 * bf16.h - the scalar bf16 arithmetic the opt-in bf16 kernels follow
 * (AVX512-BF16): rounding fp32 to bf16 as vcvtne2ps2bf16 does, and the
 * tile driver of the bf16 kernels (gemm.h: gemm_bf16_tile_fn).
 */
#ifndef DPSIM_FAST_BF16_H
#define DPSIM_FAST_BF16_H

#include <stdint.h>
#include <string.h>

#include "fast/gemm.h"

/**
 * x rounded to bf16 (the high 16 bits of an fp32): to nearest, ties to even;
 * zeros and denormals become a zero of their sign (the instruction treats
 * denormal inputs as zero); a NaN stays a NaN, quieted. Overflow rounds to Inf.
 */
static inline uint16_t bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf16_to_float(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/** One operand word: bf16(lo) in the low half, bf16(hi) in the high half. */
static inline uint32_t bf16_pair(float lo, float hi)
{
    return (uint32_t)bf16_round(lo) | (uint32_t)bf16_round(hi) << 16;
}

/* A bf16 kernel's whole-tile body: c (mr, nr) at row stride ldc. */
typedef void (*gemm_bf16_full_fn)(int kp, const uint32_t *a, const uint32_t *b, float *c,
                                  size_t ldc, const float *bias, int flags);

/*
 * A bf16 kernel's gemm_bf16_tile_fn, like gemm_run_tile: whole tiles go to
 * full, a tile cut by the edge of C runs cut on a local (mr, nr) copy.
 */
static inline void gemm_bf16_run_tile(gemm_bf16_full_fn full, gemm_bf16_full_fn cut, int mr,
                                      int nr, int kp, const uint32_t *a, const uint32_t *b,
                                      float *c, size_t ldc, int m, int n, const float *bias,
                                      int flags)
{
    if (m == mr && n == nr) {
        full(kp, a, b, c, ldc, bias, flags);
        return;
    }
    float t[GEMM_MAX_MR * GEMM_MAX_NR], tb[GEMM_MAX_MR];
    gemm_cut_load(mr, nr, c, ldc, m, n, bias, flags, t, tb);
    cut(kp, a, b, t, (size_t)nr, tb, flags);
    gemm_cut_store(nr, t, c, ldc, m, n);
}

#endif
