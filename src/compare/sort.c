/*
 * sort.c - the sort term (thesis eq. 4.3): sort each channel's h*w values
 * in descending order, so both maps are aligned by rank, then compare them
 * exactly like the spatial term (normalised per rank, after sorting).
 * Sorting works on the float bits (insertion sort for short rows, else radix).
 */
#include <stdint.h>
#include <string.h>

#include "compare/methods.h"
#include "core/alloc.h"

/* A float's bits mapped so that unsigned order is descending float order. */
static uint32_t desc_key(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending as unsigned */
    return ~u;
}

/* keys (n) sorted in place: insertion sort when short, else an LSD radix sort with
   8 bits per pass; tmp (n) scratch */
static void sort_keys(uint32_t *keys, uint32_t *tmp, size_t n)
{
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            uint32_t k = keys[i];
            size_t j = i;
            for (; j > 0 && keys[j - 1] > k; j--)
                keys[j] = keys[j - 1];
            keys[j] = k;
        }
        return;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((keys[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            tmp[count[(keys[i] >> shift) & 0xff]++] = keys[i];
        memcpy(keys, tmp, n * sizeof *keys);
    }
}

/* z (c, hw) -> sorted (c, hw), each row descending; keys, tmp (hw) scratch */
static void sort_rows(const float *z, int c, size_t hw, float *sorted, uint32_t *keys,
                      uint32_t *tmp)
{
    for (int ch = 0; ch < c; ch++) {
        const float *row = z + (size_t)ch * hw;
        for (size_t i = 0; i < hw; i++)
            keys[i] = desc_key(row[i]);
        sort_keys(keys, tmp, hw);
        for (size_t i = 0; i < hw; i++) {
            uint32_t u = ~keys[i];
            u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
            memcpy(&sorted[(size_t)ch * hw + i], &u, sizeof u);
        }
    }
}

dpsim_status sort_term(const tap_pair *p, const float *w, int norm, double *out, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w, n = (size_t)p->c * hw;
    float *sa = dp_malloc(2 * n * sizeof(float));      // (2, c, hw): sorted a, sorted b
    uint32_t *keys = dp_malloc(2 * hw * sizeof(uint32_t)); // (2, hw): keys, radix scratch
    if (!sa || !keys) {
        dp_free(sa);
        dp_free(keys);
        return err_set(e, DPSIM_E_NOMEM, "out of memory");
    }
    float *sb = sa + n;
    sort_rows(p->a, p->c, hw, sa, keys, keys + hw);
    sort_rows(p->b, p->c, hw, sb, keys, keys + hw);
    dp_free(keys);
    tap_pair sorted = {sa, sb, p->c, p->h, p->w};
    dpsim_status s = spatial_term(&sorted, w, norm, out, NULL, e);
    dp_free(sa);
    return s;
}
