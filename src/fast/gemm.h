/*
 * gemm.h - the register-tile kernels behind the fast convolution, one per
 * instruction set (gemm_scalar.c, gemm_avx2.c, gemm_avx512.c).
 *
 * A kernel computes one tile C (mr x nr) of C = A B over a block of kc
 * reduction steps, from packed operands:
 *   a (kc, mr): column k of A's mr rows, contiguous (weights, packed at load)
 *   b (kc, nr): row k of B's nr columns at b + k * ldb, or at b + boff[k] when
 *               boff is given (input pixels: packed per block, or read in place
 *               from the input, see conv_fast.c)
 * Each output is one chain of fused multiply-adds in increasing k, started
 * from the bias (first block) or from C (later blocks), so its bits do not
 * depend on the tile's position, the blocking of the other dimensions or the
 * thread that computes it.
 */
#ifndef DPSIM_FAST_GEMM_H
#define DPSIM_FAST_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "fast/isa.h"

enum {
    GEMM_FIRST = 1, /* start from the bias, not from C */
    GEMM_RELU = 2,  /* store max(x, 0) (last block only) */
    GEMM_ROOM = 4   /* C has room for whole tiles (mr x nr at ldc): a tile cut only by n may
                       fill the columns past n (values of no use) instead of going through
                       a local copy */
};

#define GEMM_MAX_MR 8
#define GEMM_MAX_NR 32

/**
 * C (m x n valid, row stride ldc) = tile of A B, see above.
 * @param bias (m) the rows' biases, read with GEMM_FIRST only
 */
typedef void (*gemm_tile_fn)(int kc, const float *a, const float *b, size_t ldb,
                             const ptrdiff_t *boff, float *c, size_t ldc, int m, int n,
                             const float *bias, int flags);

/*
 * The bf16 kernels (opt-in precision, gemm_bf16.h): operands are pairs of
 * bf16 values in one 32-bit word, element 2p in the low half, 2p + 1 in the
 * high half; a (kp, mr) and b (kp, nr) hold reduction steps 2p and 2p + 1 of
 * a row / column per word, b always packed (by pack_bf16).
 */
typedef void (*gemm_bf16_tile_fn)(int kp, const uint32_t *a, const uint32_t *b, float *c,
                                  size_t ldc, int m, int n, const float *bias, int flags);
/* dst (n) = the pairs (bf16(r0[j]), bf16(r1[j])), rounded to nearest even; r1 NULL: zeros */
typedef void (*gemm_bf16_pack_fn)(const float *r0, const float *r1, int n, uint32_t *dst);

typedef struct gemm_kernel {
    isa_level isa;
    int mr, nr; /* tile rows (output channels) and columns (pixels) */
    gemm_tile_fn tile;           /* fp32 kernels; NULL for a bf16 one */
    gemm_bf16_tile_fn tile_bf16; /* bf16 kernels (fast/conv_bf16.c runs them); else NULL */
    gemm_bf16_pack_fn pack_bf16;
} gemm_kernel;

/** The kernel of a level (ISA_SCALAR on builds without the x86 ones). */
const gemm_kernel *gemm_kernel_for(isa_level level);

/**
 * The bf16 kernel of a level: AVX512-BF16 at ISA_AVX512 on a CPU that has it
 * (vdpbf16ps, vcvtne2ps2bf16), else NULL. Never the default: bf16 is opt-in.
 */
const gemm_kernel *gemm_bf16_kernel_for(isa_level level);

extern const gemm_kernel gemm_scalar;
extern const gemm_kernel gemm_bf16_scalar; /* the bf16 oracle (tests); bit-identical results */
#if defined(__x86_64__) || defined(__i386__)
extern const gemm_kernel gemm_avx2;
extern const gemm_kernel gemm_avx512;
extern const gemm_kernel gemm_bf16_avx512;
#endif

/** Row k of B (see above). */
static inline const float *gemm_b_row(const float *b, size_t ldb, const ptrdiff_t *boff, int k)
{
    return boff ? b + boff[k] : b + (size_t)k * ldb;
}

/* A kernel's whole-tile body: c (mr, nr) at row stride ldc, the arguments of gemm_tile_fn. */
typedef void (*gemm_full_fn)(int kc, const float *a, const float *b, size_t ldb,
                             const ptrdiff_t *boff, float *c, size_t ldc, const float *bias,
                             int flags);

/*
 * A tile cut by the edge of C (m < mr or n < nr) runs on a local copy:
 * gemm_cut_load makes t (mr, nr) and tb (mr) from C's m x n corner and the
 * bias (zeros outside), gemm_cut_store writes the corner back, so the
 * arithmetic is the same as for a whole tile.
 */
static inline void gemm_cut_load(int mr, int nr, const float *c, size_t ldc, int m, int n,
                                 const float *bias, int flags, float *t, float *tb)
{
    for (int i = 0; i < mr; i++) {
        tb[i] = (flags & GEMM_FIRST) && i < m ? bias[i] : 0.0f;
        for (int j = 0; j < nr; j++)
            t[i * nr + j] = !(flags & GEMM_FIRST) && i < m && j < n ? c[i * ldc + j] : 0.0f;
    }
}

static inline void gemm_cut_store(int nr, const float *t, float *c, size_t ldc, int m, int n)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            c[i * ldc + j] = t[i * nr + j];
}

/*
 * A kernel's gemm_tile_fn: whole tiles go straight to full; cut is the kernel's choice for
 * n columns (computing at least the first n, full's arithmetic). Tiles cut only by n where
 * C has room (GEMM_ROOM) go straight to it, other cut tiles to it on a local copy.
 */
static inline void gemm_run_tile(gemm_full_fn full, gemm_full_fn cut, int mr, int nr, int kc,
                                 const float *a, const float *b, size_t ldb,
                                 const ptrdiff_t *boff, float *c, size_t ldc, int m, int n,
                                 const float *bias, int flags)
{
    if (m == mr && (n == nr || (flags & GEMM_ROOM))) {
        (n == nr ? full : cut)(kc, a, b, ldb, boff, c, ldc, bias, flags);
        return;
    }
    float t[GEMM_MAX_MR * GEMM_MAX_NR], tb[GEMM_MAX_MR];
    gemm_cut_load(mr, nr, c, ldc, m, n, bias, flags, t, tb);
    cut(kc, a, b, ldb, boff, t, (size_t)nr, tb, flags);
    gemm_cut_store(nr, t, c, ldc, m, n);
}

#endif
