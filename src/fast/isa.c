/*
 * isa.c - CPU feature detection and the $DPSIM_ISA override.
 */
#include <stdlib.h>
#include <string.h>

#include "fast/isa.h"

isa_level isa_detected(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return ISA_AVX2;
#endif
    return ISA_SCALAR;
}

int isa_has_bf16(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (isa_active() != ISA_AVX512)
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

const char *isa_name(isa_level level)
{
    static const char *const names[ISA_LEVELS] = {"scalar", "avx2", "avx512"};
    return level >= 0 && level < ISA_LEVELS ? names[level] : "?";
}

isa_level isa_active(void)
{
    isa_level best = isa_detected();
    const char *want = getenv("DPSIM_ISA");
    if (!want)
        return best;
    for (int l = 0; l < ISA_LEVELS; l++)
        if (strcmp(want, isa_name((isa_level)l)) == 0)
            return (isa_level)l < best ? (isa_level)l : best;
    return best;
}
