/*
 * relu.c - rectified linear unit, in place.
 */
#include "nn/nn.h"

void relu_forward(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
