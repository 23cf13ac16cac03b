"""Landscape results <-> landscape bundles (layout in docs/bundles.md, kind "landscape")."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hubscape.core.bundle import read_bundle, write_bundle
from hubscape.core.errors import BundleError

from .result import LandscapeResult


def landscape_arrays(result: LandscapeResult) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and the meta document of ``result``'s bundle."""
    arrays = {"x": result.x, "loss": result.loss.astype(np.float64), "done": result.done.astype(bool)}
    if result.y is not None:
        arrays["y"] = result.y
    for name, values in result.metrics.items():
        arrays[f"metrics/{name}"] = values.astype(np.float64)
    if result.trajectory_xy is not None:
        arrays["trajectory/xy"] = np.asarray(result.trajectory_xy, dtype=np.float64)
        if result.trajectory_loss is not None:
            arrays["trajectory/loss"] = np.asarray(result.trajectory_loss, dtype=np.float64)
    if result.markers:
        arrays["markers/xy"] = np.asarray([result.markers[n] for n in result.markers], dtype=np.float64)
    meta = dict(result.meta)
    meta.update(
        center_loss=result.center_loss,
        center_metrics=dict(result.center_metrics),
        complete=bool(result.complete),
        markers=list(result.markers),
        n_gaps=int((result.done & ~np.isfinite(result.loss)).sum()),
    )
    return arrays, meta


def save_landscape(result: LandscapeResult, path: str | Path) -> Path:
    """Write ``result`` as a landscape bundle, atomically (partial grids have complete: false)."""
    arrays, meta = landscape_arrays(result)
    return write_bundle(path, "landscape", arrays, meta)


def load_landscape(path: str | Path) -> LandscapeResult:
    """Read a landscape bundle back into a LandscapeResult."""
    b = read_bundle(path, kind="landscape")
    meta = dict(b.meta)
    x = b.array("x")
    y = b.arrays.get("y")
    loss = b.array("loss")
    done = b.arrays.get("done")
    if done is None:
        done = np.isfinite(loss) | bool(meta.get("complete", True))
    names = list(meta.get("metrics") or [])
    metrics = {m: b.array(f"metrics/{m}") for m in names}
    expected = (len(x),) if y is None else (len(y), len(x))
    if loss.shape != expected:
        raise BundleError(f"{path}: loss has shape {loss.shape}, but x/y give {expected}")
    marker_names = meta.pop("markers", []) or []
    xy = b.arrays.get("markers/xy")
    markers = {n: tuple(float(v) for v in xy[i]) for i, n in enumerate(marker_names)} if xy is not None else {}
    center = meta.pop("center_loss", None)
    center_metrics = meta.pop("center_metrics", {}) or {}
    complete = bool(meta.pop("complete", True))
    meta.pop("n_gaps", None)
    return LandscapeResult(
        x=x,
        y=y,
        loss=loss.astype(np.float64),
        done=done.astype(bool),
        metrics=metrics,
        center_loss=center,
        center_metrics=center_metrics,
        complete=complete,
        meta=meta,
        trajectory_xy=b.arrays.get("trajectory/xy"),
        trajectory_loss=b.arrays.get("trajectory/loss"),
        markers=markers,
    )
