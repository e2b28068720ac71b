/*
 * locate.c - where weights files are looked for (SPEC section 5), in order:
 * $DPSIM_WEIGHTS, ~/.cache/dpsim, then (trunks only) the PyTorch hub cache
 * ($TORCH_HOME/hub/checkpoints, else $XDG_CACHE_HOME/torch/..., else
 * ~/.cache/torch/hub/checkpoints). Nothing is ever downloaded here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nets/netdef.h"

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Relative names of a weights file inside $DPSIM_WEIGHTS or ~/.cache/dpsim. */
static int candidates(dpsim_weights_kind kind, const net_def *def, dpsim_lpips_version version,
                      char names[2][128])
{
    if (kind == DPSIM_WEIGHTS_TRUNK) {
        snprintf(names[0], 128, "%s/features.pth", def->torchvision_name);
        snprintf(names[1], 128, "%s", def->official_file);
        return 2;
    }
    if (kind == DPSIM_WEIGHTS_DISTS) {
        snprintf(names[0], 128, "dists/weights.pt");
        return 1;
    }
    snprintf(names[0], 128, "lpips/%s/%s.pth", version == DPSIM_LPIPS_V0_0 ? "v0.0" : "v0.1",
             def->name);
    return 1;
}

static void append(char *list, size_t len, const char *item)
{
    if (!list || len == 0)
        return;
    size_t used = strlen(list);
    snprintf(list + used, len - used, "%s%s", used ? "; " : "", item);
}

static int try_dir(const char *dir, const char *name, char *path, size_t len, char *searched,
                   size_t searched_len)
{
    char candidate[4096];
    snprintf(candidate, sizeof candidate, "%s/%s", dir, name);
    append(searched, searched_len, candidate);
    if (!is_file(candidate))
        return 0;
    if (strlen(candidate) >= len)
        return 0;
    memcpy(path, candidate, strlen(candidate) + 1);
    return 1;
}

static void torch_hub_dir(char *dir, size_t len)
{
    const char *torch_home = getenv("TORCH_HOME"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (torch_home && *torch_home)
        snprintf(dir, len, "%s/hub/checkpoints", torch_home);
    else if (xdg && *xdg)
        snprintf(dir, len, "%s/torch/hub/checkpoints", xdg);
    else if (home && *home)
        snprintf(dir, len, "%s/.cache/torch/hub/checkpoints", home);
    else
        dir[0] = '\0';
}

dpsim_status dpsim_weights_locate(dpsim_weights_kind kind, dpsim_net net,
                                  dpsim_lpips_version version, char *path, size_t len,
                                  char *searched, size_t searched_len)
{
    const net_def *def = net_def_get(net);
    if (!def || !path || (kind != DPSIM_WEIGHTS_TRUNK && kind != DPSIM_WEIGHTS_LIN &&
                 kind != DPSIM_WEIGHTS_DISTS))
        return DPSIM_E_INVAL;
    if (searched && searched_len)
        searched[0] = '\0';
    char names[2][128];
    int n = candidates(kind, def, version, names);

    char dirs[2][4096];
    int n_dirs = 0;
    const char *env = getenv("DPSIM_WEIGHTS"), *home = getenv("HOME");
    if (env && *env)
        snprintf(dirs[n_dirs++], sizeof dirs[0], "%s", env);
    if (home && *home)
        snprintf(dirs[n_dirs++], sizeof dirs[0], "%s/.cache/dpsim", home);
    for (int d = 0; d < n_dirs; d++)
        for (int i = 0; i < n; i++)
            if (try_dir(dirs[d], names[i], path, len, searched, searched_len))
                return DPSIM_OK;
    if (kind == DPSIM_WEIGHTS_TRUNK) {
        char hub[4096];
        torch_hub_dir(hub, sizeof hub);
        if (hub[0] && try_dir(hub, def->official_file, path, len, searched, searched_len))
            return DPSIM_OK;
    }
    return DPSIM_E_NOT_FOUND;
}
