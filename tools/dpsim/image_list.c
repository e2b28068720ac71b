/*
 * image_list.c - a folder of images for dpsim adapt (see image_list.h).
 */
#include "image_list.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_image_name(const char *name)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; name[0] != '.' && dot && i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* square crop then resize to size x size; replaces *img */
static dpsim_status to_square(dpsim_ctx *ctx, dpsim_image **img, int size)
{
    int side = (*img)->width < (*img)->height ? (*img)->width : (*img)->height;
    dpsim_image *crop, *res;
    dpsim_status s = dpsim_image_crop_center(ctx, *img, side, side, &crop);
    if (s != DPSIM_OK)
        return s;
    s = dpsim_image_resize(ctx, crop, size, size, &res);
    dpsim_image_free(crop);
    if (s == DPSIM_OK) {
        dpsim_image_free(*img);
        *img = res;
    }
    return s;
}

static int grow(image_list *l)
{
    size_t n = l->n + 1;
    dpsim_image **img = realloc(l->img, n * sizeof *img);
    if (img)
        l->img = img;
    char **path = img ? realloc(l->path, n * sizeof *path) : NULL;
    if (path)
        l->path = path;
    const float **px = path ? realloc(l->pixels, n * sizeof *px) : NULL;
    if (px)
        l->pixels = px;
    int *w = px ? realloc(l->width, n * sizeof *w) : NULL;
    if (w)
        l->width = w;
    int *h = w ? realloc(l->height, n * sizeof *h) : NULL;
    if (h)
        l->height = h;
    return h != NULL;
}

long image_list_add(dpsim_ctx *ctx, image_list *l, const char *path, int size)
{
    dpsim_image *img;
    dpsim_status s = dpsim_image_read(ctx, path, &img);
    if (s == DPSIM_OK && size > 0 && (s = to_square(ctx, &img, size)) != DPSIM_OK)
        dpsim_image_free(img);
    if (s != DPSIM_OK) {
        cli_fail(ctx, s, path);
        return -1;
    }
    char *copy = strdup(path);
    if (!copy || !grow(l)) {
        free(copy);
        dpsim_image_free(img);
        cli_error("out of memory");
        return -1;
    }
    l->img[l->n] = img;
    l->path[l->n] = copy;
    l->pixels[l->n] = img->pixels;
    l->width[l->n] = img->width;
    l->height[l->n] = img->height;
    return (long)l->n++;
}

int image_list_load_dir(dpsim_ctx *ctx, const char *dir, int size, image_list *out)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("folder '%s': cannot open it", dir);
        return EXIT_DATA;
    }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *ent; (ent = readdir(d));) {
        if (!is_image_name(ent->d_name))
            continue;
        char **grown = realloc(names, (n + 1) * sizeof *names);
        if (!grown || !(grown[n] = strdup(ent->d_name))) {
            names = grown ? grown : names;
            break;
        }
        names = grown;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    int rc = EXIT_OK;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (image_list_add(ctx, out, path, size) < 0)
            rc = EXIT_DATA;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == EXIT_OK && out->n == 0) {
        cli_error("folder '%s': no images (png, jpg, jpeg, bmp, gif, webp)", dir);
        rc = EXIT_DATA;
    }
    if (rc != EXIT_OK)
        image_list_free(out);
    return rc;
}

dpsim_image_set image_list_set(const image_list *l)
{
    dpsim_image_set s = {l->n, l->pixels, l->width, l->height};
    return s;
}

void image_list_free(image_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        dpsim_image_free(l->img[i]);
        free(l->path[i]);
    }
    free(l->img);
    free(l->path);
    free(l->pixels);
    free(l->width);
    free(l->height);
    memset(l, 0, sizeof *l);
}
