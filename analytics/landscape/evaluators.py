"""How a chunk of grid points is evaluated: interchangeable strategies behind one interface.

An :class:`Evaluator` maps the coordinates of P grid points to their values, a (P, 1 +
n_metrics) float64 array of [loss, *metrics]; it is a context manager that the grid runner
enters once around the whole grid. The strategies:

- :class:`PointByPoint`: one plain forward per point, the point's weights written into the
  model's own parameters (weights.PointWriter). Runs any module; the CPU default.
- :class:`Vmapped`: the P points' weights stacked, one forward vmapped over them
  (``torch.func``). Saves kernel launches on a GPU, its default there.
- :class:`Batched`: the rest of a qualifying ``nn.Sequential`` for all P points per operation,
  with explicit batched weights (batched.py). The default wherever it applies.
- :class:`Fallback`: one strategy, and from the first chunk it cannot run (an error other
  than out of memory) another, recording why.

Point by point and vmapped run a :class:`Target`: the whole model on the data, or, with the
exact first-layer shortcut (shortcut.py), the rest of an ``nn.Sequential`` on the first
layer's precomputed outputs. :func:`choose_evaluator` picks the strategy the way
:func:`~hubscape.analytics.landscape.grid.compute_landscape` documents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubscape.core.errors import InputError

from .batched import BatchedStack, batched_steps
from .memory import is_oom, within_budget
from .shortcut import FirstLayerTerms, first_layer_split
from .weights import PointWriter, along

#: Above this many moving parameters the stacked weights of a chunk cost more than vmap saves.
VMAP_MAX_PARAMS = 2_000_000


class Evaluator:
    """Values at grid points: ``evaluator(xs, ys) -> (P, 1 + n_metrics)`` (``ys`` None in 1D)."""

    def __call__(self, xs: np.ndarray, ys: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def meta(self) -> dict:
        """How the grid was evaluated, for the bundle (``batched``, ``vectorized``, fallbacks)."""
        raise NotImplementedError

    def chunk_limit(self, chunk: int) -> int:
        """The automatic chunk size ``chunk``, lowered to what this strategy holds in memory well."""
        return chunk

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc) -> None:
        return None


@dataclass
class Target:
    """What runs per grid point: the model on the data (``terms`` None) or the rest of the
    model on the first layer's outputs; ``moving`` are its parameters that move, ``fixed``
    the values of its others (from the origin), all on the objective's device."""

    objective: object
    origin: dict
    d1: dict
    d2: dict | None
    moving: list
    fixed: dict
    terms: FirstLayerTerms | None = None

    @classmethod
    def of(cls, objective, origin, d1, d2, moving, terms=None) -> Target:
        if terms is not None:
            moving = [k for k in moving if not terms.owns(k)]
        module = objective.model if terms is None else terms.rest
        names = {k for k, _ in module.named_parameters()}
        fixed = {k: origin[k] for k in origin if k in names and k not in moving}
        return cls(objective, origin, d1, d2, moving, fixed, terms)

    @property
    def module(self):
        return self.objective.model if self.terms is None else self.terms.rest

    def chunk_limit(self, chunk: int) -> int:
        return chunk if self.terms is None else within_budget(chunk, self.terms.activation_bytes())


class PointByPoint(Evaluator):
    """One forward per point with the point's weights written into the parameters in place."""

    def __init__(self, target: Target):
        self.target = target
        self.writer = PointWriter(target.module, target.origin, target.d1, target.d2, target.moving)

    def __enter__(self) -> PointByPoint:
        self.writer.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.writer.__exit__(*exc)

    def __call__(self, xs, ys):
        t = self.target
        rows = []
        for p in range(len(xs)):
            y = None if ys is None else ys[p]
            self.writer.write(xs[p], y)
            if t.terms is None:
                rows.append(t.objective.evaluate_in_place())
            else:
                rows.append(t.objective.evaluate_in_place(module=t.terms.rest, inputs=t.terms.at(xs[p], y)))
        return np.asarray(rows, dtype=np.float64)

    def meta(self) -> dict:
        return {"batched": False, "vectorized": False}

    def chunk_limit(self, chunk: int) -> int:
        return self.target.chunk_limit(chunk)


class Vmapped(Evaluator):
    """The points' moving weights stacked, one forward vmapped over them."""

    def __init__(self, target: Target):
        self.target = target

    def __call__(self, xs, ys):
        t = self.target
        dirs = [t.d1] if t.d2 is None else [t.d1, t.d2]
        stacked = {k: along(t.origin[k], [d[k] for d in dirs], xs, ys) for k in t.moving}
        if t.terms is None:
            return t.objective.evaluate_stacked(stacked, t.fixed)
        return t.objective.evaluate_stacked(stacked, t.fixed, module=t.terms.rest, inputs=t.terms.stacked(xs, ys))

    def meta(self) -> dict:
        return {"batched": False, "vectorized": True}

    def chunk_limit(self, chunk: int) -> int:
        return self.target.chunk_limit(chunk)


class Batched(Evaluator):
    """The rest of the Sequential for all points at once with explicit batched weights."""

    def __init__(self, terms: FirstLayerTerms, stack: BatchedStack):
        self.terms, self.stack = terms, stack

    @classmethod
    def build(cls, objective, terms: FirstLayerTerms, origin, d1, d2, moving) -> Batched | None:
        """The batched evaluator of the model after ``terms``' layer; None when a module of it
        does not qualify (batched.batched_steps)."""
        steps = batched_steps(terms.rest)
        if not steps:
            return None
        per_batch = [(stack, base.shape[1:]) for stack, (base, _) in zip(terms.stacks, terms.terms)]
        rest_moving = [k for k in moving if not terms.owns(k)]
        return cls(terms, BatchedStack(objective, steps, per_batch, origin, d1, d2, rest_moving))

    def __call__(self, xs, ys):
        return self.stack.evaluate(self.terms.coefficients(xs, ys))

    def meta(self) -> dict:
        return {"batched": True, "vectorized": False}

    def chunk_limit(self, chunk: int) -> int:
        act = self.terms.activation_bytes()
        return min(within_budget(chunk, act), self.stack.auto_chunk(act))


class Fallback(Evaluator):
    """``primary`` until a chunk raises (not out of memory), then ``backup`` for that chunk and
    every later one; the reason goes into the bundle under ``key``."""

    def __init__(self, primary: Evaluator, backup: Evaluator, key: str):
        self.primary, self.backup, self.key = primary, backup, key
        self.reason: str | None = None

    def __enter__(self) -> Fallback:
        (self.primary if self.reason is None else self.backup).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        (self.primary if self.reason is None else self.backup).__exit__(*exc)

    def __call__(self, xs, ys):
        if self.reason is None:
            try:
                return self.primary(xs, ys)
            except Exception as exc:
                if is_oom(exc):
                    raise
                first = (str(exc) or "").splitlines()[:1]
                self.reason = f"{type(exc).__name__}: {first[0][:200] if first else ''}"
            self.primary.__exit__(None, None, None)
            self.backup.__enter__()
        return self.backup(xs, ys)

    def meta(self) -> dict:
        if self.reason is None:
            return self.primary.meta()
        return {**self.backup.meta(), self.key: self.reason}

    def chunk_limit(self, chunk: int) -> int:
        return self.primary.chunk_limit(chunk)


def choose_evaluator(objective, origin, d1, d2, moving, vectorize=None, shortcut=None, batched=None):
    """(evaluator, first-layer terms or None) for the options of compute_landscape.

    ``vectorize``: True (vmap, falling back to point by point), False (point by point) or None
    (vmap where it pays, see _vmap_pays); ``shortcut``: the first-layer shortcut (None = when
    possible); ``batched``: the batched evaluator (None = when the model qualifies, unless vmap
    is asked for with ``vectorize=True``), falling back to point by point.
    """
    import torch

    if not moving:
        vectorize = False  # nothing moves (equal checkpoints)
    elif vectorize is None:
        vectorize = None if _vmap_pays(objective, sum(origin[k].numel() for k in moving)) else False
    split = first_layer_split(objective.model) if shortcut is not False else None
    terms = None
    if split is not None and all(isinstance(inp, torch.Tensor) for inp, _ in objective.batches):
        terms = FirstLayerTerms(objective, split, origin, d1, d2)
    elif shortcut:
        raise InputError("the first-layer shortcut needs an nn.Sequential starting with Linear/Conv and tensor inputs")
    wants_batched = batched or (batched is None and vectorize is not True)
    fast = Batched.build(objective, terms, origin, d1, d2, moving) if terms is not None and wants_batched else None
    if batched and fast is None:
        raise InputError(
            "batched evaluation needs an nn.Sequential of supported modules (Linear/Conv first; "
            "see hubscape.analytics.landscape.batched) with tensor inputs"
        )
    target = Target.of(objective, origin, d1, d2, moving, terms)
    if fast is not None:
        return Fallback(fast, PointByPoint(target), "batched_fallback"), terms
    if vectorize is not False:
        return Fallback(Vmapped(target), PointByPoint(target), "vectorize_fallback"), terms
    return PointByPoint(target), terms


def _vmap_pays(objective, n_moving: int) -> bool:
    """Whether vmap over grid points is likely faster than one call per point.

    On a GPU it saves a kernel launch per layer and point, so it is used up to VMAP_MAX_PARAMS
    moving parameters. On the CPU (bench/bench_landscape_grid.py, BENCHMARKS.md) it won only
    for an MLP on 64 samples and lost up to 2x elsewhere (batched-weight convolutions, losses
    run through vmap's decompositions, and a 22M-parameter BERT), so the CPU goes point by point.
    """
    return objective.device.type == "cuda" and n_moving <= VMAP_MAX_PARAMS
