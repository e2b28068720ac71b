/*
 * rng.c - xoshiro256** seeded by splitmix64 (see distort.h): the only
 * random source of dpsim, so that a seed fixes every result bit for bit.
 */
#include "dpsim/dpsim.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void dpsim_rng_seed(dpsim_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t dpsim_rng_next(dpsim_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double dpsim_rng_uniform(dpsim_rng *rng) { return (double)(dpsim_rng_next(rng) >> 11) * 0x1.0p-53; }

uint64_t dpsim_rng_below(dpsim_rng *rng, uint64_t n)
{
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* reject the uneven tail */
    uint64_t x;
    do
        x = dpsim_rng_next(rng);
    while (x >= limit);
    return x % n;
}
