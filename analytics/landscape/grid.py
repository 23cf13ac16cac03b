"""Loss grids: evaluate a model's loss (and metrics) at every point of a 1D or 2D grid.

:class:`Objective` is what gets evaluated: any ``torch.nn.Module``, an iterable of batches
``(inputs, targets)`` and a loss function ``loss_fn(outputs, targets) -> scalar tensor`` (mean
over the batch). ``inputs`` is a tensor (``model(x)``), a tuple (``model(*x)``) or a dict
(``model(**x)``). The loss over the data is the batch-size-weighted mean of the batch losses
(batch size = ``len(targets)``); metrics (``metric(outputs, targets) -> scalar``) likewise.

:func:`compute_landscape` walks the grid in chunks of points. ``nn.Sequential`` models that
start with a Linear/Conv layer get an exact first-layer shortcut (see shortcut.py); when the
rest of the stack is made of the modules batched.py lists (Linear, Conv, Batch/LayerNorm,
activations, pooling, Flatten, Dropout), the whole chunk runs at once with explicit batched
weights (bmm, grouped convolution, one loss call): the default, 6-10x faster than the naive
loop on the CPU (BENCHMARKS.md). Any other module runs either vmapped (the weights of all
points of a chunk stacked, ``torch.func.vmap`` over ``torch.func.functional_call``; the
default on a GPU, with a fallback where vmap cannot run a model) or point by point (each
point's weights written into the model's parameters in place and restored afterwards; the
default on the CPU, where it measured faster). After
every chunk the partial grid can be saved atomically (``out=``) as a landscape bundle with
``complete: false`` and a ``done`` mask; ``resume=True`` continues it, so a run killed at any
moment loses at most the chunk in flight. Non-finite losses are stored as NaN (gaps).

Example::

    >>> obj = Objective(model, [(X, y)], torch.nn.functional.cross_entropy,
    ...                 metrics={"accuracy": accuracy})
    >>> res = compute_landscape(obj, random_directions(model, seed=0), grid=(21, 21), span=1.0)
    >>> res.loss.shape, res.center_loss
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.core.errors import InputError

from .directions import Directions, weights_of
from .result import LandscapeResult

#: Memory the stacked weights of one chunk may take when the chunk size is chosen for you.
AUTO_CHUNK_BYTES = 512 * 2**20
MAX_AUTO_CHUNK = 64
#: Above this many moving parameters the stacked weights of a chunk cost more than vmap saves.
VMAP_MAX_PARAMS = 2_000_000


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
        self.metrics = _resolve_metrics(metrics)
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


def _resolve_metrics(metrics) -> dict[str, Callable]:
    if not metrics:
        return {}
    if isinstance(metrics, Mapping):
        return dict(metrics)
    out = {}
    for name in metrics:
        if name not in BUILTIN_METRICS:
            raise InputError(f"unknown metric {name!r}; built in: {', '.join(BUILTIN_METRICS)}")
        out[name] = BUILTIN_METRICS[name]
    return out


def _to(x, device):
    if isinstance(x, Mapping):
        return {k: _to(v, device) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device) for v in x)
    return x.to(device) if hasattr(x, "to") else x


# ------------------------------------------------------------------------------------ grids


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


def auto_chunk(directions: Directions) -> int:
    """A chunk size whose stacked weights stay under AUTO_CHUNK_BYTES."""
    active = _active_names(directions)
    per_point = sum(directions.origin[k].numel() * directions.origin[k].element_size() for k in active)
    return int(max(1, min(MAX_AUTO_CHUNK, AUTO_CHUNK_BYTES // max(2 * per_point, 1))))


def _active_names(directions: Directions) -> list[str]:
    """Parameters that move on the grid (a non-zero component in some direction)."""
    out = []
    for k in directions.origin:
        moving = bool(directions.d1[k].any())
        if not moving and directions.d2 is not None:
            moving = bool(directions.d2[k].any())
        if moving:
            out.append(k)
    return out


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
    at once (default: as many as fit in AUTO_CHUNK_BYTES, at most 64); ``out``: a bundle path
    the partial grid is saved to after every chunk (and the full one at the end); ``resume``:
    continue the partial grid in ``out``; ``vectorize``: True (vmap, falling back to one
    call per point where vmap cannot run the model), False (point by point) or None (vmap
    where it pays, see _vmap_pays); ``shortcut``: precompute the first layer of an
    nn.Sequential that starts with Linear/Conv (exact; see shortcut.py; None = when possible);
    ``batched``: run the rest of such a Sequential for a whole chunk of points at once with
    explicit batched weights (exact; see batched.py for the modules that qualify; None = when
    the model qualifies, unless vmap is asked for with ``vectorize=True``; a model it cannot
    run falls back to one call per point);
    ``info``: model/data description for the bundle (``{"model": {...}, "data": {...}}``).
    Returns a :class:`LandscapeResult`; raises InputError on out-of-memory with advice.
    """
    import torch

    from .bundle import save_landscape
    from .shortcut import FirstLayerShortcut, first_layer_split

    x, y = grid_axes(directions, grid, span)
    names = list(objective.metrics)
    auto = not chunk
    chunk = int(chunk) if chunk else auto_chunk(directions)
    if chunk < 1:
        raise InputError(f"--chunk must be at least 1, got {chunk}")
    device = objective.device
    origin = {k: v.to(device) for k, v in directions.origin.items()}
    d1 = {k: v.to(device) for k, v in directions.d1.items()}
    d2 = {k: v.to(device) for k, v in directions.d2.items()} if directions.d2 is not None else None
    active = _active_names(directions)
    fixed = {k: v for k, v in origin.items() if k not in active}
    own = dict(objective.model.named_parameters())
    if set(origin) != set(own):
        missing = next(iter(set(own) ^ set(origin)))
        raise InputError(f"directions do not fit the model: parameter {missing!r} is in one but not the other")

    result = LandscapeResult.empty(directions, x, y, names, objective.loss_name, info or {}, span)
    result.meta["chunk"] = chunk
    result.meta["device"] = str(device)
    result.meta["data"] = {**result.meta.get("data", {}), "n": objective.n}
    previous = previous_result(out, resume)
    if previous is not None and previous.complete:
        check_resumable(previous, result)  # --resume of a finished grid: nothing left to do
        return previous
    if not active:
        vectorize = False  # nothing moves (equal checkpoints)
    elif vectorize is None:
        vectorize = None if _vmap_pays(objective, sum(origin[k].numel() for k in active)) else False
    mode = {"vectorize": vectorize}
    fast = None
    split = first_layer_split(objective.model) if shortcut is not False else None
    if split is not None and all(isinstance(inp, torch.Tensor) for inp, _ in objective.batches):
        fast = FirstLayerShortcut(objective, split, origin, d1, d2, active, fixed)
        if auto:  # the stacked first-layer outputs must fit as well
            chunk = max(1, min(chunk, AUTO_CHUNK_BYTES // max(2 * fast.activation_bytes(), 1)))
            result.meta["chunk"] = chunk
    elif shortcut:
        raise InputError("the first-layer shortcut needs an nn.Sequential starting with Linear/Conv and tensor inputs")
    result.meta["shortcut"] = fast.name if fast is not None else None
    qualifies = fast is not None and fast.batched is not None
    if batched and not qualifies:
        raise InputError(
            "batched evaluation needs an nn.Sequential of supported modules (Linear/Conv first; "
            "see hubscape.analytics.landscape.batched) with tensor inputs"
        )
    batch_mode = {"vectorize": qualifies and (batched or (batched is None and vectorize is not True))}
    if auto and batch_mode["vectorize"]:
        chunk = min(chunk, fast.batched.auto_chunk(fast.activation_bytes()))
        result.meta["chunk"] = chunk

    def centre():
        values = objective.evaluate({**own, **origin})
        return [values["loss"], *(values[m] for m in names)]

    def evaluate(xs, ys):
        if fast is None:
            return _evaluate_chunk(objective, origin, d1, d2, active, fixed, own, xs, ys, mode)
        point = lambda: fast.evaluate(xs, ys, "point")  # noqa: E731
        if batch_mode["vectorize"]:
            return _with_fallback(batch_mode, lambda: fast.evaluate(xs, ys, "batched"), point)
        return _with_fallback(mode, lambda: fast.evaluate(xs, ys, "vmap"), point)

    run_grid(
        result,
        evaluate,
        centre,
        chunk,
        out=out,
        previous=previous,
        progress=progress,
        oom_advice=f"evaluating {chunk} grid point(s) at once on {device}: rerun with a smaller "
        f"--chunk (e.g. --chunk {max(1, chunk // 4)})",
    )
    result.meta["batched"] = bool(batch_mode["vectorize"])
    result.meta["vectorized"] = not result.meta["batched"] and mode["vectorize"] is not False
    if mode.get("fallback"):
        result.meta["vectorize_fallback"] = mode["fallback"]
    if batch_mode.get("fallback"):
        result.meta["batched_fallback"] = batch_mode["fallback"]
    if directions.trajectory_weights is not None:
        result.trajectory_loss = np.array(
            [
                objective.evaluate({**own, **{k: v.to(device) for k, v in w.items()}})["loss"]
                for w in directions.trajectory_weights
            ],
            dtype=np.float64,
        )
        result.trajectory_loss[~np.isfinite(result.trajectory_loss)] = np.nan
    if out is not None:
        save_landscape(result, out)
    return result


def _vmap_pays(objective, n_moving: int) -> bool:
    """Whether vmap over grid points is likely faster than one call per point.

    On a GPU it saves a kernel launch per layer and point, so it is used up to VMAP_MAX_PARAMS
    moving parameters. On the CPU (bench/bench_landscape_grid.py, BENCHMARKS.md) it won only
    for an MLP on 64 samples and lost up to 2x elsewhere (batched-weight convolutions, losses
    run through vmap's decompositions, and a 22M-parameter BERT), so the CPU goes point by point.
    """
    return objective.device.type == "cuda" and n_moving <= VMAP_MAX_PARAMS


def previous_result(out, resume: bool) -> LandscapeResult | None:
    """The bundle already at ``out`` when resuming; refuse to overwrite a partial one otherwise."""
    from .bundle import load_landscape

    if out is None or not Path(out).exists():
        return None
    previous = load_landscape(out)
    if resume:
        return previous
    if not previous.complete:
        raise InputError(
            f"{out} holds a partial grid ({int(previous.done.sum())} of {previous.done.size} "
            "points); pass --resume to continue it, or delete it to start over"
        )
    return None


def run_grid(
    result: LandscapeResult,
    evaluate,
    centre,
    chunk: int,
    out=None,
    previous: LandscapeResult | None = None,
    progress: bool = False,
    oom_advice: str = "",
) -> None:
    """Fill ``result`` chunk by chunk: ``evaluate(xs, ys) -> (P, 1 + n_metrics)`` values.

    Continues ``previous`` (a partial grid of the same settings), computes the centre with
    ``centre() -> [loss, *metrics]`` unless known, saves the partial grid to ``out`` after
    every chunk (complete: false), turns non-finite values into NaN gaps, and turns
    out-of-memory errors into an InputError with ``oom_advice``. Sets ``result.complete``;
    the caller saves the final bundle.
    """
    from .bundle import save_landscape

    names = list(result.metrics)
    if previous is not None:
        check_resumable(previous, result)
        result.loss[...] = previous.loss
        result.done[...] = previous.done
        for m in names:
            result.metrics[m][...] = previous.metrics[m]
        result.center_loss = previous.center_loss
        result.center_metrics = dict(previous.center_metrics)
    try:
        if result.center_loss is None:
            values = np.asarray(centre(), dtype=np.float64)
            values[~np.isfinite(values)] = np.nan
            result.center_loss = float(values[0])
            result.center_metrics = {m: float(v) for m, v in zip(names, values[1:])}
        flat_x, flat_y = _flat_coords(result.x, result.y)
        todo = np.flatnonzero(~result.done.reshape(-1))
        with _progress(progress, len(todo), result.done.size) as (prog, task):
            for start in range(0, len(todo), chunk):
                idx = todo[start : start + chunk]
                values = np.asarray(
                    evaluate(flat_x[idx], flat_y[idx] if flat_y is not None else None), dtype=np.float64
                ).reshape(len(idx), 1 + len(names))
                values = np.where(np.isfinite(values), values, np.nan)
                result.loss.reshape(-1)[idx] = values[:, 0]
                for j, m in enumerate(names):
                    result.metrics[m].reshape(-1)[idx] = values[:, 1 + j]
                result.done.reshape(-1)[idx] = True
                if out is not None and start + chunk < len(todo):
                    save_landscape(result, out)
                if prog is not None:
                    prog.update(task, advance=len(idx))
    except Exception as exc:
        if not _is_oom(exc):
            raise
        kept = ""
        if out is not None and result.done.any():
            save_landscape(result, out)
            kept = (
                f"; the {int(result.done.sum())} points done are kept in {out} "
                "(complete: false), continue with --resume"
            )
        raise InputError(f"out of memory {oom_advice}{kept}") from None
    result.complete = True


def _flat_coords(x, y):
    if y is None:
        return x.copy(), None
    xx, yy = np.meshgrid(x, y)  # (ny, nx): loss[j, i] is at (x[i], y[j])
    return xx.reshape(-1), yy.reshape(-1)


def _evaluate_chunk(objective, origin, d1, d2, active, fixed, own, xs, ys, mode) -> np.ndarray:

    def stacked_weights():
        return {k: along(origin[k], [d1[k]] if d2 is None else [d1[k], d2[k]], xs, ys) for k in active}

    return _with_fallback(
        mode,
        lambda: objective.evaluate_stacked(stacked_weights(), {**own, **fixed}),
        lambda: _one_by_one(objective, origin, d1, d2, active, fixed, own, xs, ys, mode),
    )


def along(base, dirs, xs, ys):
    """(P, *base.shape): base + xs[p] dirs[0] + ys[p] dirs[1] for every point p, as one GEMM."""
    import torch

    coef = [xs] if ys is None else [xs, ys]
    c = torch.as_tensor(np.stack(coef, axis=1), dtype=base.dtype, device=base.device)  # (P, k)
    g = torch.stack([d.reshape(-1) for d in dirs])  # (k, M)
    return torch.addmm(base.reshape(1, -1), c, g).reshape(len(xs), *base.shape)


def _with_fallback(mode, batched, single):
    """Run ``batched`` (vmap) unless vectorizing is off; if vmap cannot run the model, switch
    to ``single`` for this and every later chunk (recorded in meta.vectorize_fallback)."""
    if mode["vectorize"] is not False:
        try:
            return batched()
        except Exception as exc:
            if _is_oom(exc):
                raise
            mode["vectorize"] = False
            first = (str(exc) or "").splitlines()[:1]
            mode["fallback"] = f"{type(exc).__name__}: {first[0][:200] if first else ''}"
    return single()


def _one_by_one(objective, origin, d1, d2, active, fixed, own, xs, ys, mode) -> np.ndarray:
    """One plain forward per point, the point's weights written into the model in place."""
    import torch

    rows = []
    with weights_in_place(objective.model, {**fixed, **{k: origin[k] for k in active}}) as params:
        for p in range(len(xs)):
            for k in active:  # w = origin + x d1 + y d2, written into the parameter itself
                torch.add(origin[k], d1[k], alpha=float(xs[p]), out=params[k])
                if ys is not None:
                    params[k].add_(d2[k], alpha=float(ys[p]))
            rows.append(objective.evaluate_in_place())
    return np.asarray(rows, dtype=np.float64)


@contextlib.contextmanager
def weights_in_place(model, values):
    """Write ``values`` into ``model``'s parameters for the block (under no_grad), and put the
    original weights back afterwards, also after an error or an interrupt."""
    import torch

    params = dict(model.named_parameters())
    saved = {k: params[k].detach().clone() for k in values}
    try:
        with torch.no_grad():
            for k, v in values.items():
                params[k].copy_(v)
            yield params
    finally:
        with torch.no_grad():
            for k, v in saved.items():
                params[k].copy_(v)


def _is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, MemoryError) or isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def check_resumable(previous: LandscapeResult, current: LandscapeResult) -> None:
    """The partial grid must come from the same settings; name the first that differs."""
    for key in ("dims", "method", "grid", "loss", "metrics", "model", "data", "span", "refusal"):
        a, b = previous.meta.get(key), _jsonish(current.meta.get(key))
        if a != b:
            raise InputError(
                f"cannot resume: the partial grid has {key}={a!r}, this run {key}={b!r}; "
                "rerun with the same settings or delete the bundle"
            )
    da, db = previous.meta.get("direction", {}), _jsonish(current.meta.get("direction", {}))
    for key in ("seed", "normalization", "ignore", "fingerprint"):
        if da.get(key) != db.get(key):
            raise InputError(
                f"cannot resume: the partial grid's directions differ ({key}: "
                f"{da.get(key)!r} vs {db.get(key)!r}); delete the bundle to start over"
            )
    if not np.allclose(previous.x, current.x) or (current.y is not None and not np.allclose(previous.y, current.y)):
        raise InputError("cannot resume: the partial grid has other coordinates (grid or span differ)")


def _jsonish(value):
    import json

    from hubscape.core.bundle import to_jsonable

    return json.loads(json.dumps(to_jsonable(value)))


class _NoProgress:
    def __enter__(self):
        return None, None

    def __exit__(self, *exc):
        return False


class _RichProgress:
    def __init__(self, todo, total):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("landscape"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.todo, self.total = todo, total

    def __enter__(self):
        self.progress.__enter__()
        task = self.progress.add_task("grid", total=self.total, completed=self.total - self.todo)
        return self.progress, task

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


def _progress(enabled: bool, todo: int, total: int):
    return _RichProgress(todo, total) if enabled else _NoProgress()
