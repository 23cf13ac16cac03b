"""SVG and PDF figures: the 3D view as an embedded raster, axes, ticks, labels and legend as vector.

The raster comes from a ``render_png_bytes(scene, width, height)`` callable (the desktop
renderer supplies one; it gets a copy of the scene without labels, axes, legend, colour bar,
charts and title, so no text is drawn twice). Texts go where ``viewer.scene.labels`` places
them (the same layout as the PNG and the browser), with the same halo; the title, legend,
colour bar and charts where ``viewer.scene.figure`` puts them. All is drawn by matplotlib's
SVG/PDF backends in pixel coordinates, so a paper's zoom and fonts stay sharp: in SVG the
labels are ``<text>`` elements, in PDF embedded TrueType text. Output is deterministic (fixed dates, hash salt)
and written atomically.

Example::

    >>> from hubscape.viewer.render.offscreen import render_png_bytes   # from the pygfx renderer
    >>> export_vector(scene, "figure.svg", render_png_bytes, width=1600, height=1000, dpi=200)
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hubscape.core.atomic import atomic_path
from hubscape.core.errors import InputError
from hubscape.viewer.scene.colormaps import linear_to_srgb, lut_srgb
from hubscape.viewer.scene.figure import figure_primitives, figure_regions, label_primitives
from hubscape.viewer.scene.labels import layout_scene
from hubscape.viewer.scene.model import Scene
from hubscape.viewer.scene.projection import View
from hubscape.viewer.scene.themes import Theme, get_theme

MAX_SIDE = 16384
FORMATS = ("svg", "pdf")
RasterFn = Callable[[Scene, int, int], "bytes | np.ndarray"]


def check_size(width: int, height: int, dpi: float) -> None:
    """One-line InputErrors for sizes no figure can have."""
    if not (isinstance(width, (int, np.integer)) and isinstance(height, (int, np.integer))):
        raise InputError(f"figure size must be whole pixels, got {width!r}x{height!r}")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise InputError(f"figure size {width}x{height} is impossible; each side must be 1..{MAX_SIDE} pixels")
    if not (10 <= dpi <= 2400):
        raise InputError(f"dpi must be within 10..2400, got {dpi}")


def view_only(scene: Scene) -> Scene:
    """A copy of ``scene`` without the parts drawn as vector (labels, axes, legend, colour bar, charts, title)."""
    items = [item for item in scene.items if item.kind not in ("labels", "axes")]
    return dataclasses.replace(scene, items=items, legend=None, colorbar=None, charts=[], title="")


def _raster(render_png_bytes: RasterFn, scene: Scene, width: int, height: int) -> np.ndarray:
    out = render_png_bytes(view_only(scene), width, height)
    if isinstance(out, (bytes, bytearray)):
        from PIL import Image

        with Image.open(io.BytesIO(out)) as img:
            out = np.asarray(img.convert("RGBA"))
    arr = np.asarray(out)
    if arr.ndim != 3 or arr.shape[:2] != (height, width) or arr.shape[2] not in (3, 4):
        raise InputError(f"the renderer returned an image of shape {arr.shape}, expected ({height}, {width}, 3 or 4)")
    return arr


def _hex(color) -> str:
    srgb = np.round(linear_to_srgb(np.asarray(color, np.float64)[:3]) * 255).astype(int)
    return "#" + "".join(f"{c:02x}" for c in srgb)


class _Painter:
    """Draws text and lines in pixel coordinates (origin top-left, y down) on a full-figure axes."""

    def __init__(self, ax, dpi: float, theme: Theme):
        self.ax, self.pt, self.theme = ax, 72.0 / dpi, theme
        self.text_color, self.axis_color = _hex(theme.text_color), _hex(theme.axis_color)
        self.halo = _hex(theme.background)

    def line(self, p0, p1, color: str, width_px: float = 1.5, dash: float = 0.0, alpha: float = 1.0):
        self.polyline([p0, p1], color, width_px, dash, alpha)

    def polyline(self, points, color: str, width_px: float = 1.5, dash: float = 0.0, alpha: float = 1.0):
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        style = {"linestyle": (0, (dash / width_px, 0.6 * dash / width_px))} if dash else {}
        self.ax.plot(
            pts[:, 0], pts[:, 1], color=color, linewidth=width_px * self.pt, solid_capstyle="butt", alpha=alpha, **style
        )

    def rect(self, box, color: str, alpha: float = 1.0):
        from matplotlib.patches import Rectangle

        x0, y0, x1, y1 = box
        self.ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=color, edgecolor="none", alpha=alpha))

    def text(self, xy, text: str, size_px: float, ha="center", va="center", color=None, halo: bool = True, **kw):
        """Text at ``xy`` with a halo in the background colour (a stroked copy underneath, drawn as
        paths, so the text itself stays text in SVG and PDF)."""
        from matplotlib import patheffects

        if halo:
            stroke = [patheffects.withStroke(linewidth=0.5 * size_px * self.pt, foreground=self.halo)]
            kw_halo = {k: v for k, v in kw.items() if k != "alpha"}
            self.ax.text(
                xy[0],
                xy[1],
                text,
                fontsize=size_px * self.pt,
                ha=ha,
                va=va,
                color=self.halo,
                path_effects=stroke,
                **kw_halo,
            )
        self.ax.text(xy[0], xy[1], text, fontsize=size_px * self.pt, ha=ha, va=va, color=color or self.text_color, **kw)


def _draw_axis_lines(p: _Painter, item, scene: Scene, width: int, height: int, scale: float):
    """An Axes item's lines and tick marks (its texts come from the label layout)."""
    view = View.of(scene.camera, width, height)
    origin = view.project(item.origin[None])[0]
    ends = view.project(item.ends)
    span = float(np.max(np.linalg.norm(item.ends - item.origin, axis=1))) or 1.0
    for k in range(3):
        if np.allclose(item.ends[k], item.origin) or not (np.isfinite(origin).all() and np.isfinite(ends[k]).all()):
            continue
        p.line(origin, ends[k], p.axis_color, 1.5 * scale)
    for tick in item.ticks:
        pos = np.asarray(tick["position"], np.float64)
        off = np.array([0.0, -0.015 * span, 0.0]) if tick["axis"] != 1 else np.array([-0.015 * span, 0.0, 0.0])
        a, b = view.project(np.array([pos, pos + off]))
        if np.isfinite(a).all() and np.isfinite(b).all():
            p.line(a, b, p.axis_color, 1.2 * scale)


def _draw(p: _Painter, primitives: list[dict]):
    """Draw figure primitives (viewer.scene.figure): text, lines, rectangles, dots, colour strips."""
    for q in primitives:
        kind = q["kind"]
        if kind == "text":
            p.text(
                (q["x"], q["y"]),
                q["text"],
                q["size"],
                ha=q["align"],
                va="center",
                color=_hex(q["color"]),
                alpha=float(q["color"][3]),
                fontweight="bold" if q["bold"] else "normal",
            )
        elif kind == "line":
            p.polyline(q["points"], _hex(q["color"]), q["width"], dash=q["dash"], alpha=q["alpha"] * q["color"][3])
        elif kind == "rect":
            p.rect(q["box"], _hex(q["color"]), alpha=q["alpha"])
        elif kind == "dot":
            p.ax.plot([q["x"]], [q["y"]], "o", color=_hex(q["color"]), markersize=q["size"] * p.pt, markeredgewidth=0)
        elif kind == "gradient":
            x0, y0, x1, y1 = q["box"]
            lut = lut_srgb(q["colormap"])[::-1][:, None, :]  # top = the colormap's end
            p.ax.imshow(lut, extent=(x0, x1, y1, y0), aspect="auto", interpolation="nearest", zorder=3)


def _figure(scene: Scene, raster: np.ndarray, width: int, height: int, dpi: float, theme: Theme):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=_hex(theme.background))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.imshow(raster, extent=(0, width, height, 0), interpolation="none", zorder=0)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    painter = _Painter(ax, dpi, theme)
    regions = figure_regions(scene, width, height)
    scale = regions.scale  # text and strokes grow with the figure
    for item in scene.items:
        if item.kind == "axes":
            _draw_axis_lines(painter, item, scene, width, height, scale)
    layout = layout_scene(scene, width, height, scale=scale, obstacles=regions.obstacles())
    _draw(painter, label_primitives(layout, theme))
    _draw(painter, figure_primitives(scene, theme, regions, width))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    return fig


def export_vector(
    scene: Scene,
    path: str | Path,
    render_png_bytes: RasterFn,
    width: int = 1600,
    height: int = 1000,
    dpi: float = 200.0,
) -> Path:
    """Write an SVG or PDF (by the suffix of ``path``) of ``scene`` in the scene's theme; returns the path.

    For another theme, build the scene in that theme (``build_scene(source, theme=...)``):
    label and colormap colours are baked into the scene by its builder.
    """
    import matplotlib

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(f"vector export writes .svg or .pdf files; got {path.name!r}")
    check_size(width, height, dpi)
    th = get_theme(scene.theme)
    raster = _raster(render_png_bytes, scene, width, height)
    rc = {
        "svg.fonttype": "none",
        "svg.hashsalt": "hubscape",
        "pdf.fonttype": 42,
        "font.family": "DejaVu Sans",
        "svg.image_inline": True,
        "image.composite_image": False,
    }
    metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None, "ModDate": None, "Producer": "hubscape"}
    with matplotlib.rc_context(rc):
        fig = _figure(scene, raster, width, height, dpi, th)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, facecolor=fig.get_facecolor(), metadata=metadata)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def export_svg(scene: Scene, path: str | Path, render_png_bytes: RasterFn, **options) -> Path:
    """``export_vector`` to an .svg file."""
    if Path(path).suffix.lower() != ".svg":
        raise InputError(f"export_svg writes .svg files; got {Path(path).name!r}")
    return export_vector(scene, path, render_png_bytes, **options)


def export_pdf(scene: Scene, path: str | Path, render_png_bytes: RasterFn, **options) -> Path:
    """``export_vector`` to a .pdf file."""
    if Path(path).suffix.lower() != ".pdf":
        raise InputError(f"export_pdf writes .pdf files; got {Path(path).name!r}")
    return export_vector(scene, path, render_png_bytes, **options)
