"""dpsim.torch: the deep perceptual loss as a PyTorch module (CPU tensors, NCHW).

    from dpsim.torch import PerceptualLoss
    loss = PerceptualLoss(net="squeeze", method="spatial", normalize=False)
    d = loss(x, y)          # (N,) distances; d.mean().backward() fills x.grad, y.grad

`normalize` follows the lpips package: False (default) means inputs in [-1, 1],
True means inputs in [0, 1]. Gradients are libdpsim's exact ones (float64 inside).
"""

import numpy as np
import torch

from . import Metric


def _to_unit(x, normalize):
    """NCHW tensor -> float32 numpy (N, 3, H, W) in [0, 1]."""
    v = x.detach().to(torch.float32).cpu().numpy()
    return v if normalize else (v + 1.0) * 0.5


class _Distance(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, metric, normalize):
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError("PerceptualLoss: expected two (N, 3, H, W) tensors of the same "
                             "shape, got %s and %s" % (tuple(x.shape), tuple(y.shape)))
        va, vb = _to_unit(x, normalize), _to_unit(y, normalize)
        want_a, want_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        wrt = "both" if want_a and want_b else "a" if want_a else "b" if want_b else None
        ds, ga, gb = [], [], []
        for i in range(va.shape[0]):
            if wrt is None:
                ds.append(metric.distance(va[i], vb[i], layout="chw"))
                continue
            r = metric.gradient(va[i], vb[i], wrt, layout="chw")
            ds.append(r[0])
            if wrt == "both":
                ga.append(r[1])
                gb.append(r[2])
            elif wrt == "a":
                ga.append(r[1])
            else:
                gb.append(r[1])
        scale = 1.0 if normalize else 0.5  # d v / d x
        ctx.save_for_backward(
            torch.from_numpy(np.stack(ga) * scale).to(x.dtype) if ga else torch.empty(0),
            torch.from_numpy(np.stack(gb) * scale).to(y.dtype) if gb else torch.empty(0))
        return torch.tensor(ds, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        ga, gb = ctx.saved_tensors
        w = grad_out.reshape(-1, 1, 1, 1)
        return (w * ga if ga.numel() else None, w * gb if gb.numel() else None, None, None)


class PerceptualLoss(torch.nn.Module):
    """d(x, y) per batch element, differentiable in x and y.

    net, method, version, lin, pixel_layer, taps: as dpsim.Metric; norm: channel
    normalisation (None: the method's default); normalize: inputs in [0, 1] (True) or
    [-1, 1] (False, the default, as lpips). Returns an (N,) tensor.
    """

    def __init__(self, net="squeeze", method="spatial", version="0.1", lin=True,
                 normalize=False, norm=None, pixel_layer=False, taps=None):
        super().__init__()
        self.metric = Metric(net=net, method=method, version=version, lin=lin,
                             normalize=norm, pixel_layer=pixel_layer, taps=taps)
        self.normalize = normalize

    def forward(self, x, y):
        if x.device.type != "cpu" or y.device.type != "cpu":
            raise ValueError("PerceptualLoss: CPU tensors only (libdpsim runs on the CPU)")
        return _Distance.apply(x, y, self.metric, self.normalize)
