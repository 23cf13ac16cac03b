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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.core.errors import InputError

from .directions import Directions
from .evaluators import choose_evaluator
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
    bundle (``{"model": {...}, "data": {...}}``).
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
    previous = previous_result(out, resume)
    if previous is not None and previous.complete:
        check_resumable(previous, result)  # --resume of a finished grid: nothing left to do
        return previous
    evaluator, terms = choose_evaluator(objective, origin, d1, d2, moving, vectorize, shortcut, batched)
    if not chunk:
        result.meta["chunk"] = evaluator.chunk_limit(result.meta["chunk"])
    result.meta["shortcut"] = terms.name if terms is not None else None
    n = result.meta["chunk"]
    own = dict(objective.model.named_parameters())

    def centre():
        values = objective.evaluate({**own, **origin})
        return [values["loss"], *(values[m] for m in objective.metrics)]

    advice = f"evaluating {n} grid point(s) at once on {device}: rerun with a smaller --chunk (e.g. --chunk {max(1, n // 4)})"
    run_grid(result, Serial(evaluator, centre), n, out=out, previous=previous, progress=progress, oom_advice=advice)
    result.meta.update(evaluator.meta())
    if directions.trajectory_weights is not None:
        losses = [objective.evaluate({**own, **_on(w, device)})["loss"] for w in directions.trajectory_weights]
        result.trajectory_loss = np.array(losses, dtype=np.float64)
        result.trajectory_loss[~np.isfinite(result.trajectory_loss)] = np.nan
    if out is not None:
        save_landscape(result, out)
    return result


def _on(weights: dict | None, device) -> dict | None:
    return None if weights is None else {k: v.to(device) for k, v in weights.items()}


def _check_fits(model, origin: dict) -> None:
    own = {k for k, _ in model.named_parameters()}
    if set(origin) != own:
        missing = next(iter(own ^ set(origin)))
        raise InputError(f"directions do not fit the model: parameter {missing!r} is in one but not the other")
