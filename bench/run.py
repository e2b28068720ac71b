#!/usr/bin/python3
"""Benchmark dpsim against the PyTorch reference in the same run and write bench/RESULTS.md.

Both sides compute LPIPS v0.1 with the same weights on the same images. SqueezeNet uses the real
weights; AlexNet and VGG-16 use the pseudo-random trunk of doc/VECTORS.md, which is written as a
safetensors file for dpsim. The runs alternate A/B; each case is repeated and the medians,
minima and maxima are reported, with ratio = PyTorch time / dpsim time (> 1: dpsim is faster).

Usage: /usr/bin/python3 bench/run.py [--build build] [--reps 3] [--quick]
"""
import argparse
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "scripts"))
import lpips_ref  # noqa: E402

PY = "/usr/bin/python3"


def write_safetensors(path, state):
    """A float32 safetensors file of a state dict (features.N.* names)."""
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        data = t.detach().numpy().astype("<f4").tobytes()
        header["features." + name] = {"dtype": "F32", "shape": list(t.shape),
                                      "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run_rss(cmd, env=None):
    """Run a command; returns (wall seconds, peak RSS kB, stdout), RSS from wait4."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError("%s failed with status %d" % (" ".join(cmd), status))
    return wall, ru.ru_maxrss, out.decode()


def stats(xs):
    return statistics.median(xs), min(xs), max(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
    args = ap.parse_args()
    dpsim = os.path.join(args.build, "tools", "dpsim", "dpsim")
    pairs_bin = os.path.join(args.build, "bench", "bench_pairs")
    env = dict(os.environ)
    env.setdefault("DPSIM_WEIGHTS", os.path.join(ROOT, "..", "shared", "weights"))
    trunks = {"squeeze": (None, "real")}
    for net in ("alex", "vgg"):
        path = "/tmp/dpsim-bench-%s.safetensors" % net
        write_safetensors(path, lpips_ref.make_trunk(net, "random:1").state_dict())
        trunks[net] = (path, "random:1")

    rows = []
    # whole process, one pair: CLI vs a python process running the reference
    a, b = os.path.join(ROOT, "examples", "ref.png"), os.path.join(ROOT, "examples", "blur.png")
    for net in ("squeeze", "alex", "vgg"):
        path, spec = trunks[net]
        c_cmd = [dpsim, "compare", "-q", "--net", net, a, b] + (["--trunk", path] if path else [])
        t_cmd = [PY, os.path.join(ROOT, "tools", "scripts", "lpips_ref.py"), a, b, "--net", net,
                 "--trunk", spec]
        c_t, t_t, c_rss, t_rss = [], [], 0, 0
        for _ in range(args.reps):
            w, r, _ = run_rss(c_cmd, env)
            c_t.append(w * 1e3)
            c_rss = max(c_rss, r)
            w, r, _ = run_rss(t_cmd, env)
            t_t.append(w * 1e3)
            t_rss = max(t_rss, r)
        rows.append(("whole process, one 96x80 pair", net, stats(c_t), stats(t_t), c_rss, t_rss))

    sizes = [64, 128] if args.quick else [64, 256, 512]
    for net in ("squeeze", "alex", "vgg"):
        for n in sizes:
            if net == "vgg" and n > 256:
                continue  # the scalar oracle needs minutes per VGG-16 512x512 pair
            path, spec = trunks[net]
            pairs = max(1, min(20, int(2e6 / (n * n))))
            c_cmd = [pairs_bin, net, str(n), str(pairs)] + ([path] if path else [])
            t_cmd = [PY, os.path.join(HERE, "torch_pairs.py"), net, str(n), str(pairs), spec, "2"]
            c_t, t_t, c_rss, t_rss, dists = [], [], 0, 0, []
            for _ in range(args.reps):
                _, r, out = run_rss(c_cmd, env)
                j = json.loads(out)
                c_t.append(j["ms_per_pair"])
                c_rss = max(c_rss, r)
                dists.append(j["distance"])
                _, r, out = run_rss(t_cmd, env)
                j = json.loads(out)
                t_t.append(j["ms_per_pair"])
                t_rss = max(t_rss, r)
                dists.append(j["distance"])
            agree = abs(dists[0] - dists[1]) / abs(dists[1])
            if agree > 1e-5:
                raise RuntimeError("%s %d: dpsim %g vs torch %g" % (net, n, dists[0], dists[1]))
            rows.append(("forward, one pair %dx%d" % (n, n), net, stats(c_t), stats(t_t), c_rss,
                         t_rss))

    cpu = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ver = subprocess.run([dpsim, "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        "Written by `/usr/bin/python3 bench/run.py%s` on %s." % (" --quick" if args.quick else "",
                                                                time.strftime("%Y-%m-%d")),
        "",
        "- Machine: %s, %d cores, %s." % (cpu, os.cpu_count(), platform.platform()),
        "- Versions: %s (scalar reference kernels, one thread); PyTorch %s with %d threads,"
        " numpy %s." % (ver, torch.__version__, 2, np.__version__),
        "- Both sides compute LPIPS v0.1 with the same weights and images; every forward case"
        " checks that the distances agree within 1e-5. There are %d alternating repetitions;"
        " time is the median [min, max] in ms. Ratio = PyTorch / dpsim (> 1: dpsim is faster)."
        % args.reps,
        "",
        "| case | net | dpsim ms | PyTorch ms | ratio | dpsim peak RSS | PyTorch peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, net, c, t, c_rss, t_rss in rows:
        lines.append("| %s | %s | %.1f [%.1f, %.1f] | %.1f [%.1f, %.1f] | %.2f | %.0f MB | %.0f MB |"
                     % (case, net, c[0], c[1], c[2], t[0], t[1], t[2], t[0] / c[0],
                        c_rss / 1024, t_rss / 1024))
    text = "\n".join(lines) + "\n"
    out = os.path.join(HERE, "RESULTS.md")
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
