/*
 * probe.h - the generated image sets of `dpsim probe` (SPEC section 9).
 * All images are (3, PROBE_SIDE, PROBE_SIDE) planar floats in [0,1].
 */
#ifndef DPSIM_PROBE_H
#define DPSIM_PROBE_H

#include <stdint.h>

#define PROBE_SIDE 64
#define PROBE_PIXELS (3 * PROBE_SIDE * PROBE_SIDE)
#define PROBE_N_REFS 7
#define PROBE_N_INVERT 11
#define PROBE_N_TRANSLATE 5
#define PROBE_N_SCENES 6
#define PROBE_N_ANGLES 5 /* 22.5, 45, 67.5, 90, 180 degrees */
#define PROBE_N_ROTATE (PROBE_N_SCENES * PROBE_N_ANGLES)
#define PROBE_N_STAIN 5

typedef struct probe_sets {
    float refs[PROBE_N_REFS][PROBE_PIXELS];              /* black gray white red green blue noise */
    const char *ref_names[PROBE_N_REFS];
    float invert[PROBE_N_INVERT][2][PROBE_PIXELS];       /* pattern, its inversion */
    float translate[PROBE_N_TRANSLATE][2][PROBE_PIXELS]; /* patch, patch moved */
    float rotate[PROBE_N_SCENES][1 + PROBE_N_ANGLES][PROBE_PIXELS]; /* scene, its rotations */
    float stain[PROBE_N_STAIN][3][PROBE_PIXELS];         /* original, stained/recoloured, other content */
} probe_sets;

/** Fill every set (about 2 MB; allocate it on the heap). */
void probe_build(probe_sets *p);

#endif
