/*
 * manifest.h - reading a CSV manifest of image pairs into a batch.
 */
#ifndef DPSIM_MANIFEST_H
#define DPSIM_MANIFEST_H

#include "batch.h"

/**
 * Read a CSV manifest of pairs: two columns (image A, image B) per line, an
 * optional header line "a,b", RFC 4180 quoting; relative paths are taken
 * from the manifest's folder. Each distinct entry becomes one item. An entry
 * FILE:NAME (when no file has that whole name) is the record NAME of the
 * feature file FILE, checked against b's model like any feature file.
 * @return EXIT_OK or an exit code (reported).
 */
int manifest_add(batch *b, dpsim_ctx *ctx, const char *path);

#endif
