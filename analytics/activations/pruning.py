"""Backdoor removal by pruning channels of one layer, and the curves that judge it.

Two rankings of the channels of a layer (by default the activation of the last conv layer):

- ``linf`` (Cheng, Xu, Liu, Chen et al., arXiv 2002.12162): a backdoor biases the l_inf norm
  of the activation maps far more than their l1/l2 norms, so prune the channels with the
  largest l_inf first. The paper ranks by the l_inf response to triggered inputs (with a
  trigger reverse-engineered from the model); here ``rank_by`` says which inputs: "triggered"
  (the default; in the demo the true trigger stands in for a reverse-engineered one),
  "difference" (triggered minus clean) or "clean".
- ``mean`` (fine-pruning, Liu, Dolan-Gavitt & Garg 2018): prune the channels with the lowest
  mean activation on clean inputs first (backdoor channels lie dormant on clean data).

Channels are pruned by a forward hook that multiplies the layer output by a 0/1 mask, so
the weights are never touched and any model works. After each step the clean accuracy and
the attack success rate (share of triggered inputs of another true class classified as the
target) are recorded.

Example::

    >>> order = rank_channels("linf", clean_stats, triggered_stats)
    >>> curve = pruning_curve(model, "features.relu2", order, clean=(x, y),
    ...                       triggered=(x_trig, y), target_label=0, method="linf")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hubscape.core.errors import InputError

from .capture import LayerStats, _few, first_tensor, layer_names

ACTIVATIONS = ("ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "ELU", "Mish", "Hardswish", "Tanh", "Sigmoid")
RANK_BY = ("triggered", "difference", "clean")


@dataclass(repr=False)
class PruningCurve:
    """Clean accuracy and attack success rate after pruning 0, 1, 2, ... channels."""

    method: str  # "linf" | "mean"
    rank_by: str  # which inputs ranked the channels
    layer: str
    order: np.ndarray  # (C,) int64: channel pruned at each step
    scores: np.ndarray  # (C,) the ranking score of each channel
    pruned: np.ndarray  # (k,) channels pruned after each step, 0 first
    clean_accuracy: np.ndarray  # (k,)
    attack_success_rate: np.ndarray  # (k,)

    def __repr__(self) -> str:
        return (
            f"<PruningCurve {self.method} of {self.layer}: {int(self.pruned[-1]) if self.pruned.size else 0} channels, "
            f"ASR {self.attack_success_rate[0]:.3f} -> {self.attack_success_rate[-1]:.3f}>"
            if self.pruned.size
            else f"<PruningCurve {self.method} of {self.layer}: empty>"
        )

    def first_below(self, asr: float) -> int | None:
        """Index of the first step whose attack success rate is below ``asr`` (None if none)."""
        hits = np.flatnonzero(self.attack_success_rate < asr)
        return int(hits[0]) if hits.size else None


def default_layer(model) -> str:
    """The activation of the last conv layer: the last Conv2d, or the activation module
    (ReLU, GELU, ...) registered right after it, whose output is what the next layer sees."""
    import torch.nn as nn

    named = [(n, m) for n, m in model.named_modules() if n]
    convs = [i for i, (_, m) in enumerate(named) if isinstance(m, nn.Conv2d)]
    if not convs:
        raise InputError("the model has no Conv2d layer to prune; name one with --layers")
    i = convs[-1]
    if i + 1 < len(named) and type(named[i + 1][1]).__name__ in ACTIVATIONS:
        return named[i + 1][0]
    return named[i][0]


def rank_channels(
    method: str, clean: LayerStats, triggered: LayerStats | None = None, rank_by: str = "triggered"
) -> tuple[np.ndarray, np.ndarray]:
    """(order, scores): the channels in the order ``method`` prunes them.

    linf: descending score, score = l_inf on ``rank_by`` inputs; mean: ascending mean
    activation on clean inputs (needs the clean mean map).
    """
    if method == "linf":
        if rank_by not in RANK_BY:
            raise InputError(f"rank_by must be one of {', '.join(RANK_BY)}, got {rank_by!r}")
        if rank_by != "clean" and triggered is None:
            raise InputError(f"l_inf ranking by {rank_by!r} needs triggered inputs (give a trigger)")
        scores = {
            "clean": lambda: clean.linf,
            "triggered": lambda: triggered.linf,
            "difference": lambda: triggered.linf - clean.linf,
        }[rank_by]()
        order = np.argsort(-scores, kind="stable")
    elif method == "mean":
        if clean.mean_map is None:
            raise InputError("mean pruning needs the clean mean map (capture with mean_maps=True)")
        if clean.kind == "transformer":
            scores = np.nanmean(clean.mean_map, axis=0)
        else:
            scores = clean.mean_map.reshape(clean.mean_map.shape[0], -1).mean(axis=1)
        order = np.argsort(scores, kind="stable")
    else:
        raise InputError(f"unknown pruning method {method!r}; use linf or mean")
    return order.astype(np.int64), np.asarray(scores, dtype=np.float64)


class ChannelMask:
    """A forward hook that zeroes chosen channels of a layer's output while active.

    Channels are dim 1 of (N, C, H, W) and (N, C) outputs and the last dim of (N, T, D).
    """

    def __init__(self, model, layer: str):
        modules = dict(model.named_modules())
        if layer not in modules:
            raise InputError(f"no layer named {layer!r}; available layers include {_few(layer_names(model), layer)}")
        self.module = modules[layer]
        self.pruned: list[int] = []
        self._handle = None

    def __enter__(self) -> ChannelMask:
        self._handle = self.module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _hook(self, module, inputs, output):
        if not self.pruned:
            return None
        act = first_tensor(output)
        dim = -1 if act.dim() == 3 else 1
        mask = act.new_ones(act.shape[dim])
        mask[self.pruned] = 0
        shape = [1] * act.dim()
        shape[dim] = -1
        masked = act * mask.view(shape)
        if isinstance(output, tuple):
            return (masked,) + tuple(output[1:])
        return masked


def predict(model, x, batch_size: int = 1024) -> np.ndarray:
    """Predicted classes of ``x`` (N, ...) as an int64 array."""
    import torch

    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out.append(model(torch.as_tensor(x[start : start + batch_size], dtype=torch.float32)).argmax(1))
    model.train(was_training)
    return torch.cat(out).numpy().astype(np.int64)


def accuracy(model, x, y) -> float:
    """Share of ``x`` classified as ``y``."""
    return float(np.mean(predict(model, x) == np.asarray(y)))


def attack_success_rate(model, x_triggered, y_true, target_label: int) -> float:
    """Share of triggered inputs whose true class is not the target that go to the target."""
    y_true = np.asarray(y_true)
    keep = y_true != target_label
    if not keep.any():
        raise InputError("every triggered input already has the target label; the attack success rate is undefined")
    return float(np.mean(predict(model, x_triggered[keep]) == target_label))


def pruning_curve(
    model,
    layer: str,
    order: np.ndarray,
    clean: tuple,
    triggered: tuple,
    target_label: int,
    method: str,
    rank_by: str = "",
    scores: np.ndarray | None = None,
    steps: int | None = None,
    reuse_prefix: bool = True,
    progress: Callable[[int, int], None] | None = None,
    ray: str | None = None,
    workers: int | None = None,
) -> PruningCurve:
    """Prune the channels of ``layer`` one by one in ``order`` (up to ``steps`` of them, all by
    default) and record clean accuracy on ``clean`` = (x, y) and the attack success rate on
    ``triggered`` = (x_triggered, y_true) after each step (step 0: nothing pruned).

    When ``model`` is an nn.Sequential and ``layer`` one of its children, the part up to the
    layer runs once and only the rest runs per step (``reuse_prefix``); otherwise every step
    runs the whole model with a ChannelMask hook. Both give the same numbers. ``ray`` /
    ``workers``: spread the steps over Ray actors (see :func:`pruning_values`).
    """
    order = np.ascontiguousarray(order, dtype=np.int64)  # torch takes no negative strides (order[::-1])
    steps = len(order) if steps is None else min(int(steps), len(order))
    report = None if progress is None else (lambda _, k, n: progress(k, n))
    (values,) = pruning_values(
        model, layer, [order], clean, triggered, target_label, steps, reuse_prefix, report, ray, workers
    )
    return PruningCurve(
        method=method,
        rank_by=rank_by,
        layer=layer,
        order=order,
        scores=np.zeros(len(order)) if scores is None else np.asarray(scores, float),
        pruned=np.arange(steps + 1, dtype=np.int64),
        clean_accuracy=values[:, 0].copy(),
        attack_success_rate=values[:, 1].copy(),
    )


def pruning_values(
    model,
    layer: str,
    orders,
    clean: tuple,
    triggered: tuple,
    target_label: int,
    steps: int | None = None,
    reuse_prefix: bool = True,
    progress: Callable[[int, int, int], None] | None = None,
    ray: str | None = None,
    workers: int | None = None,
) -> list[np.ndarray]:
    """[clean accuracy, attack success rate] after 0..steps channels of each order in ``orders``
    are pruned: one (steps + 1, 2) array per order. ``progress(i, k, steps)``: step k of order i
    done. ``ray`` / ``workers``: the steps of all orders go to one pool of Ray actors
    (hubscape.analytics.distributed), each sent the model and data once; the values are the same.
    """
    orders = [np.ascontiguousarray(o, dtype=np.int64) for o in orders]
    counts = [(len(o) if steps is None else min(int(steps), len(o))) + 1 for o in orders]
    task = PruningTask(model, layer, tuple(orders), clean, triggered, target_label, reuse_prefix)
    which = np.repeat(np.arange(len(orders)), counts)  # flat step i is step ks[i] of order which[i]
    ks = np.concatenate([np.arange(c) for c in counts])
    values = np.empty((len(ks), 2))
    if ray is None:
        points = task.open()
        for i in range(len(ks)):
            values[i] = points([ks[i]], [which[i]])[0]
            if progress is not None:
                progress(int(which[i]), int(ks[i]), counts[which[i]] - 1)
    else:
        from ..distributed import RayPool

        with RayPool(task, ray, workers) as pool:
            pieces = np.array_split(np.arange(len(ks)), min(len(ks), 4 * pool.workers))
            done = np.zeros(len(orders), dtype=np.int64)
            for idx, vals in pool.imap([(idx, ks[idx], which[idx]) for idx in pieces]):
                values[idx] = vals
                if progress is not None:
                    for m in np.unique(which[idx]):
                        done[m] += int(np.sum(which[idx] == m))
                        progress(int(m), int(done[m]) - 1, counts[m] - 1)
    return np.split(values, np.cumsum(counts)[:-1])


@dataclass
class PruningTask:
    """The inputs of pruning curves; ``open()`` gives their steps (in this process or a Ray actor)."""

    model: object
    layer: str
    orders: tuple
    clean: tuple
    triggered: tuple
    target_label: int
    reuse_prefix: bool = True

    def open(self) -> PruningSteps:
        return PruningSteps(self)


class PruningSteps:
    """[clean accuracy, attack success rate] after pruning the first k channels of order m, for
    any (k, m): the prefix of an nn.Sequential up to the layer runs once, or every step runs the
    whole model with a ChannelMask hook (see pruning_curve)."""

    def __init__(self, task: PruningTask):
        self.task = task
        self.y_clean = np.asarray(task.clean[1])
        y_trig = np.asarray(task.triggered[1])
        self.keep = y_trig != task.target_label
        if not self.keep.any():
            raise InputError("every triggered input already has the target label; the attack success rate is undefined")
        self.split = _split_sequential(task.model, task.layer) if task.reuse_prefix else None
        if self.split is not None:
            prefix, _ = self.split
            self.a_clean = _run(prefix, task.clean[0])
            self.a_trig = _run(prefix, np.asarray(task.triggered[0])[self.keep])

    def __call__(self, ks, ms) -> list[list[float]]:
        t = self.task
        rows = []
        if self.split is not None:
            suffix = self.split[1]
            for k, m in zip(ks, ms):
                pruned = t.orders[int(m)][: int(k)]
                acc = float(np.mean(_masked_predict(suffix, self.a_clean, pruned) == self.y_clean))
                asr = float(np.mean(_masked_predict(suffix, self.a_trig, pruned) == t.target_label))
                rows.append([acc, asr])
            return rows
        with ChannelMask(t.model, t.layer) as mask:
            for k, m in zip(ks, ms):
                mask.pruned = [int(c) for c in t.orders[int(m)][: int(k)]]
                rows.append([accuracy(t.model, *t.clean), attack_success_rate(t.model, *t.triggered, t.target_label)])
        return rows


def _split_sequential(model, layer: str):
    """(prefix, suffix) of an nn.Sequential split after its child ``layer``; None otherwise."""
    import torch.nn as nn

    if not isinstance(model, nn.Sequential):
        return None
    names = [name for name, _ in model.named_children()]
    if layer not in names:
        return None
    i = names.index(layer)
    return model[: i + 1], model[i + 1 :]


def _run(module, x, batch_size: int = 1024):
    import torch

    was_training = module.training
    module.eval()
    with torch.no_grad():
        out = torch.cat(
            [module(torch.as_tensor(x[s : s + batch_size], dtype=torch.float32)) for s in range(0, len(x), batch_size)]
        )
    module.train(was_training)
    return out


def _masked_predict(suffix, act, pruned: np.ndarray) -> np.ndarray:
    import torch

    if len(pruned):
        act = act.clone()
        index = torch.as_tensor(pruned, dtype=torch.long)
        if act.dim() == 3:
            act[..., index] = 0
        else:
            act[:, index] = 0
    return _run(suffix, act).argmax(1).numpy().astype(np.int64)
