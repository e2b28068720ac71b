#!/usr/bin/python3
"""Write the gradient parity vectors tests/vectors/grad.txt (+ tests/vectors/grad/*.f32).

  /usr/bin/python3 tools/scripts/gen_grad_vectors.py

For each case: the distance and d(distance)/d(image) by PyTorch autograd through the
references of tools/scripts/methods_ref.py (networks, preprocessing, every method), run wholly
in float64 (float32 weights cast), so the vectors hold the exact gradient of the float32
model up to float64 rounding. dpsim computes its activations in float32 and its gradients in
float64; tests/unit/test_grad_vectors.c checks max|g - g_ref| <= 1e-4 max|g_ref|.

Images `grad:S:WxH` are float images without ties (a sort's permutation and a max-pool's
argmax are then unambiguous): v = float32((p + u) / 256) with p the `gen:S:WxH` pixel of
lpips_ref.gen_image and u = lpips_ref.random_values(S, 7, 3*H*W)[(c*H + y)*W + x].

Line format (one case per line, key=value, see doc/VECTORS.md): case net version lin trunk
taps method norm pixel a b size distance grad both; grad= is the file (relative to tests/vectors/)
of raw little-endian float32: d/da (3, H, W), then d/db (3, H, W) when both=1.
"""

import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lpips_ref as L  # noqa: E402
import methods_ref as M  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NONDISTS = ["spatial", "mean", "sort", "spatial+mean", "spatial+sort", "gram"]


def grad_image(seed, w, h):
    """float32 (3, H, W) in [0, 1): the `grad:S:WxH` image."""
    p = L.gen_image(seed, w, h).transpose(2, 0, 1).astype(np.float64)
    u = L.random_values(seed, 7, 3 * h * w).reshape(3, h, w)
    return ((p + u) / 256.0).astype(np.float32)


def parse_spec(spec):
    _, s, size = spec.split(":")
    w, h = size.split("x")
    return int(s), int(w), int(h)


def build_cases():
    cases = []

    def add(cid, method, net, lin, trunk, size, norm=-1, pixel=0, version="0.1", both=0,
            taps=None):
        w, h = size
        cases.append(dict(id=cid, method=method, net=net, version=version, lin=lin, trunk=trunk,
                          a="grad:1:%dx%d" % (w, h), b="grad:2:%dx%d" % (w, h), norm=norm,
                          pixel=pixel, both=both, taps=taps))

    for m in NONDISTS:
        tag = m.replace("+", "_")
        add("sq_real_%s" % tag, m, "squeeze", 1, "real", (24, 20), both=int(m == "spatial"))
        add("sq_real_%s_nonorm" % tag, m, "squeeze", 1, "real", (24, 20), norm=0)
    add("sq_real_spatial_pixel", "spatial", "squeeze", 1, "real", (24, 20), pixel=1, both=1)
    add("sq_real_sort_pixel", "sort", "squeeze", 1, "real", (24, 20), pixel=1)
    add("sq_real_gram_norm", "gram", "squeeze", 1, "real", (24, 20), norm=1)
    add("sq_real_spatial_v00", "spatial", "squeeze", 1, "real", (24, 20), version="0.0")
    add("sq_real_spatial_base", "spatial", "squeeze", 0, "real", (24, 20))
    for m in NONDISTS:
        tag = m.replace("+", "_")
        add("alex_rnd_%s" % tag, m, "alex", 1, "random:1", (33, 31))
        add("vgg_rnd_%s" % tag, m, "vgg", 1, "random:1", (20, 18))
    add("alex_rnd_spatial_nonorm_pixel", "spatial", "alex", 0, "random:1", (33, 31), norm=0,
        pixel=1)
    add("vgg_rnd_mean_nonorm_pixel", "mean", "vgg", 0, "random:1", (20, 18), norm=0, pixel=1)
    # custom taps: conv outputs before their in-place ReLU, max-pool outputs
    add("alex_rnd_spatial_taps0_3_6", "spatial", "alex", 0, "random:1", (33, 31), taps=[0, 3, 6])
    add("sq_real_sort_taps2_5_12", "sort", "squeeze", 0, "real", (24, 20), taps=[2, 5, 12])
    add("dists_rnd", "dists", "vgg", 1, "random:1", (20, 18), both=1)
    add("dists_rnd_odd", "dists", "vgg", 1, "random:1", (23, 17))
    return cases


def run_case(model, method, va, vb):
    """distance, d/da, d/db in float64."""
    ta = torch.from_numpy(va.astype(np.float64))[None].requires_grad_(True)
    tb = torch.from_numpy(vb.astype(np.float64))[None].requires_grad_(True)
    if method == "dists":
        d, _ = model(ta, tb)
    else:
        d, _ = model(2.0 * ta - 1.0, 2.0 * tb - 1.0)
    d = d.sum()
    d.backward()
    return float(d), ta.grad[0].numpy(), tb.grad[0].numpy()


def main():
    t_start = time.time()
    torch.set_num_threads(1)
    cases = build_cases()
    out_dir = os.path.join(REPO, "tests", "vectors")
    os.makedirs(os.path.join(out_dir, "grad"), exist_ok=True)
    models, lines, written = {}, [], set()
    for c in cases:
        key = (c["method"], c["net"], c["version"], c["lin"], c["trunk"], c["norm"], c["pixel"],
               tuple(c["taps"] or ()))
        if key not in models:
            models[key] = M.make(c["method"], c["net"], c["version"], bool(c["lin"]),
                                 c["trunk"], c["taps"], c["norm"], bool(c["pixel"])).double()
        va, vb = grad_image(*parse_spec(c["a"])), grad_image(*parse_spec(c["b"]))
        d, ga, gb = run_case(models[key], c["method"], va, vb)
        rel = "grad/%s.f32" % c["id"]
        data = np.concatenate([ga.ravel()] + ([gb.ravel()] if c["both"] else []))
        data.astype("<f4").tofile(os.path.join(out_dir, rel))
        written.add(os.path.basename(rel))
        _, w, h = parse_spec(c["a"])
        taps = ",".join(str(t) for t in c["taps"]) if c["taps"] else "default"
        lines.append("case=%s net=%s version=%s lin=%d trunk=%s taps=%s method=%s norm=%d "
                     "pixel=%d a=%s b=%s size=%dx%d distance=%.12e grad=%s both=%d"
                     % (c["id"], c["net"], c["version"], c["lin"], c["trunk"], taps, c["method"],
                        c["norm"], c["pixel"], c["a"], c["b"], w, h, d, rel, c["both"]))
        print("%-32s %.8g  max|g| %.3e" % (c["id"], d, np.abs(ga).max()), flush=True)
    for f in os.listdir(os.path.join(out_dir, "grad")):
        if f not in written:
            os.remove(os.path.join(out_dir, "grad", f))
    header = [
        "# generated by tools/scripts/gen_grad_vectors.py with torch %s, torchvision %s, "
        "numpy %s: /usr/bin/python3 tools/scripts/gen_grad_vectors.py"
        % (torch.__version__, torchvision.__version__, np.__version__),
        "# gradient parity vectors (SPEC section 4): float64 autograd through "
        "tools/scripts/methods_ref.py; format: doc/VECTORS.md. %d cases." % len(cases),
    ]
    with open(os.path.join(out_dir, "grad.txt"), "w") as f:
        f.write("\n".join(header + lines) + "\n")
    print("wrote %d cases in %.1f s" % (len(cases), time.time() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
