/*
 * relu_backward.c - ReLU gradient: pass where the output is positive. At
 * exactly zero the gradient is zero (PyTorch's threshold_backward rule).
 */
#include "grad/grad.h"

void relu_backward(const float *y, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(y[i] > 0.0f))
            d[i] = 0.0;
}
