/*
 * peak_flops.c - the fp32 peak this machine reaches: independent chains of
 * fused multiply-adds (AVX-512 where the CPU has it, else AVX2+FMA), on one
 * thread and on two. bench/run.py divides achieved GFLOP/s by it.
 * Prints one JSON line: {"isa": ..., "gflops_1t": ..., "gflops_2t": ...}.
 * Usage: peak_flops [SECONDS_PER_MEASUREMENT] (default 0.5)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* Enough accumulators to cover FMA latency x FMA ports (4 x 2 on current
 * cores); each chain depends only on itself. */
#define CHAINS 12
#define ITERS 4096L

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ITERS x CHAINS FMAs of 16 lanes; returns the flops done. */
__attribute__((target("avx512f"))) static double fma_block_avx512(float *sink)
{
    __m512 acc[CHAINS];
    const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm512_set1_ps((float)c);
    for (long i = 0; i < ITERS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm512_fmadd_ps(acc[c], mul, add);
    for (int c = 1; c < CHAINS; c++)
        acc[0] = _mm512_add_ps(acc[0], acc[c]);
    *sink += _mm512_reduce_add_ps(acc[0]);
    return 2.0 * 16 * CHAINS * ITERS;
}

/* The same with 8 lanes. */
__attribute__((target("avx2,fma"))) static double fma_block_avx2(float *sink)
{
    __m256 acc[CHAINS];
    const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm256_set1_ps((float)c);
    for (long i = 0; i < ITERS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm256_fmadd_ps(acc[c], mul, add);
    float lanes[8];
    for (int c = 1; c < CHAINS; c++)
        acc[0] = _mm256_add_ps(acc[0], acc[c]);
    _mm256_storeu_ps(lanes, acc[0]);
    for (int l = 0; l < 8; l++)
        *sink += lanes[l];
    return 2.0 * 8 * CHAINS * ITERS;
}

typedef struct {
    double (*block)(float *sink);
    double seconds; /* how long to run */
    double gflops;  /* out */
    float sink;     /* keeps the results live */
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    double flops = 0, t0 = now_s(), t;
    do
        flops += j->block(&j->sink);
    while ((t = now_s() - t0) < j->seconds);
    j->gflops = flops / t / 1e9;
    return NULL;
}

/* Total GFLOP/s of `threads` threads running blocks at once. */
static double measure(double (*block)(float *), int threads, double seconds)
{
    job jobs[2];
    pthread_t tid[2];
    double total = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){block, seconds, 0, 0};
        if (pthread_create(&tid[t], NULL, run_job, &jobs[t]) != 0)
            exit(1);
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        total += jobs[t].gflops;
    }
    return total;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.5;
    __builtin_cpu_init();
    const char *isa;
    double (*block)(float *);
    if (__builtin_cpu_supports("avx512f"))
        isa = "avx512", block = fma_block_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        isa = "avx2", block = fma_block_avx2;
    else {
        fprintf(stderr, "peak_flops: neither AVX-512 nor AVX2+FMA on this CPU\n");
        return 1;
    }
    measure(block, 1, seconds / 4); /* warm-up: clocks up */
    double one = measure(block, 1, seconds), two = measure(block, 2, seconds);
    printf("{\"isa\": \"%s\", \"gflops_1t\": %.1f, \"gflops_2t\": %.1f}\n", isa, one, two);
    return 0;
}
#else
int main(void)
{
    fprintf(stderr, "peak_flops: x86 only\n");
    return 1;
}
#endif
