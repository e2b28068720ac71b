/*
 * grad.h - deep perceptual loss: the distance and its exact gradient with
 * respect to the input pixels (SPEC section 4), for every net, taps,
 * method, normalisation setting, LPIPS version and the pixel layer that
 * dpsim_model_load accepts. Included by dpsim.h.
 *
 *     double d;  float *g = malloc(3 * w * h * sizeof *g);
 *     dpsim_gradient(ctx, model, x, target, w, h, &d, g, NULL);   // d d / d x
 *     // or, with the target's features extracted once:
 *     dpsim_gradient_to(ctx, model, x, w, h, target_features, &d, g);
 *
 * Gradients are with respect to v in [0,1] ((3, h, w) planar floats, as
 * dpsim_extract takes), through the preprocessing, every trunk layer
 * (convolution, ReLU, max-pool with ceil mode, L2 pooling, fire modules)
 * and the method's term (channel normalisation, spatial mean, sort as the
 * fixed permutation of the forward pass, Gram matrices, DISTS statistics).
 * The terms and their gradients are computed in double from the float32
 * activations of the same forward pass dpsim_extract runs, so the distance
 * equals dpsim_compare's; through the trunk the gradient is float32, the
 * precision its convolutions multiply in.
 *
 * All-zero feature vectors: the reference normalisation z / (|z| + 1e-10)
 * has a 0/0 in its gradient where every channel of a position is zero
 * (the reference LPIPS returns NaN there; the exact derivative is 1e10
 * times the incoming gradient). dpsim takes the normalisation's gradient
 * at such a position as zero, so an all-black or constant image has a
 * finite gradient. Everywhere else the gradient is exact.
 * Ties: max-pool sends a window's gradient to its first maximum (row-major),
 * as PyTorch does; sort ranks equal values by position.
 *
 * Thread safety as for dpsim_compare: one context per thread; the model is
 * shared read-only. Results do not depend on the thread count.
 * Memory: a context keeps the working memory of its last gradients (both
 * images' activations and their gradients, as large as the largest image
 * so far) for the next call; dpsim_ctx_free releases it. A NULL context
 * allocates and frees it in every call.
 */
#ifndef DPSIM_GRAD_H
#define DPSIM_GRAD_H

#include "dpsim/dpsim.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Distance between images a and b and its gradient with respect to either
 * or both.
 * @param a, b     (3, height, width) planar floats in [0,1]; caller-owned.
 * @param distance out: the distance (as dpsim_compare of their features).
 * @param grad_a   NULL, or caller buffer (3, height, width): d distance / d a.
 * @param grad_b   NULL, or caller buffer (3, height, width): d distance / d b.
 * @return DPSIM_OK; DPSIM_E_INVAL (NULL argument, non-finite pixel);
 *   DPSIM_E_SHAPE (image smaller than dpsim_model_min_size); DPSIM_E_LIMIT;
 *   DPSIM_E_NOMEM; DPSIM_E_UNSUPPORTED for a bf16 model (gradients are fp32
 *   only). Outputs are untouched on failure.
 */
DPSIM_API dpsim_status dpsim_gradient(dpsim_ctx *ctx, const dpsim_model *model, const float *a,
                                      const float *b, int width, int height, double *distance,
                                      float *grad_a, float *grad_b);

/**
 * Distance from image a to a fixed target given by its features (extracted
 * once with dpsim_extract by this model, or one that differs only in
 * method or normalisation), and d distance / d a. The cheap form for
 * optimisation loops: only a goes through the net.
 * @param target   features of an image of the same size.
 * @param grad_a   NULL, or caller buffer (3, height, width).
 * @return as dpsim_gradient; DPSIM_E_INVAL for features of another model,
 *   DPSIM_E_SHAPE for another size.
 */
DPSIM_API dpsim_status dpsim_gradient_to(dpsim_ctx *ctx, const dpsim_model *model,
                                         const float *a, int width, int height,
                                         const dpsim_features *target, double *distance,
                                         float *grad_a);

#ifdef __cplusplus
}
#endif

#endif /* DPSIM_GRAD_H */
