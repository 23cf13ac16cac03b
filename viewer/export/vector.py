"""SVG and PDF figures: the 3D view as an embedded raster, axes, ticks, labels and legend as vector.

The raster comes from a ``render_png_bytes(scene, width, height)`` callable (the desktop
renderer supplies one; it gets a copy of the scene without labels, axes, legend and colour
bar, so no text is drawn twice). Everything textual is projected with the scene camera
(``viewer.scene.projection.project``) and drawn by matplotlib's SVG/PDF backends in pixel
coordinates, so a paper's zoom and fonts stay sharp: in SVG the labels are ``<text>``
elements, in PDF embedded TrueType text. Output is deterministic (fixed dates, hash salt)
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
from hubscape.viewer.scene.model import Scene
from hubscape.viewer.scene.projection import project
from hubscape.viewer.scene.themes import Theme, get_theme
from hubscape.viewer.scene.ticks import format_ticks, nice_ticks

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
    """A copy of ``scene`` without the parts drawn as vector (labels, axes, legend, colour bar)."""
    items = [item for item in scene.items if item.kind not in ("labels", "axes")]
    return dataclasses.replace(scene, items=items, legend=None, colorbar=None)


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

    def line(self, p0, p1, color: str, width_px: float = 1.5):
        self.ax.plot([p0[0], p1[0]], [p0[1], p1[1]], color=color, linewidth=width_px * self.pt, solid_capstyle="butt")

    def text(self, xy, text: str, size_px: float, ha="center", va="center", color=None, **kw):
        self.ax.text(xy[0], xy[1], text, fontsize=size_px * self.pt, ha=ha, va=va, color=color or self.text_color, **kw)


def _align(normal) -> tuple[str, str]:
    ha = "left" if normal[0] > 0.35 else "right" if normal[0] < -0.35 else "center"
    va = "top" if normal[1] > 0.35 else "bottom" if normal[1] < -0.35 else "center"
    return ha, va


def _draw_axes(p: _Painter, item, scene: Scene, width: int, height: int, scale: float):
    centre = project(scene.bounds.mean(axis=0)[None], scene.camera, width, height)[0]
    origin = project(item.origin[None], scene.camera, width, height)[0]
    ends = project(item.ends, scene.camera, width, height)
    for k in range(3):
        p0, p1 = origin, ends[k]
        if not (np.isfinite(p0).all() and np.isfinite(p1).all()):
            continue
        d = p1 - p0
        length = float(np.hypot(*d))
        if length < 1.0:
            continue
        d /= length
        normal = np.array([-d[1], d[0]])
        mid = (p0 + p1) / 2
        if np.dot(normal, mid - centre) < 0:
            normal = -normal
        p.line(p0, p1, p.axis_color, 1.5 * scale)
        ha, va = _align(normal)
        for tick in (t for t in item.ticks if t["axis"] == k):
            tp = project(np.array([tick["position"]]), scene.camera, width, height)[0]
            if not np.isfinite(tp).all():
                continue
            p.line(tp, tp + normal * 6 * scale, p.axis_color, 1.2 * scale)
            p.text(tp + normal * 9 * scale, tick["label"], 12 * scale, ha=ha, va=va)
        if item.titles[k]:
            p.text(mid + normal * 34 * scale, item.titles[k], 14 * scale, ha=ha, va=va)


def _draw_labels(p: _Painter, item, scene: Scene, width: int, height: int, scale: float):
    pix = project(item.positions, scene.camera, width, height)
    ha = {"left": "left", "center": "center", "right": "right"}[item.anchor]
    color = _hex(item.color)
    for xy, text in zip(pix, item.texts):
        if np.isfinite(xy).all() and -width < xy[0] < 2 * width and -height < xy[1] < 2 * height:
            p.text(xy, text, item.size * scale, ha=ha, va="center", color=color)


def _draw_legend(p: _Painter, scene: Scene, scale: float):
    for i, entry in enumerate(scene.legend.entries):
        y = (56 + 20 * i) * scale
        p.line((16 * scale, y), (40 * scale, y), _hex(entry["color"]), 4 * scale)
        p.text((48 * scale, y), entry["label"], 13 * scale, ha="left", va="center")


def _draw_colorbar(p: _Painter, scene: Scene, width: int, height: int, scale: float):
    bar = scene.colorbar
    x0, x1 = width - 80 * scale, width - 62 * scale
    y0, y1 = height * 0.25, height * 0.75
    lut = lut_srgb(bar.colormap)[::-1][:, None, :]  # top = vmax
    p.ax.imshow(lut, extent=(x0, x1, y1, y0), aspect="auto", interpolation="nearest", zorder=3)
    p.ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color=p.axis_color, linewidth=1.0 * scale * p.pt, zorder=4)
    lo, hi = bar.vmin, bar.vmax
    if bar.log and lo > 0:
        ticks = nice_ticks(lo, hi, log=True)
        pos = lambda v: (np.log10(v) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))  # noqa: E731
    else:
        ticks = nice_ticks(lo, hi, n=6) if hi > lo else np.array([lo])
        pos = lambda v: (v - lo) / (hi - lo) if hi > lo else 0.5  # noqa: E731
    inside = [t for t in ticks if lo - 1e-12 * abs(lo) <= t <= hi + 1e-12 * abs(hi)] or [lo, hi]
    for t, label in zip(inside, format_ticks(np.array(inside), bar.log)):
        y = y1 - pos(t) * (y1 - y0)
        p.line((x1, y), (x1 + 5 * scale, y), p.axis_color, 1.0 * scale)
        p.text((x1 + 8 * scale, y), label, 12 * scale, ha="left", va="center")
    if bar.label:
        p.text(((x0 + x1) / 2, y0 - 12 * scale), bar.label, 13 * scale, ha="center", va="bottom")


def _figure(scene: Scene, raster: np.ndarray, width: int, height: int, dpi: float, theme: Theme):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=_hex(theme.background))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.imshow(raster, extent=(0, width, height, 0), interpolation="none", zorder=0)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    painter = _Painter(ax, dpi, theme)
    scale = max(0.5, min(width, height) / 800.0)  # text and strokes grow with the figure
    for item in scene.items:
        if item.kind == "axes":
            _draw_axes(painter, item, scene, width, height, scale)
        elif item.kind == "labels":
            _draw_labels(painter, item, scene, width, height, scale)
    if scene.legend is not None and scene.legend.entries:
        _draw_legend(painter, scene, scale)
    if scene.colorbar is not None:
        _draw_colorbar(painter, scene, width, height, scale)
    if scene.title:
        painter.text((width / 2, 14 * scale), scene.title, 18 * scale, ha="center", va="top")
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
