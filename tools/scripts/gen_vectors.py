#!/usr/bin/python3
"""Write the LPIPS parity vectors tests/vectors/lpips.txt (+ tests/vectors/maps/*.f32).

  /usr/bin/python3 tools/scripts/gen_vectors.py

Runs the official-figure check first (fails loudly if the reference drifts), computes every
case in float32 (the vectors) and again in float64 (to report how much slack a float32
implementation has), and writes the file format described in doc/VECTORS.md.
Weights: $DPSIM_WEIGHTS (default ../shared/weights); images: $DPSIM_DATA (default
../shared/data).
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lpips_ref as L  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# (version, lin, suffix) variants used for the real-SqueezeNet cases
VARIANTS = [("0.1", 1, "v01"), ("0.0", 1, "v00"), ("0.1", 0, "base")]


def build_cases():
    """Returns a list of dicts: id net version lin trunk taps a b map."""
    cases = []

    def add(cid, net, version, lin, trunk, taps, a, b, want_map):
        cases.append(dict(id=cid, net=net, version=version, lin=lin, trunk=trunk, taps=taps,
                          a=a, b=b, map=want_map))

    # (a) real SqueezeNet
    ex = [("ref", "p0"), ("ref", "p1"), ("p0", "p1")]
    for version, lin, suf in VARIANTS:
        for x, y in ex:
            add("sq_real_ex_%s_%s_%s" % (x, y, suf), "squeeze", version, lin, "real", None,
                "data:lpips_examples/ex_%s.png" % x, "data:lpips_examples/ex_%s.png" % y, True)
    for version, lin, suf in VARIANTS:
        for n in ["I03", "I04", "I06", "I08", "I19"]:
            add("sq_real_tid_%s_%s" % (n, suf), "squeeze", version, lin, "real", None,
                "data:tid2013_pairs/ref/%s.bmp" % n, "data:tid2013_pairs/dist/%s.bmp" % n,
                False)

    # (b) pseudo-random trunk, seed 1, real lin files of the same net
    tr = "random:1"

    def g(seed, w, h):
        return "gen:%d:%dx%d" % (seed, w, h)

    for net in ["alex", "squeeze", "vgg"]:
        for (w, h) in [(64, 64), (97, 131), (224, 224)]:
            add("%s_rnd_%dx%d_v01" % (net, w, h), net, "0.1", 1, tr, None, g(1, w, h),
                g(2, w, h), (w, h) != (224, 224))
        add("%s_rnd_64x64_v00" % net, net, "0.0", 1, tr, None, g(1, 64, 64), g(2, 64, 64),
            False)
        add("%s_rnd_64x64_base" % net, net, "0.1", 0, tr, None, g(1, 64, 64), g(2, 64, 64),
            False)
    add("vgg_rnd_64x64_taps3_8_15", "vgg", "0.1", 0, tr, [3, 8, 15], g(1, 64, 64),
        g(2, 64, 64), False)
    add("alex_rnd_97x131_taps0_3_6", "alex", "0.1", 0, tr, [0, 3, 6], g(1, 97, 131),
        g(2, 97, 131), True)
    add("squeeze_rnd_64x64_taps2_5_12", "squeeze", "0.1", 0, tr, [2, 5, 12], g(1, 64, 64),
        g(2, 64, 64), False)
    return cases


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def main(argv=None):
    ap = argparse.ArgumentParser(description="generate tests/vectors/lpips.txt")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "vectors"))
    ap.add_argument("--no-double", action="store_true", help="skip the float64 comparison run")
    args = ap.parse_args(argv)

    t_start = time.time()
    torch.set_num_threads(1)  # fixed reduction order: reproducible output bytes
    official = L.official_check(verbose=True)

    cases = build_cases()
    models, images = {}, {}
    lines, gaps = [], []
    map_dir = os.path.join(args.out, "maps")
    os.makedirs(map_dir, exist_ok=True)
    written_maps = set()

    for c in cases:
        key = (c["net"], c["version"], c["lin"], c["trunk"], tuple(c["taps"] or ()))
        if key not in models:
            m32 = L.LPIPSRef(c["net"], c["version"], bool(c["lin"]), c["trunk"], c["taps"])
            m64 = None
            if not args.no_double:
                m64 = L.to_double(L.LPIPSRef(c["net"], c["version"], bool(c["lin"]),
                                             c["trunk"], c["taps"]))
            models[key] = (m32, m64)
        m32, m64 = models[key]
        for s in (c["a"], c["b"]):
            if s not in images:
                images[s] = L.load_image(s)
        ia, ib = images[c["a"]], images[c["b"]]
        if ia.shape != ib.shape:
            raise SystemExit("case %s: image sizes differ" % c["id"])
        H, W = ia.shape[:2]
        t0 = time.time()
        d, pt, mp = L.distance(ia, ib, want_map=c["map"], model=m32)
        if c["map"]:
            assert mp.shape == (H, W) and mp.dtype == np.float32
            rel_path = "maps/%s.f32" % c["id"]
            mp.astype("<f4").tofile(os.path.join(args.out, rel_path))
            written_maps.add(c["id"] + ".f32")
        else:
            rel_path = "-"
        if m64 is not None:
            d64, pt64, mp64 = L.distance(ia, ib, want_map=c["map"], model=m64, double=True)
            gap = dict(id=c["id"], d=rel(d, d64), tap=max(rel(x, y) for x, y in zip(pt, pt64)),
                       map=(float(np.max(np.abs(mp - mp64)) / np.max(np.abs(mp64)))
                            if c["map"] else None))
            gaps.append(gap)
        taps = "default" if c["taps"] is None else ",".join(str(t) for t in c["taps"])
        lines.append("case=%s net=%s version=%s lin=%d trunk=%s taps=%s a=%s b=%s size=%dx%d "
                     "distance=%.10e per_tap=%s map=%s"
                     % (c["id"], c["net"], c["version"], c["lin"], c["trunk"], taps, c["a"],
                        c["b"], W, H, d, ",".join("%.10e" % v for v in pt), rel_path))
        print("%-32s %.8f  (%.2fs)" % (c["id"], d, time.time() - t0), flush=True)

    for f in os.listdir(map_dir):  # stale maps from an older case list
        if f.endswith(".f32") and f not in written_maps:
            os.remove(os.path.join(map_dir, f))

    header = [
        "# generated by tools/scripts/gen_vectors.py with torch %s, torchvision %s, numpy %s, "
        "python %s: /usr/bin/python3 tools/scripts/gen_vectors.py"
        % (torch.__version__, torchvision.__version__, np.__version__, sys.version.split()[0]),
        "# LPIPS spatial-method parity vectors; format and formulas: doc/VECTORS.md. "
        "%d cases. float32 reference, torch.set_num_threads(1)." % len(cases),
        "# a=/b= data:REL is relative to the shared data dir ($DPSIM_DATA); gen:S:WxH is "
        "generated; maps are raw little-endian float32, H*W row-major, relative to this file.",
        "# official-figure check (official LPIPS code, shared SqueezeNet, 6 decimals): "
        + "; ".join("v%s %s/%s %.6f ours %.8f" % r for r in official),
    ]
    if gaps:
        gd = max(gaps, key=lambda g: g["d"])
        gt = max(gaps, key=lambda g: g["tap"])
        gm = max((g for g in gaps if g["map"] is not None), key=lambda g: g["map"])
        header.append("# float32 vs float64 run of the same reference: max rel diff distance "
                      "%.2e (%s), per-tap %.2e (%s), map max|diff|/max|map| %.2e (%s)"
                      % (gd["d"], gd["id"], gt["tap"], gt["id"], gm["map"], gm["id"]))
    with open(os.path.join(args.out, "lpips.txt"), "w") as f:
        f.write("\n".join(header + lines) + "\n")

    total = 0
    for root, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, x)) for x in files)
    print("wrote %d cases, %d maps, %s total %d bytes" % (len(cases), len(written_maps),
                                                        args.out, total))
    if gaps:
        print(header[-1][2:])
        for g in gaps:
            print("  gap %-32s dist %.2e tap %.2e map %s" % (g["id"], g["d"], g["tap"],
                  "-" if g["map"] is None else "%.2e" % g["map"]))
    print("runtime %.1f s" % (time.time() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
