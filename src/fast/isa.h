/*
 * isa.h - which vector instruction set the fast kernels use. Detected once
 * from the CPU; $DPSIM_ISA=scalar|avx2|avx512 lowers it (never raises it past
 * what the CPU has), so tests and benchmarks can force every path.
 */
#ifndef DPSIM_FAST_ISA_H
#define DPSIM_FAST_ISA_H

typedef enum isa_level {
    ISA_SCALAR, /* portable C, any CPU */
    ISA_AVX2,   /* AVX2 + FMA */
    ISA_AVX512, /* AVX-512F */
    ISA_LEVELS
} isa_level;

/** The best level this CPU runs. */
isa_level isa_detected(void);

/** The level to use: isa_detected(), lowered by $DPSIM_ISA when it names a lower one. */
isa_level isa_active(void);

/**
 * 1 when the CPU has AVX512-BF16 (with AVX512BW) and isa_active() is
 * ISA_AVX512: what the opt-in bf16 precision needs (fast/gemm_bf16_avx512.c).
 */
int isa_has_bf16(void);

/** "scalar", "avx2", "avx512". */
const char *isa_name(isa_level level);

#endif
