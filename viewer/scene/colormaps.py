"""Colormaps and colour spaces as numpy tables (no matplotlib, so scenes build in Pyodide).

Scene colours are *linear* RGBA (what shaders blend and glTF expects); colormap tables and
hex colours are sRGB, as designers write them. ``apply_colormap`` maps data values to linear
RGBA; ``linear_to_srgb`` converts back for SVG and for pixel expectations in tests.

Example::

    >>> apply_colormap(np.array([0.0, 1.0, np.nan]), "viridis", 0.0, 1.0)[:, 3]
    array([1., 1., 0.], dtype=float32)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from hubscape.core.errors import InputError

from ._luts import LUT_HEX

#: The Tron colormap: dark blue through neon blue and cyan to white (sRGB control points).
_TRON_STOPS = np.array(
    [
        [0.00, 0.02, 0.04, 0.16],
        [0.35, 0.00, 0.22, 0.80],
        [0.70, 0.00, 0.90, 1.00],
        [1.00, 0.92, 1.00, 1.00],
    ]
)


#: Signed values on black: neon orange (negative) through dark to neon cyan (positive).
_TRON_DIVERGING_STOPS = np.array(
    [
        [0.00, 1.00, 0.60, 0.00],
        [0.35, 0.45, 0.18, 0.02],
        [0.50, 0.06, 0.06, 0.10],
        [0.65, 0.00, 0.30, 0.42],
        [1.00, 0.00, 1.00, 1.00],
    ]
)
_STOPS = {"tron": _TRON_STOPS, "tron_diverging": _TRON_DIVERGING_STOPS}


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """The sRGB transfer function inverted (IEC 61966-2-1), element-wise on [0, 1] values."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear light to sRGB-encoded values in [0, 1]."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def hex_to_rgba(text: str, alpha: float = 1.0) -> np.ndarray:
    """'#RRGGBB' (sRGB) as linear RGBA float32 (4,)."""
    text = text.lstrip("#")
    if len(text) != 6:
        raise InputError(f"colour must be #RRGGBB, got {text!r}")
    srgb = np.array([int(text[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64) / 255.0
    return np.append(srgb_to_linear(srgb), alpha).astype(np.float32)


def colormap_names() -> list[str]:
    return sorted([*LUT_HEX, *_STOPS])


@cache
def lut_srgb(name: str) -> np.ndarray:
    """The 256 x 3 sRGB table of colormap ``name`` (read-only)."""
    if name in _STOPS:
        stops, x = _STOPS[name], np.linspace(0.0, 1.0, 256)
        table = np.stack([np.interp(x, stops[:, 0], stops[:, k]) for k in (1, 2, 3)], axis=1)
    elif name in LUT_HEX:
        table = np.frombuffer(bytes.fromhex(LUT_HEX[name]), dtype=np.uint8).reshape(256, 3) / 255.0
    else:
        raise InputError(f"unknown colormap {name!r}; expected one of {', '.join(colormap_names())}")
    table.setflags(write=False)
    return table


@cache
def lut_linear(name: str) -> np.ndarray:
    """The 256 x 3 table of colormap ``name`` in linear light (read-only): decoded once, then looked up."""
    table = srgb_to_linear(lut_srgb(name))
    table.setflags(write=False)
    return table


def normalize(values: np.ndarray, vmin: float, vmax: float, log: bool = False) -> np.ndarray:
    """Values scaled to [0, 1] between vmin and vmax (log10 scale if ``log``); NaN stays NaN."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(vmin), float(vmax)
    if log:
        if lo <= 0:
            raise InputError(f"a log colour scale needs vmin > 0, got {lo}")
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log10(np.where(v > 0, v, np.nan))
        lo, hi = np.log10(lo), np.log10(hi)
    span = hi - lo
    if not span > 0:
        return np.where(np.isnan(v), np.nan, 0.5)
    return np.clip((v - lo) / span, 0.0, 1.0)


def apply_colormap(
    values: np.ndarray, name: str, vmin: float, vmax: float, log: bool = False, alpha: float = 1.0
) -> np.ndarray:
    """Map values to linear RGBA float32 (n, 4) via the LUT; NaN values get alpha 0."""
    t = normalize(values, vmin, vmax, log).reshape(-1)
    finite = np.isfinite(t)
    index = np.where(finite, np.rint(np.nan_to_num(t) * 255), 0).astype(np.intp)
    out = np.empty((t.size, 4), dtype=np.float32)
    out[:, :3] = np.take(lut_linear(name), index, axis=0)
    out[:, 3] = np.where(finite, alpha, 0.0)
    return out
