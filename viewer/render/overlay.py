"""The flat layer over the 3D view in pygfx: every text, the title, legend, colour bar and charts.

Everything here is in screen pixels (pygfx's ScreenCoordsCamera, y up): the labels placed by
``viewer.scene.labels`` and the figure parts laid out by ``viewer.scene.figure``, both as the
drawing primitives that the SVG/PDF exporter and the browser draw too, so every renderer puts
them in the same place. Text has a halo in the background colour. The window rebuilds the
labels when its camera moves; exports build them once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygfx as gfx

from hubscape.viewer.scene.colormaps import apply_colormap
from hubscape.viewer.scene.figure import (
    Regions,
    figure_primitives,
    figure_regions,
    label_primitives,
)
from hubscape.viewer.scene.labels import Layout
from hubscape.viewer.scene.themes import Theme

HALO = 0.28  # outline thickness of text, relative to the font size
_font_family: str | None = None


def font_family() -> str | None:
    """DejaVu Sans for pygfx text (the font whose widths the label layout uses), if it is installed."""
    global _font_family
    if _font_family is None:
        from pygfx.utils.text import font_manager

        candidates = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]
        try:
            import matplotlib

            candidates.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
        except ImportError:  # matplotlib is optional here
            pass
        found = next((p for p in candidates if p.exists()), None)
        _font_family = ""
        if found is not None:
            font_manager.add_font_file(str(found))
            _font_family = "DejaVu Sans"
    return _font_family or None


def _color(rgba, alpha: float = 1.0) -> gfx.Color:
    r, g, b, a = (float(c) for c in rgba)
    return gfx.Color.from_physical(r, g, b, a * alpha)


class Overlay:
    """The screen-space layer of one scene at one size: ``root`` drawn with ``camera`` after the 3D pass."""

    def __init__(self, scene, theme: Theme, width: float, height: float, scale: float = 1.0):
        self.scene, self.theme, self.width, self.height = scene, theme, float(width), float(height)
        self.root = gfx.Scene()
        self.camera = gfx.ScreenCoordsCamera()
        self.regions: Regions = figure_regions(scene, width, height, scale)
        self._parts = figure_primitives(scene, theme, self.regions, width)
        self._labels: list[dict] = []
        self.parts = self._group(self._parts)
        self.labels = gfx.Group()
        self.root.add(self.parts, self.labels)

    def set_labels(self, layout: Layout, dim=None) -> None:
        """Replace the drawn labels with ``layout``'s (``dim(group) -> bool`` fades some)."""
        self.root.remove(self.labels)
        self._labels = label_primitives(layout, self.theme, dim)
        self.labels = self._group(self._labels)
        self.root.add(self.labels)

    def texts(self) -> list[str]:
        """Every text drawn in the overlay (figure parts and labels)."""
        return [p["text"] for p in [*self._parts, *self._labels] if p["kind"] == "text"]

    # -- primitives (y down in, pygfx's y up out) -----------------------------------------------
    def _group(self, primitives) -> gfx.Group:
        group = gfx.Group()
        for p in primitives:
            group.add(*getattr(self, "_" + p["kind"])(p))
        return group

    def _xy(self, points) -> np.ndarray:
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        out = np.zeros((pts.shape[0], 3), np.float32)
        out[:, 0], out[:, 1] = pts[:, 0], self.height - pts[:, 1]
        return out

    def _text(self, p) -> list:
        anchor = {"left": "middle-left", "center": "middle-center", "right": "middle-right"}[p["align"]]
        material = gfx.TextMaterial(
            color=_color(p["color"]),
            aa=True,
            alpha_mode="blend",
            outline_color=_color(self.theme.background),
            outline_thickness=HALO,
            weight_offset=150 if p["bold"] else 0,
        )
        label = gfx.Text(
            text=p["text"],
            font_size=p["size"],
            screen_space=True,
            anchor=anchor,
            family=font_family(),
            material=material,
        )
        label.local.position = tuple(self._xy([(p["x"], p["y"])])[0])
        return [label]

    def _line(self, p) -> list:
        dash = p["dash"]
        material = gfx.LineMaterial(
            thickness=p["width"],
            color=_color(p["color"], p["alpha"]),
            aa=True,
            alpha_mode="blend",
            dash_pattern=(dash, 0.6 * dash) if dash else (),
        )
        return [gfx.Line(gfx.Geometry(positions=self._xy(p["points"])), material)]

    def _rect(self, p) -> list:
        x0, y0, x1, y1 = p["box"]
        positions = self._xy([(x0, y1), (x1, y1), (x1, y0), (x0, y0)])
        geometry = gfx.Geometry(positions=positions, indices=np.array([[0, 1, 2], [0, 2, 3]], np.uint32))
        return [gfx.Mesh(geometry, gfx.MeshBasicMaterial(color=_color(p["color"], p["alpha"]), alpha_mode="blend"))]

    def _dot(self, p) -> list:
        material = gfx.PointsMaterial(color=_color(p["color"]), size=p["size"], size_space="screen", aa=True)
        return [gfx.Points(gfx.Geometry(positions=self._xy([(p["x"], p["y"])])), material)]

    def _gradient(self, p) -> list:
        x0, y0, x1, y1 = p["box"]
        k = 65
        colors = apply_colormap(np.linspace(0, 1, k), p["colormap"], 0.0, 1.0)
        ys = np.linspace(y1, y0, k)
        positions = self._xy([(x, y) for y in ys for x in (x0, x1)])
        quads = [[2 * i, 2 * i + 1, 2 * i + 3] for i in range(k - 1)] + [
            [2 * i, 2 * i + 3, 2 * i + 2] for i in range(k - 1)
        ]
        geometry = gfx.Geometry(
            positions=positions, indices=np.array(quads, np.uint32), colors=np.repeat(colors, 2, axis=0)
        )
        return [gfx.Mesh(geometry, gfx.MeshBasicMaterial(color_mode="vertex"))]
