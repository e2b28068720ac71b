#!/usr/bin/python3
"""The PyTorch side of bench_pairs: LPIPS (tools/scripts/lpips_ref.py, the official
arithmetic on torchvision) on pairs of generated images, model built once.
Prints one JSON line like bench_pairs. Usage: torch_pairs.py NET SIZE PAIRS [TRUNK] [THREADS]
TRUNK: real | random:SEED (default real for squeeze, random:1 otherwise)."""
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


def main():
    net, n, pairs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    trunk = sys.argv[4] if len(sys.argv) > 4 else ("real" if net == "squeeze" else "random:1")
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    t0 = time.perf_counter()
    model = lpips_ref.LPIPSRef(net=net, version="0.1", lin=True, trunk=trunk)
    load_ms = (time.perf_counter() - t0) * 1e3
    a, b = make_image(n, 1), make_image(n, 2)
    times = []
    with torch.no_grad():
        for i in range(pairs + 1):  # pair 0 is the warm-up
            t0 = time.perf_counter()
            d, _, _ = model(a, b)
            times.append((time.perf_counter() - t0) * 1e3)
    timed = sorted(times[1:])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ms_per_pair": timed[len(timed) // 2], "min_ms": timed[0],
                      "max_ms": timed[-1], "load_ms": load_ms, "peak_rss_kb": rss,
                      "distance": float(d[0])}))


if __name__ == "__main__":
    main()
