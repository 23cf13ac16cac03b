"""Axis scales with "nice" ticks (1-2-5 steps, or decades on a log axis) mapping data to world.

Heckbert's loose labelling ("Nice numbers for graph labels", Graphics Gems, 1990): the range
is widened to whole steps, so the first and last tick sit at the ends of the axis.

Example::

    >>> nice_ticks(0, 97)
    array([  0.,  20.,  40.,  60.,  80., 100.])
    >>> s = make_scale([0, 97], -5, 5)
    >>> float(s.to_world(50))
    0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hubscape.core.errors import InputError


def nice_number(x: float, round_: bool) -> float:
    """A number of the form {1, 2, 5} x 10^k near ``x`` (rounded, or the next one up)."""
    exp = math.floor(math.log10(x))
    f = x / 10.0**exp
    if round_:
        nf = 1 if f < 1.5 else 2 if f < 3 else 5 if f < 7 else 10
    else:
        nf = 1 if f <= 1 else 2 if f <= 2 else 5 if f <= 5 else 10
    return nf * 10.0**exp


def nice_ticks(lo: float, hi: float, n: int = 5, log: bool = False) -> np.ndarray:
    """About ``n`` ticks covering [lo, hi]: multiples of a 1-2-5 step, or powers of ten if ``log``."""
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"axis range must be finite, got {lo}..{hi}")
    if log:
        return _log_ticks(lo, hi)
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_number(nice_number(hi - lo, False) / max(n - 1, 1), True)
    start, stop = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    decimals = max(0, -math.floor(math.log10(step))) + 1
    return np.round(np.arange(start, stop + 1) * step, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def _log_ticks(lo: float, hi: float) -> np.ndarray:
    if lo <= 0:
        raise InputError(f"a log axis needs positive values, got minimum {lo}")
    a, b = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    if b == a:
        b += 1
    decades = b - a
    if decades <= 2:
        ticks = [m * 10.0**e for e in range(a, b) for m in (1, 2, 5)] + [10.0**b]
        first = max(t for t in ticks if t <= lo * (1 + 1e-9))
        last = min(t for t in ticks if t >= hi * (1 - 1e-9))
        return np.array([t for t in ticks if first <= t <= last])
    stride = max(1, math.ceil(decades / 6))
    a = a - (a % stride)
    b = b + (-b % stride)
    return 10.0 ** np.arange(a, b + 1, stride, dtype=np.float64)


def format_ticks(ticks: np.ndarray, log: bool = False) -> list[str]:
    """Tick labels with as many decimals as the step needs ("0.25", "20", "1e-05")."""
    ticks = np.asarray(ticks, dtype=np.float64)
    if log:
        return [f"{t:g}" if 1e-3 <= t < 1e5 else f"1e{round(math.log10(t))}" for t in ticks]
    big = np.max(np.abs(ticks)) if ticks.size else 0.0
    step = np.min(np.diff(ticks)) if ticks.size > 1 else (abs(ticks[0]) if ticks.size and ticks[0] else 1.0)
    if big >= 1e6 or (step and step < 1e-4):
        return [f"{t:.3g}" for t in ticks]
    decimals = next(d for d in range(0, 12) if abs(round(step, d) - step) <= 1e-9 * step)
    return [f"{t:.{decimals}f}" for t in ticks]


def format_value(value: float, digits: int = 4) -> str:
    """A number for a label: ``digits`` significant digits, scientific when tiny or huge, never "-0"."""
    v = float(value)
    if not math.isfinite(v):
        return "n/a" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if v == 0 or abs(v) < 0.5 * 10.0**-12:
        return "0"
    text = f"{v:.{digits}g}"
    return "0" if float(text) == 0 else text


@dataclass(frozen=True, eq=False)
class Scale:
    """A linear or log10 map from the data range [lo, hi] to world [world_lo, world_hi], with ticks."""

    lo: float
    hi: float
    world_lo: float
    world_hi: float
    log: bool
    ticks: np.ndarray
    labels: tuple

    def _f(self, v):
        v = np.asarray(v, dtype=np.float64)
        if not self.log:
            return v
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(np.where(np.isnan(v) | (v >= self.lo), v, self.lo))  # NaN stays a gap

    def to_world(self, values) -> np.ndarray:
        """World coordinates of data values; on a log axis values below its start go to the start."""
        flo, fhi = self._f(self.lo), self._f(self.hi)
        span = fhi - flo
        t = (self._f(values) - flo) / span if span else np.zeros_like(np.asarray(values, np.float64))
        return self.world_lo + t * (self.world_hi - self.world_lo)


def make_scale(
    values, world_lo: float, world_hi: float, log: bool = False, n: int = 5, include_zero: bool = False
) -> Scale:
    """A Scale whose nice ticks cover the finite (positive, if ``log``) ``values``."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if log:
        v = v[v > 0]
    if v.size == 0:
        raise InputError("nothing to draw on this axis: no finite" + (" positive" if log else "") + " values")
    lo, hi = float(v.min()), float(v.max())
    if include_zero and not log:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    ticks = nice_ticks(lo, hi, n=n, log=log)
    return Scale(
        lo=float(ticks[0]),
        hi=float(ticks[-1]),
        world_lo=float(world_lo),
        world_hi=float(world_hi),
        log=log,
        ticks=ticks,
        labels=tuple(format_ticks(ticks, log)),
    )


def axes_ticks(origin, scales) -> list[dict]:
    """Tick records for an Axes item: for each axis k with a Scale, ticks along the line from ``origin``."""
    ticks = []
    for k, scale in enumerate(scales):
        if scale is None:
            continue
        for value, label in zip(scale.ticks, scale.labels):
            position = [float(v) for v in origin]
            position[k] = float(scale.to_world(value))
            ticks.append({"axis": k, "position": position, "label": label})
    return ticks


def box_axes(lo, hi, scales, titles, name: str = "axes", log=None, depth_side: str = "right") -> list:
    """Axes items for a data box seen from the front (+z), the builders' default view.

    x runs along the front edge (z = hi), y stands at the front-left corner, and z runs along
    the right edge (x = hi; ``depth_side="left"``: the left edge, for a view from the front-left),
    so the floor-level axes lie in front of what the box holds rather than behind it. Returns
    two Axes items (the second holds only the z axis; an axis without a Scale has no ticks, and
    a zero-length axis is not drawn).
    """
    from .model import Axes

    lo, hi = [float(v) for v in lo], [float(v) for v in hi]
    log = log or [bool(s is not None and s.log) for s in scales]
    centre = [(a + b) / 2 for a, b in zip(lo, hi)]
    origin = [lo[0], lo[1], hi[2]]
    main = Axes(
        origin=origin,
        ends=[[hi[0], lo[1], hi[2]], [lo[0], hi[1], hi[2]], origin],
        ticks=axes_ticks(origin, [scales[0], scales[1], None]),
        titles=[titles[0], titles[1], ""],
        log=[log[0], log[1], False],
        name=name,
        centre=centre,
    )
    if scales[2] is None and not titles[2]:
        return [main]
    side = hi[0] if depth_side == "right" else lo[0]
    corner = [side, lo[1], hi[2]]
    depth = Axes(
        origin=corner,
        ends=[corner, corner, [side, lo[1], lo[2]]],
        ticks=axes_ticks(corner, [None, None, scales[2]]),
        titles=["", "", titles[2]],
        log=[False, False, log[2]],
        name=f"{name} (depth)",
        centre=centre,
    )
    return [main, depth]
