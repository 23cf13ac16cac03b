"""An exact shortcut for models whose first layer is linear in its weights.

On a landscape the first layer's weights are ``W0 + a D1 + b D2``. If that layer is an
``nn.Linear`` or ``nn.ConvNd`` applied to the data (after parameter-free modules only), its
output is linear in (weights, bias)::

    layer(h, W0 + a D1 + b D2) = layer(h, W0) + a layer(h, D1) + b layer(h, D2)

so the three terms are computed once per batch and every grid point costs one axpy plus the
rest of the network. For small CNNs and MLPs the first layer is most of the arithmetic, so
this removes most of it; the values equal the direct evaluation up to float rounding. Used for
``nn.Sequential`` models only, where "the first layer" is unambiguous. :class:`FirstLayerTerms`
holds the terms; the evaluators (evaluators.py) run the rest of the network on them, point by
point, vmapped, or batched (batched.py).
"""

from __future__ import annotations

import numpy as np

from .weights import along


def first_layer_split(model):
    """(index, prefix, layer, rest) when ``model`` is an nn.Sequential whose first module
    with parameters is Linear/Conv1d/2d/3d and is not its last; otherwise None."""
    import torch

    if not isinstance(model, torch.nn.Sequential):
        return None
    mods = list(model._modules.items())
    for i, (_, mod) in enumerate(mods):
        if next(mod.parameters(), None) is None:
            if next(mod.buffers(), None) is not None:
                return None
            continue
        # exact types only: a subclass (e.g. a LoRA layer) may compute something else
        linear = type(mod) in (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
        if not linear or i == len(mods) - 1:
            return None
        return i, model[:i], mod, model[i + 1 :]
    return None


class FirstLayerTerms:
    """The first layer's output at the origin and along each direction, per batch.

    ``stacks[b]``: (1 + dims, numel) = [origin; d1; d2] for batch b, so that the outputs of a
    chunk of points are one GEMM ``[1, x, y] @ stack``; ``terms[b]``: (base, [g1, g2]), views
    of it shaped like the layer's output. ``rest`` is the part of the model after the layer
    and ``name`` the layer's name in the Sequential.
    """

    def __init__(self, objective, split, origin: dict, d1: dict, d2: dict | None):
        import torch

        index, prefix, layer, rest = split
        self.name = list(objective.model._modules)[index]
        self.rest = rest
        wkey, bkey = f"{self.name}.weight", f"{self.name}.bias"
        has_bias = layer.bias is not None

        def apply(h, bundle):
            w = bundle[wkey]
            b = bundle[bkey] if has_bias else None
            if isinstance(layer, torch.nn.Linear):
                return torch.nn.functional.linear(h, w, b)
            return layer._conv_forward(h, w, b)

        dirs = [d1] if d2 is None else [d1, d2]
        self.stacks = []
        self.terms = []
        with torch.no_grad():
            for x, _ in objective.batches:
                h0 = prefix(x)
                parts = [apply(h0, origin), *(apply(h0, d) for d in dirs)]
                stack = torch.stack(parts).reshape(len(parts), -1)
                self.stacks.append(stack)
                self.terms.append((stack[0].view(parts[0].shape), [g.view(parts[0].shape) for g in stack[1:]]))

    def owns(self, name: str) -> bool:
        """Whether parameter ``name`` belongs to the first layer (its effect is in the terms)."""
        return name.startswith(self.name + ".")

    def activation_bytes(self) -> int:
        """Bytes of the first layer's output for one grid point (all batches)."""
        return sum(base.numel() * base.element_size() for base, _ in self.terms)

    def at(self, x: float, y: float | None) -> list:
        """The first layer's output at grid point (x, y), per batch."""
        import torch

        out = []
        for base, gs in self.terms:
            h = torch.add(base, gs[0], alpha=float(x))
            if y is not None:
                h.add_(gs[1], alpha=float(y))
            out.append(h)
        return out

    def stacked(self, xs, ys) -> list:
        """(P, ...) first-layer outputs at the points (xs, ys), per batch."""
        return [along(base, gs, xs, ys) for base, gs in self.terms]

    def coefficients(self, xs, ys):
        """(P, 1 + dims) rows [1, x, y]: the points as combinations of ``stacks``' rows."""
        import torch

        coef = [np.ones(len(xs)), xs] if ys is None else [np.ones(len(xs)), xs, ys]
        return torch.as_tensor(np.stack(coef, axis=1), dtype=self.stacks[0].dtype, device=self.stacks[0].device)
