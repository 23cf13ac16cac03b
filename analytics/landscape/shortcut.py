"""An exact shortcut for models whose first layer is linear in its weights.

On a landscape the first layer's weights are ``W0 + a D1 + b D2``. If that layer is an
``nn.Linear`` or ``nn.ConvNd`` applied to the data (after parameter-free modules only), its
output is linear in (weights, bias)::

    layer(h, W0 + a D1 + b D2) = layer(h, W0) + a layer(h, D1) + b layer(h, D2)

so the three terms are computed once per batch and every grid point costs one axpy plus the
rest of the network. For small CNNs and MLPs the first layer is most of the arithmetic, so
this removes most of it; the values equal the direct evaluation up to float rounding. Used for
``nn.Sequential`` models only, where "the first layer" is unambiguous.
"""

from __future__ import annotations

import numpy as np

from .batched import BatchedStack, batched_steps


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


class FirstLayerShortcut:
    """Grid evaluation with the first layer's three terms precomputed (see module docstring)."""

    def __init__(self, objective, split, origin, d1, d2, active, fixed):
        import torch

        self.objective = objective
        index, prefix, layer, rest = split
        self.name = list(objective.model._modules)[index]
        self.rest = rest
        own = dict(objective.model.named_parameters())
        wkey, bkey = f"{self.name}.weight", f"{self.name}.bias"
        has_bias = layer.bias is not None

        def apply(h, bundle):
            w = bundle[wkey]
            b = bundle[bkey] if has_bias else None
            if isinstance(layer, torch.nn.Linear):
                return torch.nn.functional.linear(h, w, b)
            return layer._conv_forward(h, w, b)

        dirs = [d1] if d2 is None else [d1, d2]
        self.stacks = []  # per batch: (1 + dims, numel) = [base; g1; g2], combined per chunk by one GEMM
        self.terms = []  # per batch: (base, [g1, g2]), views of the stack
        with torch.no_grad():
            for x, _ in objective.batches:
                h0 = prefix(x)
                parts = [apply(h0, origin), *(apply(h0, d) for d in dirs)]
                stack = torch.stack(parts).reshape(len(parts), -1)
                self.stacks.append(stack)
                self.terms.append((stack[0].view(parts[0].shape), [g.view(parts[0].shape) for g in stack[1:]]))
        self.rest_active = [k for k in active if not k.startswith(self.name + ".")]
        rest_names = {k for k, _ in rest.named_parameters()}
        self.rest_fixed = {k: v for k, v in {**own, **fixed}.items() if k in rest_names}
        self.origin, self.d1, self.d2 = origin, d1, d2
        steps = batched_steps(rest)
        #: the exact batched evaluator of the rest (batched.py), None when a module does not qualify
        self.batched = None
        if steps:
            terms = [(stack, base.shape[1:]) for stack, (base, _) in zip(self.stacks, self.terms)]
            self.batched = BatchedStack(objective, steps, terms, origin, d1, d2, self.rest_active)

    def activation_bytes(self) -> int:
        """Bytes of the first layer's output for one grid point (all batches)."""
        return sum(base.numel() * base.element_size() for base, _ in self.terms)

    def evaluate(self, xs, ys, mode: str) -> np.ndarray:
        """(P, 1 + n_metrics) values at the grid points (xs, ys); ``mode``: "batched" (the
        rest of the stack for all points at once, batched.py), "vmap" or "point" (one
        forward per point, weights written in place)."""
        import torch

        from .grid import along

        obj = self.objective
        if mode == "batched":
            coef = [np.ones(len(xs)), xs] if ys is None else [np.ones(len(xs)), xs, ys]
            coef = torch.as_tensor(np.stack(coef, axis=1), dtype=self.stacks[0].dtype, device=self.stacks[0].device)
            return self.batched.evaluate(coef)
        if mode == "vmap":
            dirs = [self.d1] if self.d2 is None else [self.d1, self.d2]
            stacked = {k: along(self.origin[k], [d[k] for d in dirs], xs, ys) for k in self.rest_active}
            hs = [along(base, gs, xs, ys) for base, gs in self.terms]
            return obj.evaluate_stacked(stacked, self.rest_fixed, module=self.rest, inputs=hs)
        from .grid import weights_in_place

        rows = []
        with weights_in_place(
            obj.model, {**self.rest_fixed, **{k: self.origin[k] for k in self.rest_active}}
        ) as params:
            for p in range(len(xs)):
                for k in self.rest_active:  # the point's weights, written into the parameters
                    torch.add(self.origin[k], self.d1[k], alpha=float(xs[p]), out=params[k])
                    if ys is not None:
                        params[k].add_(self.d2[k], alpha=float(ys[p]))
                hs = []
                for base, gs in self.terms:
                    h = torch.add(base, gs[0], alpha=float(xs[p]))
                    if ys is not None:
                        h.add_(gs[1], alpha=float(ys[p]))
                    hs.append(h)
                rows.append(obj.evaluate_in_place(module=self.rest, inputs=hs))
        return np.asarray(rows, dtype=np.float64)
