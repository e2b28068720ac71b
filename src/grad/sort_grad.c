/*
 * sort_grad.c - the sort term with its gradient: each channel's values are
 * sorted in descending order (ties by position, so the permutation is
 * fixed), the sorted maps are compared like the spatial term, and the
 * gradient of each rank goes back to the position it came from.
 */
#include <stdlib.h>

#include "core/alloc.h"
#include "grad/grad.h"

typedef struct ranked {
    double v;
    size_t pos;
} ranked;

static int by_value_desc(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* z (c, hw) -> sorted (c, hw) descending per channel, perm (c, hw): source position;
   tmp (hw) scratch */
static void sort_rows(const double *z, int c, size_t hw, double *sorted, size_t *perm,
                      ranked *tmp)
{
    for (int ch = 0; ch < c; ch++) {
        for (size_t i = 0; i < hw; i++)
            tmp[i] = (ranked){z[(size_t)ch * hw + i], i};
        qsort(tmp, hw, sizeof *tmp, by_value_desc);
        for (size_t r = 0; r < hw; r++) {
            sorted[(size_t)ch * hw + r] = tmp[r].v;
            perm[(size_t)ch * hw + r] = tmp[r].pos;
        }
    }
}

/* g_z (c, hw) += g_sorted scattered back through perm */
static void unsort(const double *g_sorted, const size_t *perm, int c, size_t hw, double *g_z)
{
    for (int ch = 0; ch < c; ch++)
        for (size_t r = 0; r < hw; r++)
            g_z[(size_t)ch * hw + perm[(size_t)ch * hw + r]] += g_sorted[(size_t)ch * hw + r];
}

dpsim_status sort_grad(const dtap_pair *p, const float *w, int norm, double scale,
                       double *value, double *ga, double *gb, errbuf *e)
{
    const size_t hw = (size_t)p->h * p->w, n = (size_t)p->c * hw;
    double *sa = dp_calloc(4 * n, sizeof(double)); // (4, c, hw): sa, sb, g_sa, g_sb
    size_t *perm = dp_malloc(2 * n * sizeof(size_t)); // (2, c, hw): of a, of b
    ranked *tmp = dp_malloc(hw * sizeof(ranked));
    dpsim_status s = DPSIM_OK;
    if (!sa || !perm || !tmp) {
        s = err_set(e, DPSIM_E_NOMEM, "out of memory for a %dx%dx%d sort", p->c, p->h, p->w);
        goto done;
    }
    double *sb = sa + n, *g_sa = sb + n, *g_sb = g_sa + n;
    sort_rows(p->a, p->c, hw, sa, perm, tmp);
    sort_rows(p->b, p->c, hw, sb, perm + n, tmp);
    dtap_pair sorted = {sa, sb, p->c, p->h, p->w, p->workers, NULL, NULL};
    s = spatial_grad(&sorted, w, norm, scale, value, g_sa, g_sb, e);
    if (s == DPSIM_OK && ga)
        unsort(g_sa, perm, p->c, hw, ga);
    if (s == DPSIM_OK && gb)
        unsort(g_sb, perm + n, p->c, hw, gb);
done:
    dp_free(sa);
    dp_free(perm);
    dp_free(tmp);
    return s;
}
