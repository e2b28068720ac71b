#!/usr/bin/python3
"""Benchmark dpsim against the PyTorch reference in the same run and write bench/RESULTS.md.

Both sides compute LPIPS v0.1 with the same weights on the same images. SqueezeNet uses the real
weights; AlexNet and VGG-16 use the pseudo-random trunk of doc/VECTORS.md, which is written as a
safetensors file for dpsim. The runs alternate A/B; each case is repeated and the medians,
minima and maxima are reported, with ratio = PyTorch time / dpsim time (> 1: dpsim is faster).
Every distance both sides print is checked to agree within 1e-5 relative.

Cases: the whole process on one pair (CLI), with the trunk file above and (AlexNet, VGG-16)
with a whole torchvision model saved the way torchvision's files are (legacy format, classifier
included, both sides loading it); forward pairs, one pair at a time and batched, per
net and size; forward + backward (the gradient to the first image); a 2AFC evaluation and all
pairs of a set of images, both on generated 64x64 images. Forward cases also give dpsim's
GFLOP/s against the fp32 peak that bench/peak_flops measures. Peak RSS of every process is
taken by bench/rss_run.

Usage: /usr/bin/python3 bench/run.py [--build build] [--reps 3] [--quick]
"""
import argparse
import collections
import csv
import functools
import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "scripts"))
import lpips_ref  # noqa: E402

PY = "/usr/bin/python3"
LPIPS_REF = os.path.join(ROOT, "tools", "scripts", "lpips_ref.py")
TORCH_PAIRS = os.path.join(HERE, "torch_pairs.py")
TORCH_SETS = os.path.join(HERE, "torch_sets.py")
NETS = ("squeeze", "alex", "vgg")
THREADS = 2          # dpsim's pool (bench_pairs) and PyTorch's intra-op threads
CLI_THREADS = "CLI default"  # dpsim CLI cases pass no thread option
TOLERANCE = 1e-5     # relative agreement of every distance pair
BF16_TOLERANCE = 0.01  # the same for the opt-in bf16 rows (doc/PRECISION.md: measured <= 0.23%)
UNIT_GFLOP = 40      # in-process cases: timed units per run ~ this many GFLOP, 1 to 20 units
HEAVY_GFLOP = 200    # units this large (seconds each) run without an untimed unit before them

FULL = {"sizes": [64, 256, 512, 1024], "batch": {64: 8, 256: 4, 512: 2, 1024: 2},
        "grad_size": 256, "triplets": 256, "set_images": 64, "set_size": 64}
QUICK = {"sizes": [32, 64], "batch": {32: 2, 64: 2},
         "grad_size": 64, "triplets": 8, "set_images": 8, "set_size": 64}


# ----------------------------------------------------------------------------------------
# Running and timing

def wall_per(count):
    """A value function: wall time divided by the number of items the run did."""
    return lambda wall_ms, out: wall_ms / count


def json_ms(wall_ms, out):
    return json.loads(out)["ms_per_pair"]


def check_agree(label, dpsim, torch_, tolerance=TOLERANCE):
    """Raise unless the two lists of distances agree pairwise within tolerance (relative)."""
    if len(dpsim) != len(torch_) or not dpsim:
        raise RuntimeError("%s: %d dpsim distances vs %d PyTorch"
                           % (label, len(dpsim), len(torch_)))
    for c, t in zip(dpsim, torch_):
        if abs(c - t) > tolerance * max(abs(t), 1e-30):
            raise RuntimeError("%s: dpsim %.9g vs PyTorch %.9g" % (label, c, t))


def make_row(key, case, net, unit, sides, threads, flops=None):
    """One result row; flops: convolution FLOPs per unit (forward cases)."""
    c, t = sides
    return {"key": key, "case": case, "net": net, "unit": unit, "threads": threads,
            "c": stats(c["times"]), "t": stats(t["times"]), "c_rss": c["rss"],
            "t_rss": t["rss"], "flops": flops}


def stats(xs):
    return statistics.median(xs), min(xs), max(xs)


# ----------------------------------------------------------------------------------------
# Convolution FLOPs

@functools.lru_cache(maxsize=None)
def features(net):
    return lpips_ref._TV[net]().features


def conv_cost(conv, h, w):
    """(FLOPs, Ho, Wo) of a Conv2d on an h x w input: 2 * Cout * Cin/groups * kh * kw * Ho * Wo."""
    (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
    (ph, pw), (dh, dw) = conv.padding, conv.dilation
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    return 2 * conv.out_channels * conv.in_channels // conv.groups * kh * kw * ho * wo, ho, wo


def pool_out(pool, n):
    """Output size of a MaxPool2d (square kernel, PyTorch's ceil_mode rule)."""
    span = n + 2 * pool.padding - pool.kernel_size
    out = (-(-span // pool.stride) if pool.ceil_mode else span // pool.stride) + 1
    if pool.ceil_mode and (out - 1) * pool.stride >= n + pool.padding:
        out -= 1
    return out


WINO_KEEP_BYTES = 8 << 20  # WINO_KEEP_FLOATS in src/fast/conv_wino.h, in bytes
WINO_SKEW = 16             # floats between two of the 16 elements (SKEW in conv_wino.c)


def wino_bytes(conv, h, w):
    """float32 bytes of a Conv2d's Winograd weights in dpsim when it runs Winograd on an
    h x w input (the rule of conv_wino_wins in src/fast/conv_wino.c: 3x3 or 5x5, stride 1,
    at least 64 channels each way, at most 512x512 channel pairs, a 5x5's input channels
    counting 4 times, and at least 64 tiles of 2x2 outputs); 0 otherwise. Up to
    WINO_KEEP_BYTES they are kept once made, larger ones made again on each call."""
    groups = {3: 1, 5: 2}.get(conv.kernel_size[0], 0)
    _, ho, wo = conv_cost(conv, h, w)
    channels = conv.in_channels * groups * groups
    wins = (groups and conv.stride == (1, 1) and conv.in_channels >= 64
            and conv.out_channels >= 64 and channels * conv.out_channels <= 512 * 512
            and -(-ho // 2) * -(-wo // 2) >= 64)
    return 4 * 16 * (channels * conv.out_channels + WINO_SKEW) if wins else 0


Costs = collections.namedtuple(
    "Costs", "flops wino_flops acts largest_act weights taps wino_kept wino_call")

# Multiply-adds per 2x2 outputs, direct against Winograd's (conv_wino.c): 3x3 36 against 16,
# 5x5 (2x2 groups of 3x3) 100 against 64
WINO_FEWER = {3: 36 / 16, 5: 100 / 64}


def least_flops(conv, h, w):
    """A Conv2d's FLOPs on an h x w input as dpsim runs it: direct, or divided by Winograd's
    saving where it runs Winograd."""
    cost = conv_cost(conv, h, w)[0]
    return cost / WINO_FEWER[conv.kernel_size[0]] if wino_bytes(conv, h, w) else cost


@functools.lru_cache(maxsize=None)
def net_costs(net, h, w):
    """Costs of one h x w image through the net up to its last LPIPS tap: convolution FLOPs,
    the same with Winograd's fewer multiply-adds where dpsim runs it, float32 bytes of every
    layer's output (a ReLU's output counted with its convolution's) and of the largest, of
    the weights, of the LPIPS taps, of the Winograd weights dpsim keeps, and of the largest
    it makes on each call (the buffer they are made in)."""
    taps = lpips_ref.DEFAULT_TAPS[net]
    flops = wino_flops = act_bytes = largest = weight_bytes = tap_bytes = channels = 0
    wino = []
    for i, layer in enumerate(features(net)[:taps[-1] + 1]):
        if isinstance(layer, torchvision.models.squeezenet.Fire):
            # squeeze 1x1, then expand 1x1 and 3x3 (padding 1): all keep h x w
            convs = (layer.squeeze, layer.expand1x1, layer.expand3x3)
            flops += sum(conv_cost(c, h, w)[0] for c in convs)
            wino_flops += sum(least_flops(c, h, w) for c in convs)
            wino.append(wino_bytes(layer.expand3x3, h, w))
            channels = layer.expand1x1.out_channels + layer.expand3x3.out_channels
            act_bytes += 4 * (layer.squeeze.out_channels + channels) * h * w
            largest = max(largest, 4 * channels * h * w)
            weight_bytes += 4 * sum(p.numel() for c in convs for p in c.parameters())
        elif isinstance(layer, torch.nn.Conv2d):
            wino.append(wino_bytes(layer, h, w))
            wino_flops += least_flops(layer, h, w)
            cost, h, w = conv_cost(layer, h, w)
            flops, channels = flops + cost, layer.out_channels
            act_bytes += 4 * channels * h * w
            largest = max(largest, 4 * channels * h * w)
            weight_bytes += 4 * sum(p.numel() for p in layer.parameters())
        elif isinstance(layer, torch.nn.MaxPool2d):
            h, w = pool_out(layer, h), pool_out(layer, w)
            act_bytes += 4 * channels * h * w
        if i in taps:
            tap_bytes += 4 * channels * h * w
    kept = sum(b for b in wino if b <= WINO_KEEP_BYTES)
    made = max([b for b in wino if b > WINO_KEEP_BYTES], default=0)
    return Costs(flops, wino_flops, act_bytes, largest, weight_bytes, tap_bytes, kept, made)


def conv_flops(net, n):
    """Convolution FLOPs of one n x n image through the net up to its last LPIPS tap."""
    return net_costs(net, n, n)[0]


# ----------------------------------------------------------------------------------------
# Inputs

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


def noisy(img, rng, amp):
    noise = rng.integers(-amp, amp + 1, img.shape)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def make_2afc(cat, count, n):
    """A 2AFC category of generated n x n triplets (noise of varying strength on p0 and p1,
    a random judgment), and pairs.csv listing the 2*count pairs (ref,p0), (ref,p1)."""
    for sub in ("ref", "p0", "p1", "judge"):
        os.makedirs(os.path.join(cat, sub))
    rng = np.random.default_rng(1)
    with open(os.path.join(cat, "pairs.csv"), "w") as manifest:
        for i in range(count):
            name = "%04d" % i
            ref = lpips_ref.gen_image(i + 1, n, n)
            images = {"ref": ref, "p0": noisy(ref, rng, 16 + i % 33),
                      "p1": noisy(ref, rng, 16 + i * 7 % 33)}
            for sub, img in images.items():
                Image.fromarray(img).save(os.path.join(cat, sub, name + ".png"))
            np.save(os.path.join(cat, "judge", name + ".npy"), np.array([rng.random()], np.float32))
            manifest.write("ref/%s.png,p0/%s.png\nref/%s.png,p1/%s.png\n" % ((name,) * 4))


def make_set(folder, count, n):
    """count generated n x n PNG images."""
    os.makedirs(folder)
    for i in range(count):
        img = lpips_ref.gen_image(1000 + i, n, n)
        Image.fromarray(img).save(os.path.join(folder, "%04d.png" % i))


# ----------------------------------------------------------------------------------------
# Cases

class Bench:
    """Paths, environment, repetitions and per-net trunk arguments of one run."""

    def __init__(self, args, tmp):
        self.dpsim = os.path.join(args.build, "tools", "dpsim", "dpsim")
        self.pairs_bin = os.path.join(args.build, "bench", "bench_pairs")
        self.peak_bin = os.path.join(args.build, "bench", "peak_flops")
        self.rss_run = os.path.join(args.build, "bench", "rss_run")
        self.reps, self.quick, self.tmp = args.reps, args.quick, tmp
        # a single dpsim process is short, and this machine's noise moved its median by
        # 50-80% between runs of 3 (VGG-16: 119, 153 and 186 ms): more runs for those rows
        self.whole_reps = max(args.reps, WHOLE_MIN_REPS) if not args.quick else args.reps
        self.cfg = QUICK if args.quick else FULL
        self.env = dict(os.environ)
        self.env.setdefault("DPSIM_WEIGHTS", os.path.join(ROOT, "..", "shared", "weights"))
        self.trunk_file, self.trunk_spec = {"squeeze": None}, {"squeeze": "real"}
        self.full_file = {}
        for net in ("alex", "vgg"):
            path = os.path.join(tmp, "%s.safetensors" % net)
            write_safetensors(path, lpips_ref.make_trunk(net, "random:1").state_dict())
            self.trunk_file[net], self.trunk_spec[net] = path, "random:1"
            self.full_file[net] = os.path.join(tmp, "%s-full.pth" % net)
            torch.manual_seed(1)
            torch.save(lpips_ref._TV[net]().state_dict(), self.full_file[net],
                       _use_new_zipfile_serialization=False)

    def run(self, cmd):
        """Run a command under rss_run; returns (wall seconds, peak RSS kB, stdout). The RSS
        is the command's own (see rss_run.c for why it is not taken straight from here)."""
        t0 = time.perf_counter()
        p = subprocess.run([self.rss_run] + cmd, capture_output=True, env=self.env)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("%s failed with status %d: %s" % (" ".join(cmd), p.returncode,
                                                                 p.stderr.decode()[-2000:]))
        return wall, int(p.stderr.decode().split()[-1]), p.stdout.decode()

    def ab(self, cmds, value, warmup, reps=None):
        """Run the dpsim and the PyTorch command alternately, reps (default self.reps) times
        each, after one untimed run of each if warmup. value(wall_ms, stdout) is a run's time.
        Returns per side a dict: times (one per timed run), rss (peak kB of all runs), out
        (last stdout)."""
        sides = [{"times": [], "rss": 0, "out": ""} for _ in cmds]
        for rep in range((reps or self.reps) + warmup):
            for side, cmd in zip(sides, cmds):
                wall, rss, out = self.run(cmd)
                side["rss"], side["out"] = max(side["rss"], rss), out
                if rep >= warmup:
                    side["times"].append(value(wall * 1e3, out))
        return sides

    def c_trunk(self, net, flag=None):
        """dpsim's trunk argument for net ([flag, file], or [file] without a flag); [] for
        SqueezeNet, whose real weights dpsim finds in $DPSIM_WEIGHTS."""
        path = self.trunk_file[net]
        if not path:
            return []
        return [flag, path] if flag else [path]

    def units(self, gflop_per_unit):
        return 1 if self.quick else max(1, min(20, int(UNIT_GFLOP / gflop_per_unit)))


def first_float(out):
    return float(out.split()[0])


def load_ms(b, net, trunk):
    """dpsim's model load alone, in-process (bench_pairs' load_ms, least of LOAD_REPS runs):
    what a whole process spends on its weights before any pixel."""
    cmd = [b.pairs_bin, "-t", str(THREADS), "-w", "0", net, "64", "1"] + trunk
    return min(json.loads(b.run(cmd)[2])["load_ms"] for _ in range(LOAD_REPS))


def whole_process(b, net):
    """CLI wall time on one pair vs a python process running the reference on it."""
    a, im = os.path.join(ROOT, "examples", "ref.png"), os.path.join(ROOT, "examples", "blur.png")
    c_cmd = [b.dpsim, "compare", "-q", "--net", net, a, im] + b.c_trunk(net, "--trunk")
    t_cmd = [PY, LPIPS_REF, a, im, "--net", net, "--trunk", b.trunk_spec[net]]
    sides = b.ab([c_cmd, t_cmd], wall_per(1), warmup=1, reps=b.whole_reps)
    check_agree("whole process %s" % net, [first_float(sides[0]["out"])],
                [first_float(sides[1]["out"])])
    row = make_row(("whole", net), "whole process, one 96x80 pair (CLI)", net, "pair", sides,
                   (CLI_THREADS, torch.get_num_threads()))
    row["load_ms"] = load_ms(b, net, b.c_trunk(net))
    return row


def whole_checkpoint(b, net):
    """whole_process with a torchvision checkpoint (the whole model, classifier included) as the
    trunk file of both sides."""
    a, im = os.path.join(ROOT, "examples", "ref.png"), os.path.join(ROOT, "examples", "blur.png")
    path = b.full_file[net]
    c_cmd = [b.dpsim, "compare", "-q", "--net", net, a, im, "--trunk", path]
    t_cmd = [PY, LPIPS_REF, a, im, "--net", net, "--trunk", path]
    sides = b.ab([c_cmd, t_cmd], wall_per(1), warmup=1, reps=b.whole_reps)
    check_agree("whole process, checkpoint %s" % net, [first_float(sides[0]["out"])],
                [first_float(sides[1]["out"])])
    mb = os.path.getsize(path) / 2**20
    row = make_row(("whole_tv", net), "whole process, one 96x80 pair, torchvision checkpoint"
                   " of %.0f MB (CLI)" % mb, net, "pair", sides,
                   (CLI_THREADS, torch.get_num_threads()))
    row["load_ms"] = load_ms(b, net, [path])
    return row


def has_bf16():
    """Whether this CPU has AVX512-BF16 (what dpsim's opt-in bf16 precision needs)."""
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512_bf16" in f.read()
    except OSError:
        return False


def pairs(b, net, n, batch, grad, precision="fp32"):
    """bench_pairs vs torch_pairs: forward (or forward + backward) in units of batch pairs.
    precision "bf16": dpsim's opt-in bf16 mode against the same PyTorch fp32 reference; its
    rows are keyed ("fwd-bf16", ...), shown in the table, never judged as targets."""
    flops = 2 * conv_flops(net, n)  # both images of a pair
    gflop = flops * batch * (2 if grad else 1) / 1e9  # a unit's; backward ~ twice a forward
    units, warmup = b.units(gflop), str(int(b.quick or gflop < HEAVY_GFLOP))
    c_cmd = [b.pairs_bin, "-t", str(THREADS), "-b", str(batch), "-w", warmup] + \
        (["-g"] if grad else []) + ["-p", precision, net, str(n), str(units)] + b.c_trunk(net)
    t_cmd = [PY, TORCH_PAIRS, net, str(n), str(units), "--trunk", b.trunk_spec[net],
             "--threads", str(THREADS), "--batch", str(batch), "--warmup", warmup] + \
        (["--grad"] if grad else [])
    sides = b.ab([c_cmd, t_cmd], json_ms, warmup=0)
    kind = "forward + backward" if grad else "forward"
    how = "one pair per call" if batch == 1 else "batches of %d pairs" % batch
    case = "%s %dx%d, %s" % (kind, n, n, how)
    tolerance = TOLERANCE
    if precision != "fp32":
        case += ", %s (opt-in; not a target)" % precision
        tolerance = BF16_TOLERANCE
    check_agree("%s %s" % (case, net), *[json.loads(s["out"])["distances"] for s in sides],
                tolerance=tolerance)
    key = ("grad" if grad else "fwd" if precision == "fp32" else "fwd-" + precision, net, n, batch)
    return make_row(key, case, net, "pair", sides, (THREADS, THREADS), None if grad else flops)


def two_afc(b):
    """dpsim eval 2afc vs the reference per triplet, whole process, on a generated category."""
    count, n, net = b.cfg["triplets"], b.cfg["set_size"], "squeeze"
    cat = os.path.join(b.tmp, "2afc")
    make_2afc(cat, count, n)
    c_cmd = [b.dpsim, "eval", "2afc", "--json", "-q", "--net", net, cat]
    t_cmd = [PY, TORCH_SETS, "2afc", cat, net, "--threads", str(THREADS)]
    sides = b.ab([c_cmd, t_cmd], wall_per(count), warmup=1)
    c_score = json.loads(sides[0]["out"])["overall"]
    t_out = json.loads(sides[1]["out"])
    if abs(c_score - t_out["score"]) > 0.005 + 1e-9:  # dpsim prints 2 decimals
        raise RuntimeError("2AFC score: dpsim %.2f vs PyTorch %.4f" % (c_score, t_out["score"]))
    check_cmd = [b.dpsim, "compare", "--csv", "-q", "--net", net, "--pairs",
                 os.path.join(cat, "pairs.csv")]  # untimed: eval prints no distances
    check_agree("2AFC distances", csv_distances(b.run(check_cmd)[2]), t_out["distances"])
    case = "2AFC, %d triplets %dx%d, whole process (dpsim eval)" % (count, n, n)
    return make_row(("2afc", net), case, net, "triplet", sides, (CLI_THREADS, THREADS))


def all_pairs(b):
    """dpsim compare --all-pairs vs every pair through the reference, whole process."""
    count, n, net = b.cfg["set_images"], b.cfg["set_size"], "squeeze"
    folder = os.path.join(b.tmp, "set")
    make_set(folder, count, n)
    c_cmd = [b.dpsim, "compare", "--csv", "-q", "--net", net, "--all-pairs", folder]
    t_cmd = [PY, TORCH_SETS, "all-pairs", folder, net, "--threads", str(THREADS)]
    sides = b.ab([c_cmd, t_cmd], wall_per(1), warmup=1)
    check_agree("all pairs", csv_distances(sides[0]["out"]),
                json.loads(sides[1]["out"])["distances"])
    case = "all %d pairs of %d images %dx%d, whole process (compare --all-pairs)" % (
        count * (count - 1) // 2, count, n, n)
    return make_row(("allpairs", net, count), case, net, "run", sides, (CLI_THREADS, THREADS))


def csv_distances(text):
    return [float(r["distance"]) for r in csv.DictReader(text.splitlines())]


def all_cases(b):
    """Yield the cases as thunks, in the order they run."""
    for net in NETS:
        yield functools.partial(whole_process, b, net)
    for net in ("alex", "vgg"):
        yield functools.partial(whole_checkpoint, b, net)
    for net in NETS:
        for n in b.cfg["sizes"]:
            for batch in (1, b.cfg["batch"][n]):
                yield functools.partial(pairs, b, net, n, batch, False)
    if has_bf16():  # opt-in bf16 rows: 64x64 batched and 256x256 one pair (--quick: 64 only)
        for net in ("alex", "vgg"):
            for n, batch in ((64, b.cfg["batch"][64]), (256, 1))[:1 if b.quick else 2]:
                yield functools.partial(pairs, b, net, n, batch, False, "bf16")
    for net in NETS:
        yield functools.partial(pairs, b, net, b.cfg["grad_size"], 1, True)
    yield functools.partial(two_afc, b)
    yield functools.partial(all_pairs, b)


# ----------------------------------------------------------------------------------------
# Machine facts

def peak_gflops(b):
    """The best of reps peak_flops runs: {"isa", "gflops_1t", "gflops_2t"}."""
    runs = [json.loads(b.run([b.peak_bin, "1"])[2]) for _ in range(max(1, b.reps))]
    return max(runs, key=lambda r: r["gflops_2t"])


def dpsim_isa():
    """The kernel level dpsim uses, decided as src/fast/isa.c does: the best the CPU has,
    lowered by $DPSIM_ISA when that names a lower one."""
    flags = set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    levels = ["scalar", "avx2", "avx512"]
    best = 2 if "avx512f" in flags else 1 if {"avx2", "fma"} <= flags else 0
    want = os.environ.get("DPSIM_ISA")
    return levels[min(best, levels.index(want))] if want in levels else levels[best]


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def torch_build():
    """PyTorch's BLAS and CPU capability lines from its build configuration."""
    cfg = torch.__config__.show()
    blas = next((p.split("=", 1)[1] for p in cfg.replace(",", " ").split()
                 if p.startswith("BLAS_INFO=")), "?")
    cap = next((l.split(":", 1)[1].strip() for l in cfg.splitlines() if "CPU capability" in l), "?")
    return "BLAS %s, oneDNN %s, CPU capability %s" % (
        blas, "on" if torch.backends.mkldnn.is_available() else "off", cap)


# ----------------------------------------------------------------------------------------
# Targets

def ratio(r):
    return r["t"][0] / r["c"][0]


def gflops(r):
    return r["flops"] / (r["c"][0] / 1e3) / 1e9


def rate(ms):
    return 1e3 / ms


WHOLE_MIN_REPS = 7  # timed runs per side of the single-pair whole-process cases, at least
LOAD_REPS = 5  # in-process model loads measured per whole-process case (its bound)
WHOLE_PAIR = (80, 96)  # height, width of examples/ref.png and blur.png (whole-process cases)


def speed_bound(r, need, peak):
    """Why a ratio target may be out of reach, from the row's own figures: what the target
    asks of dpsim against the fp32 peak ("" when nothing bounds it)."""
    fp32 = peak["gflops_%dt" % THREADS]
    if r["key"][0] in ("whole", "whole_tv"):
        c = net_costs(r["net"], *WHOLE_PAIR)
        conv_ms = 2 * c.wino_flops / fp32 / 1e6
        return ("loading the weights takes %.0f ms in-process (least of %d) and the pair's"
                " convolutions (%.1f GFLOP; %.1f with Winograd's fewer multiply-adds where"
                " dpsim runs it) %.0f ms at the fp32 peak: %.0f ms, where %gx allows %.0f ms"
                " for the whole process" % (
                    r["load_ms"], LOAD_REPS, 2 * c.flops / 1e9, 2 * c.wino_flops / 1e9,
                    conv_ms, r["load_ms"] + conv_ms, need, r["t"][0] / need))
    if r["flops"]:
        torch_share = r["flops"] / (r["t"][0] / 1e3) / 1e9 / fp32
        why = "PyTorch runs at %.0f%% of the fp32 peak: %gx asks %.0f%% of it" % (
            100 * torch_share, need, 100 * need * torch_share)
        if r["key"][0] == "fwd":
            c = net_costs(r["net"], r["key"][2], r["key"][2])
            if c.wino_flops < c.flops:
                why += (", %.0f%% counting Winograd's fewer multiply-adds where dpsim runs it"
                        % (100 * need * torch_share * c.wino_flops / c.flops))
        return why
    return ""


def speed_target(need):
    """A target on the ratio: (figure, met, why not) of a row."""
    def judge(r, peak):
        met = ratio(r) >= need
        # 3 decimals where 2 would round a miss up to the target
        digits = 2 if met or round(ratio(r), 2) < need else 3
        return ("%.*fx (%.3g vs %.3g %ss/s)" % (digits, ratio(r), rate(r["c"][0]),
                                                  rate(r["t"][0]), r["unit"]), met,
                "" if met else speed_bound(r, need, peak))
    return judge


def peak_target(share):
    """A target on dpsim's GFLOP/s as a share of the peak on as many threads."""
    def judge(r, peak):
        got = gflops(r) / peak["gflops_%dt" % r["threads"][0]]
        return "%.1f GFLOP/s = %.0f%% of peak" % (gflops(r), 100 * got), got >= share, ""
    return judge


def batch_of(cfg, n):
    return cfg["batch"].get(n, FULL["batch"][n])


def targets(cfg):
    """[(target, row key, judge)]: the issue's targets."""
    out = [("whole process >= 50x", ("whole", net), speed_target(50)) for net in NETS]
    out += [("whole process >= 50x", ("whole_tv", net), speed_target(50))
            for net in ("alex", "vgg")]
    out += [("64x64 batched forward >= 2x", ("fwd", net, 64, batch_of(cfg, 64)), speed_target(2))
            for net in NETS]
    out.append(("2AFC >= 3x", ("2afc", "squeeze"), speed_target(3)))
    out += [("%dx%d forward >= 1.3x" % (n, n), ("fwd", net, n, batch), speed_target(1.3))
            for n in (256, 512) for net in NETS for batch in (1, batch_of(cfg, n))]
    out += [(">= 80%% of peak on large convolutions (VGG-16 %dx%d, whole forward: a lower"
             " bound)" % (n, n), ("fwd", "vgg", n, batch), peak_target(0.8))
            for n in (256, 512) for batch in (1, batch_of(cfg, n))]
    out += [("forward + backward 256x256 >= 1.3x", ("grad", net, 256, 1), speed_target(1.3))
            for net in NETS]
    out.append(("all pairs of 64 images >= 20x", ("allpairs", "squeeze", 64), speed_target(20)))
    return out


def rss_bound(r):
    """What a peak RSS ratio must hold, against a quarter of PyTorch's peak: the weights,
    packed (small inputs run direct), the Winograd weights kept and the buffer the larger
    ones are made in; for a backward, also the kept ones rearranged for it, the taps of
    both images (the terms read them), the first image's tap gradients, and the gradients
    into and out of its largest layer."""
    if r["key"][0] not in ("fwd", "grad"):
        return ""
    _, net, n, batch = r["key"]
    c = net_costs(net, n, n)
    quarter = r["t_rss"] / 1024 / 4
    grad = r["key"][0] == "grad"
    kept = c.wino_kept * (2 if grad else 1)
    held = c.weights + kept + c.wino_call + (3 * c.taps + 2 * c.largest_act if grad else 0)
    parts = ["the weights packed (%.0f MB)" % (c.weights / 2**20),
             "Winograd's kept (%.0f MB%s)" % (kept / 2**20,
                                               ", and rearranged for the backward" if grad
                                               else "")]
    if c.wino_call:
        parts.append("the buffer its larger ones are made in (%.0f MB)" % (c.wino_call / 2**20))
    if grad:
        parts.append("the taps of the 2 images and the first one's tap gradients (%.0f MB)"
                     % (3 * c.taps / 2**20))
        parts.append("the gradients into and out of its largest layer (%.0f MB)"
                     % (2 * c.largest_act / 2**20))
    return "%s and %s take %.0f MB of the %.0f MB a quarter of PyTorch's peak allows" % (
        ", ".join(parts[:-1]), parts[-1], held / 2**20, quarter)


def target_rows(rows, cfg, peak):
    """[(target, case, measured, status, why not)]: each target judged on its row, then peak
    RSS; "why not" bounds a target not met from the row's own figures."""
    out = []
    for name, key, judge in targets(cfg):
        r = next((r for r in rows if r["key"] == key), None)
        if r is None:
            out.append((name, " ".join(map(str, key)), "not measured", "not measured", ""))
            continue
        figure, met, why = judge(r, peak)
        out.append((name, "%s, %s" % (r["case"], r["net"]), figure, "met" if met else "NOT MET",
                    why))
    worst = max(rows, key=lambda r: r["c_rss"] / r["t_rss"])
    share = worst["c_rss"] / worst["t_rss"]
    out.append(("peak RSS <= 1/4 of PyTorch's (the largest dpsim / PyTorch ratio of all cases)",
                "%s, %s" % (worst["case"], worst["net"]), "%.3f" % share,
                "met" if share <= 0.25 else "NOT MET", "" if share <= 0.25 else rss_bound(worst)))
    return out


# ----------------------------------------------------------------------------------------
# Report

def fmt(x):
    return "%.0f" % x if x >= 100 else "%.3g" % x


def fmt_ms(s):
    return "%s [%s, %s]" % tuple(map(fmt, s))


def case_line(r, peak):
    perf = "- | -"
    if r["flops"]:
        perf = "%.1f | %.0f%%" % (gflops(r), 100 * gflops(r) / peak["gflops_%dt" % r["threads"][0]])
    return ("| %s | %s | %s | %s / %s | %s | %s | %s / %s | %.2f | %s | %.0f MB | %.0f MB"
            " | %.3f |") % (
        r["case"], r["net"], r["unit"], r["threads"][0], r["threads"][1], fmt_ms(r["c"]),
        fmt_ms(r["t"]), fmt(rate(r["c"][0])), fmt(rate(r["t"][0])), ratio(r), perf,
        r["c_rss"] / 1024, r["t_rss"] / 1024, r["c_rss"] / r["t_rss"])


def report(b, rows, peak, load, elapsed):
    ver = subprocess.run([b.dpsim, "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        "Written by `%s` on %s in %.0f s." % (
            " ".join([PY, "bench/run.py"] + sys.argv[1:]), time.strftime("%Y-%m-%d %H:%M"),
            elapsed),
        "",
        "- Machine: %s, %d cores, %s; load average %.2f at the start, %.2f at the end." % (
            cpu_name(), os.cpu_count(), platform.platform(), load[0], load[1]),
        "- fp32 peak (bench/peak_flops, %s FMA): %.1f GFLOP/s on 1 thread, %.1f on 2." % (
            peak["isa"], peak["gflops_1t"], peak["gflops_2t"]),
        "- Versions: %s (kernels: %s); PyTorch %s (torchvision %s, numpy %s; %s)." % (
            ver, dpsim_isa(), torch.__version__, torchvision.__version__, np.__version__,
            torch_build()),
        "- Both sides compute LPIPS v0.1 with the same weights on the same images (SqueezeNet:"
        " real weights; AlexNet, VGG-16: the random:1 trunk of doc/VECTORS.md, or in the"
        " torchvision-checkpoint rows a whole torchvision model, classifier included, made with"
        " seed 1 and saved in the legacy format as torchvision's own files are); every distance"
        " both print agrees within %g relative (2AFC: the score, and the distances of its pairs"
        " from an untimed `dpsim compare --pairs`)." % TOLERANCE,
        "- Runs per case and side: %d (the single-pair whole-process cases: %d), alternating"
        " dpsim and PyTorch; times are ms per unit (pair, triplet or run), median [min, max] over"
        " those runs. Ratio = PyTorch / dpsim time (> 1: dpsim is faster)." % (b.reps,
                                                                               b.whole_reps),
        "- In-process cases (bench_pairs, torch_pairs.py: model loaded once) time units of"
        " one pair or one batch, the batch's time divided by its pairs, and take each run's"
        " median unit; one untimed unit comes first, except for units of %d GFLOP or more,"
        " which take seconds. Whole-process cases time the process (start, model load, image"
        " decoding included) and run each side once untimed first." % HEAVY_GFLOP,
        "- Threads: bench_pairs and the PyTorch scripts run %d; the dpsim CLI cases pass no"
        " thread option, so they run on the CLI's default (`dpsim --help`); the reference's"
        " own command line runs on PyTorch's default." % THREADS,
        "- GFLOP/s: the convolution FLOPs up to the last LPIPS tap, both images of a pair, per"
        " dpsim's median time; % of peak: against the peak on as many threads. RSS: the peak"
        " resident set of the process (wait4 in bench/rss_run); RSS ratio = dpsim / PyTorch.",
        "",
        "| case | net | unit | threads dpsim / PyTorch | dpsim ms | PyTorch ms |"
        " units/s dpsim / PyTorch | ratio | dpsim GFLOP/s | % of peak | dpsim RSS | PyTorch RSS |"
        " RSS ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [case_line(r, peak) for r in rows]
    lines += ["", "## Targets", "",
              "A target not met has a bound in its last column, from the figures of its own row:"
              " what meeting it would ask.", "",
              "| target | case | measured | status | bound |", "|---|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s | %s |" % t for t in target_rows(rows, b.cfg, peak)]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 1 repetition (a smoke test)")
    args = ap.parse_args()
    if args.quick:
        args.reps = 1
    start, load0 = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dpsim-bench-") as tmp:
        b = Bench(args, tmp)
        peak = peak_gflops(b)
        rows = []
        for case in all_cases(b):
            r = case()
            rows.append(r)
            print("%6.0f s  %s, %s: ratio %.2f" % (time.perf_counter() - start, r["case"], r["net"],
                                                   ratio(r)), file=sys.stderr)
        load = (load0, os.getloadavg()[0])
        text = report(b, rows, peak, load, time.perf_counter() - start)
    with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
