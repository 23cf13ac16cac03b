"""Screen-space overlay of a raster figure: title, legend and colour bar.

Laid out like the SVG/PDF exporter (viewer/export/vector.py) so a PNG and a PDF of the same
scene read the same: title centred at the top, legend top-left, colour bar at the right,
everything scaled with the figure (``figure_scale``). Coordinates are pixels of the full
image with y up (pygfx's ScreenCoordsCamera); tiles shift the root node.
"""

from __future__ import annotations

import numpy as np
import pygfx as gfx

from hubscape.viewer.scene.colormaps import apply_colormap
from hubscape.viewer.scene.themes import Theme
from hubscape.viewer.scene.ticks import format_ticks, nice_ticks


def figure_scale(width: int, height: int) -> float:
    """How much text and strokes grow with the figure (1 at 800 px on the short side)."""
    return max(0.5, min(width, height) / 800.0)


def _color(rgba) -> gfx.Color:
    return gfx.Color.from_physical(*[float(c) for c in rgba])


def _text(text: str, x: float, y: float, size: float, color, anchor: str) -> gfx.Text:
    label = gfx.Text(
        text=text,
        font_size=size,
        screen_space=True,
        anchor=anchor,
        material=gfx.TextMaterial(color=_color(color), aa=True),
    )
    label.local.position = (x, y, 0)
    return label


def _quad(x0: float, y0: float, x1: float, y1: float, colors) -> gfx.Mesh:
    """An axis-aligned rectangle; ``colors`` (4, 4) linear RGBA for corners bl, br, tr, tl."""
    positions = np.array([[x0, y0, 0], [x1, y0, 0], [x1, y1, 0], [x0, y1, 0]], np.float32)
    geometry = gfx.Geometry(
        positions=positions, indices=np.array([[0, 1, 2], [0, 2, 3]], np.uint32), colors=np.asarray(colors, np.float32)
    )
    return gfx.Mesh(geometry, gfx.MeshBasicMaterial(color_mode="vertex"))


def build_overlay(scene, theme: Theme, width: int, height: int) -> gfx.Group | None:
    """The overlay of ``scene`` for a width x height image, or None if it has nothing to show."""
    s = figure_scale(width, height)
    root = gfx.Group()
    if scene.title:
        root.add(_text(scene.title, width / 2, height - 14 * s, 18 * s, theme.text_color, "top-center"))
    if scene.legend is not None:
        for i, entry in enumerate(scene.legend.entries):
            y = height - (56 + 20 * i) * s
            root.add(_quad(16 * s, y - 2 * s, 40 * s, y + 2 * s, [entry["color"]] * 4))
            root.add(_text(entry["label"], 48 * s, y, 13 * s, theme.text_color, "middle-left"))
    if scene.colorbar is not None:
        _add_colorbar(root, scene.colorbar, theme, width, height, s)
    return root if root.children else None


def _add_colorbar(root: gfx.Group, bar, theme: Theme, width: int, height: int, s: float) -> None:
    x0, x1 = width - 80 * s, width - 62 * s
    y_lo, y_hi = height * 0.25, height * 0.75
    steps = 64
    fractions = np.linspace(0.0, 1.0, steps + 1)
    colors = apply_colormap(fractions, bar.colormap, 0.0, 1.0)
    for k in range(steps):
        a, b = y_lo + fractions[k] * (y_hi - y_lo), y_lo + fractions[k + 1] * (y_hi - y_lo)
        root.add(_quad(x0, a, x1, b, [colors[k], colors[k], colors[k + 1], colors[k + 1]]))
    lo, hi = bar.vmin, bar.vmax
    log = bar.log and lo > 0
    ticks = nice_ticks(lo, hi, log=True) if log else (nice_ticks(lo, hi, n=6) if hi > lo else np.array([lo]))
    inside = [t for t in ticks if lo - 1e-12 * abs(lo) <= t <= hi + 1e-12 * abs(hi)] or [lo, hi]
    for t, label in zip(inside, format_ticks(np.array(inside), log)):
        if log:
            f = (np.log10(t) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
        else:
            f = (t - lo) / (hi - lo) if hi > lo else 0.5
        y = y_lo + f * (y_hi - y_lo)
        root.add(_quad(x1, y - 0.5 * s, x1 + 5 * s, y + 0.5 * s, [theme.axis_color] * 4))
        root.add(_text(label, x1 + 8 * s, y, 12 * s, theme.text_color, "middle-left"))
    if bar.label:
        root.add(_text(bar.label, (x0 + x1) / 2, y_hi + 12 * s, 13 * s, theme.text_color, "bottom-center"))
