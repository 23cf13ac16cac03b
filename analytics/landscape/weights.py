"""Weight dicts and the weights of grid points: the primitives every evaluation path shares.

A model's weights are a ``dict[str, Tensor]`` keyed like ``named_parameters()``; the weights at
grid point (x, y) are ``origin + x d1 + y d2``. :func:`along` writes them out for a chunk of
points at once (the vmapped paths); :class:`PointWriter` writes one point's weights into the
module's own parameters in place (the point-by-point paths).
"""

from __future__ import annotations

import numpy as np


def weights_of(model) -> dict:
    """The model's named parameters as detached clones (tied weights appear once)."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def moving_names(d1: dict, d2: dict | None) -> list[str]:
    """Parameters that move on the grid (a non-zero component in some direction)."""
    out = []
    for k, v in d1.items():
        if bool(v.any()) or (d2 is not None and bool(d2[k].any())):
            out.append(k)
    return out


def along(base, dirs, xs, ys):
    """(P, *base.shape): base + xs[p] dirs[0] + ys[p] dirs[1] for every point p, as one GEMM."""
    import torch

    coef = [xs] if ys is None else [xs, ys]
    c = torch.as_tensor(np.stack(coef, axis=1), dtype=base.dtype, device=base.device)  # (P, k)
    g = torch.stack([d.reshape(-1) for d in dirs])  # (k, M)
    return torch.addmm(base.reshape(1, -1), c, g).reshape(len(xs), *base.shape)


class PointWriter:
    """Writes grid points' weights into ``module``'s own parameters, in place.

    On entry every parameter of the module is set to ``origin``; ``write(x, y)`` then sets each
    moving parameter (``names``) to ``origin + x d1 + y d2`` with one fused add per tensor
    and direction (memory-bound: as fast as a flat buffer or a GEMV on 135M parameters, and
    faster than ``torch._foreach_copy_`` + two ``_foreach_add_``, which take three passes;
    BENCHMARKS.md). On exit the module's weights are put back, also after an error or an
    interrupt: from ``origin`` where the module already held it (the usual case: no copy of
    the weights is kept), else from a copy of the differing tensors taken on entry.
    """

    def __init__(self, module, origin: dict, d1: dict, d2: dict | None, names):
        self.module, self.origin, self.d1, self.d2 = module, origin, d1, d2
        self.names = list(names)
        self._saved = None

    def __enter__(self) -> PointWriter:
        import torch

        params = dict(self.module.named_parameters())
        self.params = {k: params[k] for k in params if k in self.origin}
        self._saved = {}
        with torch.no_grad():
            for k, p in self.params.items():
                if not _same_bits(p, self.origin[k]):
                    self._saved[k] = p.detach().clone()
                    p.copy_(self.origin[k])
        return self

    def write(self, x: float, y: float | None = None) -> None:
        import torch

        with torch.no_grad():
            for k in self.names:
                torch.add(self.origin[k], self.d1[k], alpha=float(x), out=self.params[k])
                if y is not None:
                    self.params[k].add_(self.d2[k], alpha=float(y))

    def __exit__(self, *exc) -> None:
        import torch

        with torch.no_grad():
            for k in self.names:
                if k not in self._saved:
                    self.params[k].copy_(self.origin[k])
            for k, v in self._saved.items():
                self.params[k].copy_(v)
        self._saved = None


def _same_bits(a, b) -> bool:
    """Bitwise equality (torch.equal calls -0.0 and 0.0 equal)."""
    import torch

    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(a.detach().reshape(-1).view(torch.uint8), b.detach().reshape(-1).view(torch.uint8))
