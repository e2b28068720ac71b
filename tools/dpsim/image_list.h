/*
 * image_list.h - the images of a folder (sorted by name), decoded, and
 * optionally centre-cropped to a square and resized to N x N.
 */
#ifndef DPSIM_IMAGE_LIST_H
#define DPSIM_IMAGE_LIST_H

#include "cli.h"

typedef struct image_list {
    size_t n;
    dpsim_image **img;
    char **path;
    /* views for dpsim_image_set */
    const float **pixels;
    int *width, *height;
} image_list;

/** Load every image file of dir (size > 0: square size x size). Prints errors. */
int image_list_load_dir(dpsim_ctx *ctx, const char *dir, int size, image_list *out);
/** Append one file (size as above). Returns its index or -1 (error printed). */
long image_list_add(dpsim_ctx *ctx, image_list *l, const char *path, int size);
dpsim_image_set image_list_set(const image_list *l);
void image_list_free(image_list *l);

#endif
