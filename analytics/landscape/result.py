"""LandscapeResult: a computed (or partly computed) landscape in memory.

Arrays follow docs/bundles.md (landscape kind): ``loss[j, i]`` is the loss at
(``x[i]``, ``y[j]``); NaN is a gap (a non-finite loss, or a point not yet done in a partial
grid, see ``done``). ``meta`` is the bundle's JSON document without the fields kept as
attributes (``center_loss``, ``complete``). The bundle codec is here too: ``to_bundle`` /
``from_bundle`` (and ``save`` / ``load``, :func:`save_landscape`, :func:`load_landscape`).

Example::

    >>> res = LandscapeResult.load("landscape.safetensors")
    >>> res                      # <LandscapeResult filter 2D 41x41 cross_entropy: centre 0.31, ...>
    >>> res.summary()["loss"]["min"], print(res.report())
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hubscape.core.bundle import Bundle, read_bundle
from hubscape.core.errors import BundleError
from hubscape.core.results import Result


@dataclass(repr=False, eq=False)
class LandscapeResult(Result):
    """A 1D or 2D landscape: coordinates, loss and metric grids, and how they were computed."""

    kind: ClassVar[str] = "landscape"

    x: np.ndarray
    y: np.ndarray | None
    loss: np.ndarray
    done: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    center_loss: float | None = None
    center_metrics: dict[str, float] = field(default_factory=dict)
    complete: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    trajectory_xy: np.ndarray | None = None
    trajectory_loss: np.ndarray | None = None
    markers: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @property
    def dims(self) -> int:
        return 1 if self.y is None else 2

    def value_at(self, x: float, y: float | None = None, name: str = "loss") -> float:
        """The grid value nearest to (x, y) (for quick looks and tests)."""
        arr = self.loss if name == "loss" else self.metrics[name]
        i = int(np.argmin(np.abs(self.x - x)))
        if self.y is None:
            return float(arr[i])
        j = int(np.argmin(np.abs(self.y - y)))
        return float(arr[j, i])

    @classmethod
    def empty(cls, directions, x, y, metric_names, loss_name: str, info: Mapping[str, Any], span) -> LandscapeResult:
        """An all-NaN grid for ``directions`` with the bundle meta filled in."""
        shape = (len(x),) if y is None else (len(y), len(x))
        direction = {**directions.meta, "fingerprint": directions.fingerprint()}
        meta = {
            "dims": directions.dims,
            "method": directions.method,
            "direction": direction,
            "span": span if isinstance(span, (int, float)) or span is None else list(span),
            "range": {
                "x": [float(x[0]), float(x[-1])],
                **({"y": [float(y[0]), float(y[-1])]} if y is not None else {}),
            },
            "grid": list(shape) if y is not None else [len(x)],
            "loss": loss_name,
            "metrics": list(metric_names),
            "model": dict(info.get("model", {})),
            "data": dict(info.get("data", {})),
        }
        for key, value in info.items():
            meta.setdefault(key, value)
        return cls(
            x=np.asarray(x, dtype=np.float64),
            y=None if y is None else np.asarray(y, dtype=np.float64),
            loss=np.full(shape, np.nan),
            done=np.zeros(shape, dtype=bool),
            metrics={m: np.full(shape, np.nan) for m in metric_names},
            meta=meta,
            trajectory_xy=directions.trajectory,
            markers=dict(directions.markers),
        )

    # -- the bundle codec (docs/bundles.md, kind "landscape") ---------------------------------
    def to_bundle(self) -> Bundle:
        arrays = {"x": self.x, "loss": self.loss.astype(np.float64), "done": self.done.astype(bool)}
        if self.y is not None:
            arrays["y"] = self.y
        for name, values in self.metrics.items():
            arrays[f"metrics/{name}"] = values.astype(np.float64)
        if self.trajectory_xy is not None:
            arrays["trajectory/xy"] = np.asarray(self.trajectory_xy, dtype=np.float64)
            if self.trajectory_loss is not None:
                arrays["trajectory/loss"] = np.asarray(self.trajectory_loss, dtype=np.float64)
        if self.markers:
            arrays["markers/xy"] = np.asarray([self.markers[n] for n in self.markers], dtype=np.float64)
        meta = dict(self.meta)
        meta.update(
            center_loss=self.center_loss,
            center_metrics=dict(self.center_metrics),
            complete=bool(self.complete),
            markers=list(self.markers),
            n_gaps=self.n_gaps,
        )
        return Bundle(kind="landscape", meta=meta, arrays=arrays)

    @classmethod
    def from_bundle(cls, bundle: Bundle, name: str = "landscape bundle") -> LandscapeResult:
        meta = dict(bundle.meta)
        x = bundle.array("x")
        y = bundle.arrays.get("y")
        loss = bundle.array("loss")
        done = bundle.arrays.get("done")
        if done is None:
            done = np.isfinite(loss) | bool(meta.get("complete", True))
        names = list(meta.get("metrics") or [])
        metrics = {m: bundle.array(f"metrics/{m}") for m in names}
        expected = (len(x),) if y is None else (len(y), len(x))
        if loss.shape != expected:
            raise BundleError(f"{name}: loss has shape {loss.shape}, but x/y give {expected}")
        marker_names = meta.pop("markers", []) or []
        xy = bundle.arrays.get("markers/xy")
        markers = {n: tuple(float(v) for v in xy[i]) for i, n in enumerate(marker_names)} if xy is not None else {}
        center = meta.pop("center_loss", None)
        center_metrics = meta.pop("center_metrics", {}) or {}
        complete = bool(meta.pop("complete", True))
        meta.pop("n_gaps", None)
        return cls(
            x=x,
            y=y,
            loss=loss.astype(np.float64),
            done=done.astype(bool),
            metrics=metrics,
            center_loss=center,
            center_metrics=center_metrics,
            complete=complete,
            meta=meta,
            trajectory_xy=bundle.arrays.get("trajectory/xy"),
            trajectory_loss=bundle.arrays.get("trajectory/loss"),
            markers=markers,
        )

    @classmethod
    def load(cls, path) -> LandscapeResult:
        """Read a landscape bundle; BundleError (naming the file) if it is not a valid one."""
        return cls.from_bundle(read_bundle(path, kind=cls.kind), name=str(path))

    # -- describing itself ---------------------------------------------------------------------
    @property
    def n_gaps(self) -> int:
        """Evaluated points whose loss was not finite (stored as NaN)."""
        return int((self.done & ~np.isfinite(self.loss)).sum())

    def _shape_text(self) -> str:
        """The grid as the CLI's --grid writes it: nx x ny."""
        return "x".join(str(len(v)) for v in (self.x, self.y) if v is not None)

    def __repr__(self) -> str:
        s = self.summary()
        state = "complete" if self.complete else f"partial {s['points']['done']}/{s['points']['total']}"
        values = ", ".join(f"{k} {_num(s['loss'][k])}" for k in ("centre", "min", "max"))
        return (
            f"<LandscapeResult {s['method']} {self.dims}D {self._shape_text()} {s['loss']['name']}: {values}, {state}>"
        )

    def summary(self) -> dict[str, Any]:
        """The landscape's numbers: centre, min (and where), max of the loss and each metric,
        gaps, points done, and what was computed how (method, directions, model, data)."""
        loss = {"name": self.meta.get("loss"), "centre": self.center_loss, **_stats(self.loss, self.x, self.y)}
        metrics = {
            m: {"centre": self.center_metrics.get(m), **_stats(v, self.x, self.y)} for m, v in self.metrics.items()
        }
        direction = self.meta.get("direction", {})
        return {
            "kind": self.kind,
            "method": self.meta.get("method"),
            "dims": self.dims,
            "grid": list(self.meta.get("grid") or self.loss.shape),
            "range": self.meta.get("range"),
            "loss": loss,
            "metrics": metrics,
            "points": {"done": int(self.done.sum()), "total": int(self.done.size), "gaps": self.n_gaps},
            "complete": bool(self.complete),
            "model": self.meta.get("model", {}).get("id"),
            "data": {k: self.meta.get("data", {}).get(k) for k in ("name", "n")},
            "direction": {k: direction[k] for k in _DIRECTION_KEYS if k in direction},
            "markers": {k: list(v) for k, v in self.markers.items()},
            "evaluation": {k: self.meta[k] for k in _EVALUATION_KEYS if k in self.meta},
        }

    def report(self) -> str:
        s = self.summary()
        where = lambda st: "" if st["argmin"] is None else " at " + _point(st["argmin"])  # noqa: E731
        data = s["data"]
        lines = [
            f"{s['method']} landscape, {self.dims}D, grid {self._shape_text()}, "
            f"x {_range(s['range'], 'x')}" + (f", y {_range(s['range'], 'y')}" if self.dims == 2 else ""),
            f"  model: {s['model'] or '-'}; data: {data['name'] or '-'}" + (f" (n={data['n']})" if data["n"] else ""),
        ]
        for label, st in [(f"loss ({s['loss']['name']})", s["loss"]), *s["metrics"].items()]:
            lines.append(
                f"  {label}: centre {_num(st['centre'])}, min {_num(st['min'])}{where(st)}, max {_num(st['max'])}"
            )
        if s["direction"]:
            lines.append("  directions: " + ", ".join(f"{k} {_value(v)}" for k, v in s["direction"].items()))
        for name, xy in s["markers"].items():
            lines.append(f"  marker {name} at {_point(xy)}")
        pts = s["points"]
        state = "complete" if s["complete"] else "partial (resume to finish)"
        lines.append(
            f"  points: {pts['done']}/{pts['total']} done, {pts['gaps']} NaN gap(s), {state}"
            + ("; " + ", ".join(f"{k} {_value(v)}" for k, v in s["evaluation"].items()) if s["evaluation"] else "")
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        s = self.summary()
        rows = [(f"loss ({s['loss']['name']})", s["loss"]), *s["metrics"].items()]
        cells = "".join(
            f"<tr><td>{html.escape(str(label))}</td><td>{_num(st['centre'])}</td><td>{_num(st['min'])}</td>"
            f"<td>{html.escape(_point(st['argmin'])) if st['argmin'] is not None else ''}</td>"
            f"<td>{_num(st['max'])}</td></tr>"
            for label, st in rows
        )
        head = html.escape(self.report().splitlines()[0])
        pts = s["points"]
        foot = html.escape(
            f"{pts['done']}/{pts['total']} points, {pts['gaps']} gap(s), "
            + ("complete" if s["complete"] else "partial")
            + (f"; model {s['model']}" if s["model"] else "")
        )
        return (
            f"<div><b>LandscapeResult</b>: {head}<table><tr><th></th><th>centre</th><th>min</th><th>argmin</th>"
            f"<th>max</th></tr>{cells}</table><small>{foot}</small></div>"
        )


_DIRECTION_KEYS = (
    "seed",
    "normalization",
    "ignore",
    "orthogonalized",
    "cosine_before_orthogonalization",
    "checkpoints",
    "distance",
    "explained_variance",
    "eigenvalues",
    "hessian_method",
    "space",
)
_EVALUATION_KEYS = ("device", "chunk", "batched", "vectorized", "shortcut", "vectorize_fallback", "batched_fallback")


def _stats(values: np.ndarray, x: np.ndarray, y: np.ndarray | None) -> dict[str, Any]:
    """min, max and the coordinates of the min over the finite values (None when there are none)."""
    finite = np.isfinite(values)
    if not finite.any():
        return {"min": None, "max": None, "argmin": None}
    flat = np.where(finite, values, np.inf)
    k = np.unravel_index(int(np.argmin(flat)), values.shape)
    argmin = [float(x[k[0]])] if y is None else [float(x[k[1]]), float(y[k[0]])]
    return {"min": float(values[finite].min()), "max": float(values[finite].max()), "argmin": argmin}


def _num(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.4g}"


def _point(xy) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in xy) + ")"


def _range(r, axis: str) -> str:
    lo, hi = (r or {}).get(axis, [None, None])
    return f"{_num(lo)}..{_num(hi)}"


def _value(v) -> str:
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def save_landscape(result: LandscapeResult, path) -> Path:
    """Write ``result`` as a landscape bundle, atomically (partial grids have complete: false)."""
    return result.save(path)


def load_landscape(path) -> LandscapeResult:
    """Read a landscape bundle back into a LandscapeResult."""
    return LandscapeResult.load(path)
