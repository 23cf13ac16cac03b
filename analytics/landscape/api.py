"""One call from a model and its data to a loss landscape: :func:`landscape` (``hs.landscape``).

It builds the :class:`~.objective.Objective` and the directions a method names
(:func:`~.directions.make_directions`) and evaluates the grid (:func:`~.grid.compute_landscape`);
use those three directly for anything this does not cover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hubscape.core.errors import InputError

from .directions import DEFAULT_IGNORE, Directions, make_directions
from .grid import compute_landscape
from .objective import Objective
from .result import LandscapeResult


def landscape(
    model,
    batches: Iterable,
    loss_fn: Callable,
    directions: str | Directions = "filter",
    grid: int | Sequence[int] | None = None,
    span: float | tuple[float, float] | None = None,
    *,
    metrics: Mapping[str, Callable | str] | Sequence[str] | None = None,
    others: Sequence = (),
    names: Sequence[str] | None = None,
    seed: int = 0,
    normalization: str | None = None,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    orthogonal: bool = True,
    hessian_method: str = "lanczos",
    hessian_iters: int = 100,
    device: str | None = None,
    chunk: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    loss_name: str | None = None,
    info: Mapping[str, Any] | None = None,
    ray: str | None = None,
    workers: int | None = None,
    worker_objective: Callable[[], Objective] | None = None,
) -> LandscapeResult:
    """The loss landscape of ``model`` on ``batches`` around its weights.

    ``batches``: an iterable of ``(inputs, targets)`` (inputs a tensor, tuple or dict of
    tensors); ``loss_fn(outputs, targets)``: the batch-mean loss. ``directions``: a method,
    "filter" (filter-normalized random, Li et al. 2018; the default), "random", "interpolate"
    (the line to ``others[0]``), "plane" (through the model and ``others[0:2]``), "pca" (of the
    trajectory ``others`` ending at the model), "hessian" (top eigenvectors of the loss
    Hessian), or a :class:`~.directions.Directions` you made. ``grid``: points per axis, an
    int or ``(nx, ny)`` (``(nx,)`` in 1D; default 41 per axis, 1D for "interpolate");
    ``span``: S for -S..S, ``(lo, hi)``, or None for the method's default range. ``metrics``:
    built-in names (["accuracy"]) or name -> ``fn(outputs, targets)``. ``others``: further
    models or weight dicts of the same architecture; ``names``: the model's and the others'
    names for markers. ``seed``, ``normalization`` ("filter", "layer", "weight", "model",
    "none"; default filter for "filter", none for "random"), ``ignore`` (parameter kinds "bias",
    "norm" or name patterns with a zero direction), ``orthogonal``, ``hessian_method``,
    ``hessian_iters``: as for the direction makers. ``device``: "cpu", "cuda" or None (cuda
    when available). ``out``: a bundle path, saved after every chunk (resumable with
    ``resume=True``) and at the end. ``ray``: run the grid on Ray actors ("local", "auto" or a
    cluster address; ``workers`` of them; ``pip install 'hubscape[ray]'``), see
    :func:`~.grid.compute_landscape`. Returns a :class:`~.result.LandscapeResult`.

    Example::

        >>> import hubscape as hs, torch
        >>> F = torch.nn.functional
        >>> res = hs.landscape(model, [(X, y)], F.cross_entropy, directions="filter",
        ...                    grid=(21, 21), span=1.0, metrics=["accuracy"])
        >>> res            # <LandscapeResult filter 2D 21x21 cross_entropy: centre 0.31, min 0.3, ...>
        >>> res.loss.shape, res.summary()["loss"]["min"]
        >>> line = hs.landscape(clean, [(X, y)], F.cross_entropy, directions="interpolate",
        ...                     others=[finetuned], names=["clean", "finetuned"], grid=41)
        >>> hs.show(res)   # the 3D surface, inline in Jupyter
    """
    objective = Objective(model, batches, loss_fn, metrics=metrics, device=device, loss_name=loss_name)
    if isinstance(directions, Directions):
        if others:
            raise InputError("others= goes with a direction method name, not with ready-made Directions")
        dirs, grid = directions, _grid(grid, directions.dims)
    else:
        grid = _grid(grid, 1 if directions == "interpolate" else 2)
        dirs = make_directions(
            directions,
            objective,
            others,
            dims=len(grid),
            names=names,
            seed=seed,
            normalization=normalization,
            ignore=ignore,
            orthogonal=orthogonal,
            hessian_method=hessian_method,
            hessian_iters=hessian_iters,
        )
    return compute_landscape(
        objective,
        dirs,
        grid=grid,
        span=span,
        chunk=chunk,
        out=out,
        resume=resume,
        progress=progress,
        info=info,
        ray=ray,
        workers=workers,
        worker_objective=worker_objective,
    )


def _grid(grid, dims: int) -> tuple[int, ...]:
    if grid is None:
        return (41,) * dims
    if isinstance(grid, int):
        return (int(grid),) * dims
    return tuple(int(g) for g in grid)
