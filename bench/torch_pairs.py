#!/usr/bin/python3
"""The PyTorch side of bench_pairs: LPIPS (tools/scripts/lpips_ref.py, the official
arithmetic on torchvision) on pairs of generated images, model built once.

Pairs are timed in units of BATCH pairs, run as one call on (BATCH,3,n,n) tensors (pair i:
images seeded 2i+1 and 2i+2, as in bench_pairs.c), after WARMUP untimed units. With
--grad each unit is the forward pass and the backward pass of the distances' sum to the
first images. Prints one JSON line like bench_pairs.
Usage: torch_pairs.py NET SIZE UNITS [--trunk real|random:SEED] [--threads 2] [--batch 1]
       [--warmup 1] [--grad]   (trunk default: real for squeeze, random:1 otherwise)
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "scripts"))
import lpips_ref  # noqa: E402


def make_image(n, seed):
    """The same picture as bench_pairs.c's make_image, as a (1,3,n,n) tensor of 2v-1."""
    c, y, x = np.meshgrid(np.arange(3, dtype=np.uint32), np.arange(n, dtype=np.uint32),
                          np.arange(n, dtype=np.uint32), indexing="ij")
    with np.errstate(over="ignore"):
        h = (x * np.uint32(73856093)) ^ (y * np.uint32(19349663)) ^ np.uint32(seed * 83492791) ^ c
        h ^= h >> np.uint32(13)
        h *= np.uint32(0x5bd1e995)
        h ^= h >> np.uint32(15)
    v = (((x * 3 + y * 5 + c * 40) % 192) + (h & 63)).astype(np.float32) / 255.0
    return torch.from_numpy(2.0 * v[None] - 1.0)


def run_unit(model, a, b, grad):
    """Distances of the batch a, b; with grad also d(sum)/da by autograd."""
    if not grad:
        with torch.no_grad():
            return model(a, b)[0]
    a = a.detach().requires_grad_(True)
    d = model(a, b)[0]
    d.sum().backward()
    return d.detach()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("net")
    ap.add_argument("size", type=int)
    ap.add_argument("units", type=int)
    ap.add_argument("--trunk")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--grad", action="store_true")
    args = ap.parse_args()
    trunk = args.trunk or ("real" if args.net == "squeeze" else "random:1")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = lpips_ref.LPIPSRef(net=args.net, version="0.1", lin=True, trunk=trunk)
    load_ms = (time.perf_counter() - t0) * 1e3
    a = torch.cat([make_image(args.size, 2 * i + 1) for i in range(args.batch)])
    b = torch.cat([make_image(args.size, 2 * i + 2) for i in range(args.batch)])
    times = []
    for _ in range(args.warmup + args.units):
        t0 = time.perf_counter()
        d = run_unit(model, a, b, args.grad)
        times.append((time.perf_counter() - t0) * 1e3 / args.batch)
    timed = sorted(times[args.warmup:])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ms_per_pair": timed[len(timed) // 2], "min_ms": timed[0],
                      "max_ms": timed[-1], "load_ms": load_ms, "peak_rss_kb": rss,
                      "distances": [float(x) for x in d]}))


if __name__ == "__main__":
    main()
