"""LandscapeResult: a computed (or partly computed) landscape in memory.

Arrays follow docs/bundles.md (landscape kind): ``loss[j, i]`` is the loss at
(``x[i]``, ``y[j]``); NaN is a gap (a non-finite loss, or a point not yet done in a partial
grid, see ``done``). ``meta`` is the bundle's JSON document without the fields kept as
attributes (``center_loss``, ``complete``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class LandscapeResult:
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

    def save(self, path):
        """Write this result as a landscape bundle (atomically) and return the path."""
        from .bundle import save_landscape

        return save_landscape(self, path)

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
