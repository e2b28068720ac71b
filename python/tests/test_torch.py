#!/usr/bin/python3
"""dpsim.torch.PerceptualLoss: distances and autograd gradients equal dpsim.Metric's (both
input ranges), a batch, gradients for x and y, a few optimisation steps lower the loss.
Exits 77 (skip) without numpy, torch or DPSIM_WEIGHTS."""

import os
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print("skip: %s" % e)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("DPSIM_SOURCE_ROOT") or os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)
import dpsim  # noqa: E402
from dpsim.torch import PerceptualLoss  # noqa: E402
from test_numpy import grad_image  # noqa: E402

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def main():
    if not os.environ.get("DPSIM_WEIGHTS"):
        print("skip: set DPSIM_WEIGHTS")
        return 77
    a = np.stack([grad_image("grad:1:24x20"), grad_image("grad:3:24x20")])
    b = np.stack([grad_image("grad:2:24x20"), grad_image("grad:4:24x20")])
    m = dpsim.Metric(method="spatial+sort")
    for normalize in (True, False):
        loss = PerceptualLoss(method="spatial+sort", normalize=normalize)
        xa = torch.from_numpy(a if normalize else a * 2 - 1).requires_grad_(True)
        xb = torch.from_numpy(b if normalize else b * 2 - 1).requires_grad_(True)
        d = loss(xa, xb)
        check(d.shape == (2,), "shape %s" % (tuple(d.shape),))
        (d[0] + 3.0 * d[1]).backward()
        for i, w in enumerate((1.0, 3.0)):
            dm, ga, gb = m.gradient(a[i], b[i], wrt="both")
            scale = w * (1.0 if normalize else 0.5)
            check(abs(float(d[i]) - dm) <= 1e-6 * dm, "distance %d: %g vs %g" % (i, d[i], dm))
            check(np.allclose(xa.grad[i].numpy(), scale * ga, rtol=1e-5, atol=1e-9)
                  and np.allclose(xb.grad[i].numpy(), scale * gb, rtol=1e-5, atol=1e-9),
                  "gradients of element %d (normalize=%s)" % (i, normalize))
    # only y requires grad
    loss = PerceptualLoss()
    y = torch.from_numpy(b[:1] * 2 - 1).requires_grad_(True)
    loss(torch.from_numpy(a[:1] * 2 - 1), y).sum().backward()
    check(y.grad is not None and float(y.grad.abs().max()) > 0, "gradient for y only")
    # a few Adam steps on x lower the distance
    x = torch.full((1, 3, 20, 24), 0.5, requires_grad=True)
    target = torch.from_numpy(a[:1])
    loss = PerceptualLoss(normalize=True)
    opt = torch.optim.Adam([x], lr=0.01)
    first = None
    for _ in range(10):
        opt.zero_grad()
        d = loss(x, target).sum()
        first = float(d) if first is None else first
        d.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    last = float(loss(x, target).sum())
    check(last < 0.8 * first, "10 Adam steps: %g -> %g" % (first, last))
    try:
        loss(torch.zeros(1, 3, 20, 24), torch.zeros(1, 3, 20, 25))
        check(False, "shape mismatch accepted")
    except ValueError:
        pass
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
