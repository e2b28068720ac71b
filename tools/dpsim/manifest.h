/*
 * manifest.h - reading a CSV manifest of image pairs into a batch.
 */
#ifndef DPSIM_MANIFEST_H
#define DPSIM_MANIFEST_H

#include "batch.h"

/**
 * Read a CSV manifest of pairs: two columns (image A, image B) per line, an
 * optional header line "a,b", RFC 4180 quoting; relative paths are taken
 * from the manifest's folder. Each distinct image becomes one item.
 * @return EXIT_OK or an exit code (reported).
 */
int manifest_add(batch *b, const char *path);

#endif
