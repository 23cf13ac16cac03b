"""The objective a landscape draws: a model, its data, a loss and metrics.

:class:`Objective` takes any ``torch.nn.Module``, an iterable of batches ``(inputs, targets)``
and a loss function ``loss_fn(outputs, targets) -> scalar tensor`` (mean over the batch).
``inputs`` is a tensor (``model(x)``), a tuple (``model(*x)``) or a dict (``model(**x)``). The
loss over the data is the batch-size-weighted mean of the batch losses (batch size =
``len(targets)``); metrics (``metric(outputs, targets) -> scalar``) likewise. It evaluates at
given weights (``evaluate``), at the weights the model holds (``evaluate_in_place``, the
per-point path) or at many points' stacked weights at once (``evaluate_stacked``, vmap).

Example::

    >>> obj = Objective(model, [(X, y)], torch.nn.functional.cross_entropy, metrics=["accuracy"])
    >>> obj.evaluate()              # {"loss": ..., "accuracy": ...} at the model's own weights
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from hubscape.core.errors import InputError

from .weights import weights_of


def accuracy(outputs, targets):
    """Fraction of rows whose argmax equals the integer target (a metric for classifiers)."""
    return (outputs.argmax(dim=-1) == targets).float().mean()


BUILTIN_METRICS: dict[str, Callable] = {"accuracy": accuracy}


class Objective:
    """A model, its data and a loss: the function a landscape draws.

    ``batches``: an iterable (a list, a DataLoader) of ``(inputs, targets)``; it is read once
    and kept on ``device``. ``metrics``: name -> ``fn(outputs, targets)`` or a built-in name
    ("accuracy"). The model is moved to ``device`` and put in eval mode (no dropout, frozen
    batch-norm statistics).
    """

    def __init__(
        self,
        model,
        batches: Iterable,
        loss_fn: Callable,
        metrics: Mapping[str, Callable] | Sequence[str] | None = None,
        device: str | None = None,
        loss_name: str | None = None,
    ):
        import torch

        self.device = torch.device(resolve_device(device))
        self.model = model.to(self.device).eval()
        self.loss_fn = loss_fn
        self.loss_name = loss_name or getattr(loss_fn, "__name__", type(loss_fn).__name__)
        self.metrics = resolve_metrics(metrics)
        self.batches = []
        for batch in batches:
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise InputError("each batch must be a pair (inputs, targets)")
            inputs, targets = batch
            self.batches.append((_to(inputs, self.device), _to(targets, self.device)))
        if not self.batches:
            raise InputError("no data: the batch iterable is empty")
        self.sizes = [int(len(t)) for _, t in self.batches]
        self.n = sum(self.sizes)

    def on(self, device) -> Objective:
        """This objective with its model and data moved to ``device``."""
        return Objective(
            self.model, self.batches, self.loss_fn, self.metrics, device=str(device), loss_name=self.loss_name
        )

    # -- single points ---------------------------------------------------------------------
    def origin_weights(self):
        return weights_of(self.model)

    def _call(self, params, inputs, module=None):
        from torch.func import functional_call

        module = self.model if module is None else module
        if isinstance(inputs, Mapping):
            return functional_call(module, params, (), dict(inputs))
        if isinstance(inputs, (tuple, list)):
            return functional_call(module, params, tuple(inputs))
        return functional_call(module, params, (inputs,))

    def _terms(self, params, inputs, targets, module=None):
        """[loss, *metrics] as a float64 tensor for one batch (``module``: a part of the model)."""
        return self._values(self._call(params, inputs, module), targets)

    def evaluate(self, params=None) -> dict[str, float]:
        """Loss and metrics at the weights ``params`` (default: the model's own)."""
        import torch

        params = params if params is not None else dict(self.model.named_parameters())
        with torch.no_grad():
            total = sum(n * self._terms(params, x, t) for (x, t), n in zip(self.batches, self.sizes)) / self.n
        return dict(zip(["loss", *self.metrics], total.tolist()))

    def evaluate_in_place(self, module=None, inputs=None) -> np.ndarray:
        """[loss, *metrics] with the weights the module holds now (no functional_call: the
        per-point path writes each point's weights into the parameters). ``inputs``: per-batch
        replacements for the batches' inputs (the shortcut's first-layer outputs)."""
        import torch

        module = self.model if module is None else module
        total = None
        with torch.no_grad():
            for b, ((x, t), n) in enumerate(zip(self.batches, self.sizes)):
                x = x if inputs is None else inputs[b]
                if isinstance(x, Mapping):
                    out = module(**x)
                elif isinstance(x, (tuple, list)):
                    out = module(*x)
                else:
                    out = module(x)
                vals = self._values(out, t) * n
                total = vals if total is None else total + vals
        return (total / self.n).cpu().numpy()

    def loss_tensor(self, params):
        """The differentiable data loss at ``params`` (for Hessian-vector products)."""
        total = 0
        for (x, t), n in zip(self.batches, self.sizes):
            total = total + n * self.loss_fn(self._call(params, x), t)
        return total / self.n

    def hessian_vector_product(self, v):
        """H v at the model's weights, by double backward; ``v`` is a weights-shaped dict."""
        import torch

        params = {k: p.detach().clone().requires_grad_(True) for k, p in self.model.named_parameters()}
        with torch.enable_grad():
            loss = self.loss_tensor(params)
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
            gv = sum((g * v[k].to(g.dtype)).sum() for g, k in zip(grads, params))
            hv = torch.autograd.grad(gv, list(params.values()), allow_unused=True)
        return {k: (h if h is not None else torch.zeros_like(params[k])).detach() for k, h in zip(params, hv)}

    # -- many points at once ---------------------------------------------------------------
    def evaluate_stacked(self, stacked, fixed, module=None, inputs=None) -> np.ndarray:
        """(P, 1 + n_metrics) values for P points whose moving weights are stacked on dim 0.

        The forward pass is vmapped over the points; the loss and metrics are then taken per
        point (vmap runs losses such as cross-entropy through slow decompositions).
        ``inputs``: per-batch inputs already stacked per point (P, ...) (the shortcut's
        first-layer outputs), else the batches' own inputs, shared by all points.
        """
        import torch
        from torch.func import vmap
        from torch.utils._pytree import tree_map

        def forward(batched, x):
            return self._call({**fixed, **batched}, x, module)

        total = None
        with torch.no_grad():
            for b, ((x, t), n) in enumerate(zip(self.batches, self.sizes)):
                if inputs is None:
                    outs = vmap(forward, in_dims=(0, None))(stacked, x)
                else:
                    outs = vmap(forward, in_dims=(0, 0))(stacked, inputs[b])
                P = next(iter(stacked.values())).shape[0] if stacked else inputs[b].shape[0]
                vals = torch.stack([self._values(tree_map(lambda o, p=p: o[p], outs), t) for p in range(P)]) * n
                total = vals if total is None else total + vals
        return (total / self.n).cpu().numpy()

    def _values(self, out, targets):
        import torch

        values = [self.loss_fn(out, targets)] + [fn(out, targets) for fn in self.metrics.values()]
        return torch.stack([torch.as_tensor(v, dtype=torch.float64).reshape(()) for v in values])


def resolve_device(device: str | None) -> str:
    """ "cpu", "cuda" (checked) or None (cuda when available)."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA GPU is available here; use --device cpu")
    if device not in ("cpu",) and not str(device).startswith("cuda"):
        raise InputError(f"unknown device {device!r}; use cpu or cuda")
    return str(device)


def resolve_metrics(metrics) -> dict[str, Callable]:
    """Metrics as name -> function: a list of built-in names (["accuracy"]), or a mapping
    whose values are functions ``fn(outputs, targets)`` or built-in names."""
    if not metrics:
        return {}
    items = metrics.items() if isinstance(metrics, Mapping) else ((name, name) for name in metrics)
    out = {}
    for name, fn in items:
        if not callable(fn) and fn not in BUILTIN_METRICS:
            raise InputError(f"unknown metric {fn!r}; built in: {', '.join(BUILTIN_METRICS)}")
        out[name] = fn if callable(fn) else BUILTIN_METRICS[fn]
    return out


def _to(x, device):
    if isinstance(x, Mapping):
        return {k: _to(v, device) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device) for v in x)
    return x.to(device) if hasattr(x, "to") else x


# ------------------------------------------------------------------------------------ grids
