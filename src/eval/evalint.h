/*
 * evalint.h - helpers shared by the evaluation files.
 */
#ifndef DPSIM_EVAL_EVALINT_H
#define DPSIM_EVAL_EVALINT_H

#include <stddef.h>

#include "dpsim/dpsim.h"

/**
 * Indices 0..n-1 ordered by d ascending, ties in index order (stable).
 * *out (n) is freed with dp_free. @return DPSIM_OK or DPSIM_E_NOMEM.
 */
dpsim_status order_by_value(const double *d, size_t n, size_t **out);

#endif
