"""Loss grids: evaluate a model's loss (and metrics) at every point of a 1D or 2D grid.

:func:`compute_landscape` evaluates an :class:`~.objective.Objective` on the grid spanned by
:class:`~.directions.Directions`. How a chunk of points is evaluated is a strategy
(evaluators.py): ``nn.Sequential`` models that start with a Linear/Conv layer get an exact
first-layer shortcut (shortcut.py); when the rest of the stack is made of the modules
batched.py lists (Linear, Conv, Batch/LayerNorm, activations, pooling, Flatten, Dropout), the
whole chunk runs at once with explicit batched weights (bmm, grouped convolution, one loss
call): the default, 6-10x faster than the naive loop on the CPU (BENCHMARKS.md). Any other
module runs either vmapped (the weights of all points of a chunk stacked, ``torch.func.vmap``
over ``torch.func.functional_call``; the default on a GPU, with a fallback where vmap cannot
run a model) or point by point (each point's weights written into the model's parameters in
place and restored afterwards; the default on the CPU, where it measured faster). The grid
runner (runner.py) saves the partial grid atomically after every chunk (``out=``) as a
landscape bundle with ``complete: false`` and a ``done`` mask; ``resume=True`` continues it,
so a run killed at any moment loses at most the chunk in flight. Non-finite losses are
stored as NaN (gaps).

Example::

    >>> obj = Objective(model, [(X, y)], torch.nn.functional.cross_entropy, metrics=["accuracy"])
    >>> res = compute_landscape(obj, random_directions(model, seed=0), grid=(21, 21), span=1.0)
    >>> res.loss.shape, res.center_loss
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.core.errors import InputError

from .directions import Directions
from .evaluators import choose_evaluator
from .lock import hold_output
from .memory import auto_chunk
from .objective import Objective
from .result import LandscapeResult, save_landscape
from .runner import Serial, check_resumable, previous_result, run_grid
from .weights import moving_names


def grid_axes(directions: Directions, grid: Sequence[int], span=None) -> tuple[np.ndarray, np.ndarray | None]:
    """The coordinates of the grid: ``span`` None (the directions' default range), a float s
    (-s..s) or a pair (lo, hi); ``grid`` is (n,) in 1D or (nx, ny) in 2D."""
    grid = tuple(int(g) for g in grid)
    if len(grid) != directions.dims:
        raise InputError(f"a {directions.dims}D landscape needs {directions.dims} grid size(s), got {grid}")
    if any(g < 1 for g in grid) or math.prod(grid) > 10_000_000:
        raise InputError(f"grid {grid}: sizes must be >= 1 and at most 10 million points in all")
    if span is None:
        lo, hi = directions.default_range
    elif isinstance(span, (int, float)):
        if not span > 0 or not math.isfinite(span):
            raise InputError(f"span must be a positive number, got {span}")
        lo, hi = -float(span), float(span)
    else:
        lo, hi = (float(v) for v in span)
        if not hi > lo:
            raise InputError(f"span ({lo}, {hi}): the upper end must exceed the lower")

    def axis(n):  # one point sits in the middle of the range
        return np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])

    return axis(grid[0]), axis(grid[1]) if directions.dims == 2 else None


def compute_landscape(
    objective: Objective,
    directions: Directions,
    grid: Sequence[int] = (41, 41),
    span=None,
    chunk: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    vectorize: bool | None = None,
    shortcut: bool | None = None,
    batched: bool | None = None,
    info: Mapping[str, Any] | None = None,
    ray: str | None = None,
    workers: int | None = None,
    worker_objective: Callable[[], Objective] | None = None,
) -> LandscapeResult:
    """Evaluate ``objective`` on the grid spanned by ``directions``.

    ``grid``: (nx,) or (nx, ny); ``span``: see :func:`grid_axes`; ``chunk``: points evaluated
    at once (default: as many as fit in memory.AUTO_CHUNK_BYTES, at most 64); ``out``: a
    bundle path the partial grid is saved to after every chunk (and the full one at the end);
    ``resume``: continue the partial grid in ``out``; ``vectorize``: True (vmap, falling back
    to one call per point where vmap cannot run the model), False (point by point) or None
    (vmap where it pays, see evaluators._vmap_pays); ``shortcut``: precompute the first layer
    of an nn.Sequential that starts with Linear/Conv (exact; see shortcut.py; None = when
    possible); ``batched``: run the rest of such a Sequential for a whole chunk of points at
    once with explicit batched weights (exact; see batched.py for the modules that qualify;
    None = when the model qualifies, unless vmap is asked for with ``vectorize=True``; a model
    it cannot run falls back to one call per point); ``info``: model/data description for the
    bundle (``{"model": {...}, "data": {...}}``). ``ray``: evaluate the chunks on Ray actors,
    "local" (a cluster on this machine for the run), "auto" (RAY_ADDRESS or a running one) or
    an address (see hubscape.analytics.distributed); ``workers``: how many actors (default: one
    per GPU, else per CPU of the cluster); ``worker_objective``: how an actor makes the
    objective (default: ``objective`` itself, sent to it); the directions are sent to every
    actor once. The values are the same whatever the number of actors (the chunks are).
    Returns a :class:`LandscapeResult`; raises InputError on out-of-memory with advice.
    """
    x, y = grid_axes(directions, grid, span)
    if chunk is not None and chunk and int(chunk) < 1:
        raise InputError(f"--chunk must be at least 1, got {chunk}")
    device = objective.device
    origin, d1, d2 = (_on(d, device) for d in (directions.origin, directions.d1, directions.d2))
    moving = moving_names(d1, d2)
    _check_fits(objective.model, origin)
    result = LandscapeResult.empty(directions, x, y, list(objective.metrics), objective.loss_name, info or {}, span)
    result.meta["chunk"] = int(chunk) if chunk else auto_chunk(origin, moving)
    result.meta["device"] = str(device)
    result.meta["data"] = {**result.meta.get("data", {}), "n": objective.n}
    with hold_output(out):  # one run at a time on this bundle, from reading it to the final save
        previous = previous_result(out, resume)
        if previous is not None and previous.complete:
            check_resumable(previous, result)  # --resume of a finished grid: nothing left to do
            return previous
        options = (vectorize, shortcut, batched)
        points = LandscapePoints(objective, origin, d1, d2, *options)
        if not chunk:
            result.meta["chunk"] = points.evaluator.chunk_limit(result.meta["chunk"])
        result.meta["shortcut"] = points.terms.name if points.terms is not None else None
        n = result.meta["chunk"]
        if ray is None:
            executor = Serial(points, points.centre)
        else:
            from ..distributed import RayPool

            task = LandscapeTask(
                worker_objective or SendObjective(objective), *map(portable, (origin, d1, d2)), options
            )
            executor = RayPool(task, ray, workers)
        advice = f"evaluating {n} grid point(s) at once on {device}: rerun with a smaller --chunk (e.g. --chunk {max(1, n // 4)})"
        run_grid(result, executor, n, out=out, previous=previous, progress=progress, oom_advice=advice)
        result.meta.update(points.meta())
        result.meta.update(executor.meta())
        if ray is not None:
            result.meta["ray"] = executor.describe()
        own = dict(objective.model.named_parameters())
        if directions.trajectory_weights is not None:
            losses = [objective.evaluate({**own, **_on(w, device)})["loss"] for w in directions.trajectory_weights]
            result.trajectory_loss = np.array(losses, dtype=np.float64)
            result.trajectory_loss[~np.isfinite(result.trajectory_loss)] = np.nan
        if out is not None:
            save_landscape(result, out)
        return result


class LandscapePoints:
    """A landscape's point function: the evaluator :func:`choose_evaluator` picks for the
    objective and directions (on the objective's device), and the value at the origin."""

    def __init__(self, objective: Objective, origin, d1, d2, vectorize=None, shortcut=None, batched=None):
        self.objective, self.origin = objective, origin
        self.evaluator, self.terms = choose_evaluator(
            objective, origin, d1, d2, moving_names(d1, d2), vectorize, shortcut, batched
        )

    def __enter__(self) -> LandscapePoints:
        self.evaluator.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.evaluator.__exit__(*exc)

    def __call__(self, xs, ys):
        return self.evaluator(xs, ys)

    def meta(self) -> dict:
        return self.evaluator.meta()

    def centre(self) -> list[float]:
        own = dict(self.objective.model.named_parameters())
        values = self.objective.evaluate({**own, **self.origin})
        return [values["loss"], *(values[m] for m in self.objective.metrics)]


@dataclass
class LandscapeTask:
    """What a Ray actor needs to evaluate chunks of a landscape: a way to make the objective
    there, the origin and directions (numpy arrays where the dtype allows, so that actors on
    one node share them from Ray's object store), and the evaluation options."""

    objective: Callable[[], Objective]
    origin: dict
    d1: dict
    d2: dict | None
    options: tuple

    def open(self) -> LandscapePoints:
        import torch

        objective = self.objective()
        device = "cuda" if torch.cuda.is_available() else "cpu"  # Ray hides the GPUs it did not give
        if objective.device.type != device:
            objective = objective.on(device)
        origin, d1, d2 = (None if d is None else _tensors(d, objective.device) for d in (self.origin, self.d1, self.d2))
        return LandscapePoints(objective, origin, d1, d2, *self.options)


class SendObjective:
    """The driver's objective, pickled into the task (for Python callers; the CLI has each
    actor load MODEL and --data itself, see models.load_objective)."""

    def __init__(self, objective: Objective):
        self.objective = objective

    def __call__(self) -> Objective:
        return self.objective


def portable(weights: dict | None) -> dict | None:
    """Weights as CPU numpy arrays (zero-copy in Ray's object store), torch tensors for dtypes
    numpy lacks (bfloat16)."""
    import torch

    if weights is None:
        return None
    out = {}
    for k, v in weights.items():
        v = v.detach().cpu()
        out[k] = v.numpy() if v.dtype in (torch.float32, torch.float64, torch.float16) else v
    return out


def _tensors(weights: dict, device) -> dict:
    import warnings

    import torch

    out = {}
    with warnings.catch_warnings():  # arrays from the object store are read-only; they are only read
        warnings.simplefilter("ignore", UserWarning)
        for k, v in weights.items():
            out[k] = (torch.from_numpy(v) if not isinstance(v, torch.Tensor) else v).to(device)
    return out


def _on(weights: dict | None, device) -> dict | None:
    return None if weights is None else {k: v.to(device) for k, v in weights.items()}


def _check_fits(model, origin: dict) -> None:
    own = {k for k, _ in model.named_parameters()}
    if set(origin) != own:
        missing = next(iter(own ^ set(origin)))
        raise InputError(f"directions do not fit the model: parameter {missing!r} is in one but not the other")
