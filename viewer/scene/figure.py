"""Where the flat parts of a figure go: title, legend, colour bar and 2D charts, in pixels.

One layout for every renderer that draws a complete figure (offscreen PNG, SVG/PDF, the
desktop window and, ported in ``static/js/figure.js``, the browser's PNG export and its
on-screen colour bar and charts): title centred at the top, the legend below the view in as
many columns as fit, the colour bar at the right, charts in their corner. Sizes grow with
the figure (``figure_scale``: 1 at 800 pixels on the short side). The same regions are kept
free of labels (``obstacles``) and, at the builders' nominal 1200 x 800, out of the camera's
framing (``camera_margins``), so the 3D view never runs under them.

Example::

    >>> regions = figure_regions(scene, 1600, 1000)
    >>> regions.colorbar.bar, [r.box for r in regions.charts]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .labels import text_width
from .ticks import format_ticks, nice_ticks

NOMINAL = (1200, 800)  # the figure size the builders frame their cameras for
LEGEND_ROW = 18.0
LEGEND_SWATCH = 24.0
LEGEND_TEXT = 13.0
LEGEND_MAX_CHARS = 44
TITLE_SIZE = 18.0
TITLE_BAND = 40.0
COLORBAR_WIDTH = 18.0
COLORBAR_BAND = 96.0  # the bar, its ticks and labels
MARGIN = 16.0
CHART_KEY_ROW = 15.0


def figure_scale(width: float, height: float) -> float:
    """How much text and strokes grow with the figure (1 at 800 px on the short side)."""
    return max(0.5, min(width, height) / 800.0)


def legend_text(label: str) -> str:
    """A legend label shortened in the middle to at most ``LEGEND_MAX_CHARS`` characters."""
    if len(label) <= LEGEND_MAX_CHARS:
        return label
    keep = LEGEND_MAX_CHARS - 1
    return label[: keep // 2] + "\u2026" + label[-(keep - keep // 2) :]


@dataclass
class LegendLayout:
    box: tuple  # x0, y0, x1, y1 (pixels, y down)
    entries: list = field(default_factory=list)  # (x, y, text, color): swatch starts at x, text at x + swatch


@dataclass
class ColorbarLayout:
    box: tuple  # the whole band (bar, ticks, labels, title)
    bar: tuple  # x0, y0, x1, y1 of the bar itself; vmax at the top
    label: tuple | None = None  # the title's own box where it reaches left of the band (a long title)


@dataclass
class ChartLayout:
    box: tuple  # the chart's panel
    plot: tuple  # the plotting area inside it (axes run along its left and bottom edges)


@dataclass
class Regions:
    scale: float
    title: tuple | None = None
    legend: LegendLayout | None = None
    colorbar: ColorbarLayout | None = None
    charts: list = field(default_factory=list)

    def obstacles(self) -> list[tuple]:
        """Every reserved rectangle (labels are kept out of them)."""
        out = [r for r in (self.title,) if r is not None]
        out += [part.box for part in (self.legend, self.colorbar) if part is not None]
        if self.colorbar is not None and self.colorbar.label is not None:
            out.append(self.colorbar.label)
        out += [c.box for c in self.charts]
        return out


def figure_regions(
    scene, width: float, height: float, scale: float | None = None, legend: bool = True, title: bool = True
) -> Regions:
    """The regions of ``scene``'s title, legend, colour bar and charts in a width x height figure."""
    s = figure_scale(width, height) if scale is None else scale
    out = Regions(scale=s)
    if title and scene.title:
        out.title = (0.0, 0.0, float(width), TITLE_BAND * s)
    bottom = float(height)
    if legend and scene.legend is not None and scene.legend.entries:
        out.legend = _legend(scene.legend.entries, width, height, s)
        bottom = out.legend.box[1]
    right = float(width)
    if scene.colorbar is not None:
        x1 = width - MARGIN * s
        bar_x0 = x1 - COLORBAR_BAND * s + MARGIN * s
        top = max(height * 0.22, (TITLE_BAND + 24) * s)
        bar = (bar_x0, top, bar_x0 + COLORBAR_WIDTH * s, min(top + height * 0.5, bottom - 40 * s))
        out.colorbar = ColorbarLayout(box=(x1 - COLORBAR_BAND * s, top - 28 * s, x1, bar[3] + 8 * s), bar=bar)
        if scene.colorbar.label:
            centre, half = colorbar_label_x(scene.colorbar.label, bar, width, s)
            if centre - half < out.colorbar.box[0]:
                out.colorbar.label = (centre - half - 4 * s, top - 28 * s, out.colorbar.box[0], top - 2 * s)
        right = out.colorbar.box[0]
    for chart in scene.charts:
        w, h = chart.size[0] * s, chart.size[1] * s
        x0 = MARGIN * s if chart.corner.endswith("left") else right - MARGIN * s - w
        y0 = (TITLE_BAND + 8) * s if chart.corner.startswith("top") else bottom - MARGIN * s - h
        box = (x0, y0, x0 + w, y0 + h)
        keys = math.ceil(len(chart.series) / 2)  # the key: two columns above the plot
        plot = (box[0] + 46 * s, box[1] + (30 + CHART_KEY_ROW * keys + 8) * s, box[2] - 14 * s, box[3] - 40 * s)
        out.charts.append(ChartLayout(box=box, plot=plot))
    return out


def _legend(entries, width, height, s) -> LegendLayout:
    texts = [legend_text(e["label"]) for e in entries]
    column = max(text_width(t, LEGEND_TEXT * s) for t in texts) + (LEGEND_SWATCH + 8 + 20) * s
    ncol = max(1, min(len(texts), int((width - 2 * MARGIN * s) // column)))
    rows = math.ceil(len(texts) / ncol)
    total = ncol * column
    x_start = max(MARGIN * s, (width - total) / 2)
    y1 = height - MARGIN * s * 0.5
    y0 = y1 - rows * LEGEND_ROW * s - 6 * s
    placed = []
    for k, (entry, text) in enumerate(zip(entries, texts)):
        col, row = divmod(k, rows)
        placed.append((x_start + col * column, y0 + (row + 0.5) * LEGEND_ROW * s + 3 * s, text, entry["color"]))
    return LegendLayout(box=(x_start, y0, x_start + total, y1), entries=placed)


def camera_margins(scene, width: float = NOMINAL[0], height: float = NOMINAL[1]) -> tuple:
    """(left, top, right, bottom) fractions of the frame the 3D view leaves to the flat parts."""
    r = figure_regions(scene, width, height)
    top = (r.title[3] / height) if r.title else 0.0
    bottom = ((height - r.legend.box[1]) / height) if r.legend else 0.0
    right = 0.0
    if r.colorbar is not None:
        right = (width - r.colorbar.box[0]) / width
    for c in r.charts:
        right = max(right, (width - c.box[0]) / width)
    return (0.0, top, right, bottom)


def frame_views(scene, presets: dict, points=None) -> None:
    """Give ``scene`` its named camera ``views`` (``presets``: name -> (azimuth, elevation) or
    (azimuth, elevation, fov)), each framing the scene in the part of the nominal figure its
    title, legend, colour bar and charts leave free; the first becomes ``scene.camera``.

    The framing keeps the corners of every item in view, then steps back until no axis title
    or label falls off the frame in the nominal figure (labels hidden by others cannot be
    helped by stepping back and do not count).
    """
    from .labels import layout_scene
    from .projection import fit_camera, item_corners

    margins = camera_margins(scene)
    points = item_corners(scene.items) if points is None else points
    regions = figure_regions(scene, *NOMINAL)
    views = {}
    for name, preset in presets.items():
        az, el, *rest = preset
        fov = rest[0] if rest else 40.0
        for fill in (0.9, 0.84, 0.78, 0.72, 0.66):
            cam = fit_camera(
                scene.bounds,
                azimuth=az,
                elevation=el,
                fov=fov,
                aspect=NOMINAL[0] / NOMINAL[1],
                margins=margins,
                points=points,
                fill=fill,
            )
            scene.camera = cam
            lay = layout_scene(scene, *NOMINAL, scale=regions.scale, obstacles=regions.obstacles(), mask=False)
            if not any(req.role != "tick" for req in lay.off_frame):
                break
        views[name] = cam
    scene.views = views
    scene.camera = next(iter(views.values()))


def colorbar_ticks(bar) -> list[tuple[float, str, float]]:
    """(value, label, fraction up the bar) of a colour bar's ticks (log10 spacing if ``bar.log``)."""
    lo, hi = bar.vmin, bar.vmax
    log = bar.log and lo > 0
    ticks = nice_ticks(lo, hi, log=True) if log else (nice_ticks(lo, hi, n=6) if hi > lo else np.array([lo]))
    inside = [t for t in ticks if lo - 1e-12 * abs(lo) <= t <= hi + 1e-12 * abs(hi)] or [lo, hi]
    out = []
    for t, label in zip(inside, format_ticks(np.array(inside), log)):
        if log:
            f = (np.log10(t) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))
        else:
            f = (t - lo) / (hi - lo) if hi > lo else 0.5
        out.append((float(t), label, float(f)))
    return out


# -- what to draw: primitives every renderer draws the same way ---------------------------------
# {"kind": "text", x, y, text, size, color, align, bold}  (vertically centred, with a halo)
# {"kind": "line", points [[x, y], ...], color, width, dash, alpha}
# {"kind": "rect", box, color, alpha}      {"kind": "dot", x, y, size, color}
# {"kind": "gradient", box, colormap}      (bottom = the colormap's start, top = its end)


def colorbar_label_x(label: str, bar: tuple, width: float, s: float) -> tuple[float, float]:
    """Centre and half width of the colour bar's label: over the bar, moved left if it would
    leave the figure."""
    half = text_width(label, 13 * s) / 2
    return min((bar[0] + bar[2]) / 2, width - MARGIN * s * 0.5 - half), half


def _text(x, y, text, size, color, align="left", bold=False) -> dict:
    return {
        "kind": "text",
        "x": float(x),
        "y": float(y),
        "text": str(text),
        "size": float(size),
        "color": [float(c) for c in color],
        "align": align,
        "bold": bold,
    }


def _line(points, color, width, dash=0.0, alpha=1.0) -> dict:
    return {
        "kind": "line",
        "points": [[float(a), float(b)] for a, b in points],
        "color": [float(c) for c in color],
        "width": float(width),
        "dash": float(dash),
        "alpha": float(alpha),
    }


def _rect(box, color, alpha=1.0) -> dict:
    return {"kind": "rect", "box": [float(v) for v in box], "color": [float(c) for c in color], "alpha": float(alpha)}


def figure_primitives(scene, theme, regions: Regions, width: float) -> list[dict]:
    """The title, legend, colour bar and charts of ``scene`` as drawing primitives in ``regions``."""
    s, out = regions.scale, []
    text, axis = theme.text_color, theme.axis_color
    if regions.title is not None:
        out.append(_text(width / 2, regions.title[3] / 2, scene.title, TITLE_SIZE * s, text, "center", bold=True))
    if regions.legend is not None:
        for x, y, label, color in regions.legend.entries:
            out.append(_line([(x, y), (x + LEGEND_SWATCH * s, y)], color, 4 * s))
            out.append(_text(x + (LEGEND_SWATCH + 6) * s, y, label, LEGEND_TEXT * s, text))
    if regions.colorbar is not None:
        bar = scene.colorbar
        x0, y0, x1, y1 = regions.colorbar.bar
        out.append({"kind": "gradient", "box": [x0, y0, x1, y1], "colormap": bar.colormap})
        out.append(_line([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)], axis, 1.0 * s))
        for _, label, frac in colorbar_ticks(bar):
            y = y1 - frac * (y1 - y0)
            out.append(_line([(x1, y), (x1 + 5 * s, y)], axis, 1.0 * s))
            out.append(_text(x1 + 8 * s, y, label, 12 * s, text))
        if bar.label:
            centre, _ = colorbar_label_x(bar.label, regions.colorbar.bar, width, s)
            out.append(_text(centre, y0 - 12 * s, bar.label, 13 * s, text, "center"))
    for chart, place in zip(scene.charts, regions.charts):
        out.extend(_chart(chart, place, theme, s))
    return out


def chart_px(chart, place: ChartLayout, x, y):
    """Pixel coordinates of chart data (x, y) inside ``place``'s plot."""
    x0, y0, x1, y1 = place.plot
    (xa, xb), (ya, yb) = chart.x_range, chart.y_range
    return (
        x0 + (np.asarray(x, np.float64) - xa) / (xb - xa) * (x1 - x0),
        y1 - (np.asarray(y, np.float64) - ya) / (yb - ya) * (y1 - y0),
    )


def _chart(chart, place: ChartLayout, theme, s: float) -> list[dict]:
    text, axis, out = theme.text_color, theme.axis_color, []
    x0, y0, x1, y1 = place.plot
    out.append(_rect(place.box, theme.background, 0.86))
    out.append(_line([(x0, y0), (x0, y1), (x1, y1)], axis, 1.2 * s))
    for value, label in chart.x_ticks:
        x = float(chart_px(chart, place, value, chart.y_range[0])[0])
        out += [_line([(x, y1), (x, y1 + 4 * s)], axis, 1.0 * s), _text(x, y1 + 11 * s, label, 11 * s, text, "center")]
    for value, label in chart.y_ticks:
        y = float(chart_px(chart, place, chart.x_range[0], value)[1])
        out += [_line([(x0 - 4 * s, y), (x0, y)], axis, 1.0 * s), _text(x0 - 7 * s, y, label, 11 * s, text, "right")]
    if chart.x_label:
        out.append(_text((x0 + x1) / 2, y1 + 27 * s, chart.x_label, 12 * s, text, "center"))
    if chart.y_label:
        out.append(_text(place.box[0] + 6 * s, y0 - 10 * s, chart.y_label, 11 * s, text))
    if chart.title:
        out.append(_text((place.box[0] + place.box[2]) / 2, place.box[1] + 11 * s, chart.title, 12 * s, text, "center"))
    for series in chart.series:
        xs, ys = chart_px(chart, place, series["x"], series["y"])
        out.append(_line(np.stack([xs, ys], 1), series["color"], 2.0 * s, dash=6 * s if series["dash"] else 0.0))
    pts = [tuple(float(v) for v in chart_px(chart, place, m["x"], m["y"])) for m in chart.marks]
    top = min((y for _, y in pts), default=0.0)
    for k, (mark, (x, y)) in enumerate(zip(chart.marks, pts)):
        out.append({"kind": "dot", "x": x, "y": y, "size": 9 * s, "color": mark["color"]})
        if mark["label"]:  # stacked rows above the highest mark, on the side with room
            right = x > (x0 + x1) / 2
            ly = top - (12 + 15 * k) * s
            out.append(_line([(x, y), (x, ly + 5 * s)], mark["color"], 1.0 * s, alpha=0.6))
            out.append(
                _text(x + (-4 if right else 4) * s, ly, mark["label"], 10.5 * s, text, "right" if right else "left")
            )
    for k, series in enumerate(chart.series):
        col, row = k % 2, k // 2
        xk = place.box[0] + 10 * s + col * (place.box[2] - place.box[0]) / 2
        yk = place.box[1] + (30 + CHART_KEY_ROW * row) * s
        out.append(
            _line([(xk, yk), (xk + 20 * s, yk)], series["color"], 2.0 * s, dash=4 * s if series["dash"] else 0.0)
        )
        out.append(_text(xk + 24 * s, yk, series["label"], 10.5 * s, text))
    return out


def label_primitives(layout, theme, dim=None) -> list[dict]:
    """Placed labels as primitives: leader line, plate where needed, then the text (``dim(group)``
    -> True draws it faded)."""
    out = []
    for p in layout.placed:
        color = [float(c) for c in p.color]
        if dim is not None and p.group is not None and dim(p.group):
            color = [*color[:3], 0.25]
        if p.leader is not None:
            out.append(_line([p.leader[:2], p.leader[2:]], color, 1.0, alpha=0.7))
        if p.plate:
            out.append(_rect(p.box, theme.background, 0.72))
        out.append(_text(p.x, p.y, p.text, p.size, color, p.align))
    return out


def chart_values_at(chart, place: ChartLayout, x: float, y: float) -> dict | None:
    """What a chart says at the cursor (x, y in pixels): the x there and every series' value at the
    nearest sample; None outside the plot."""
    x0, y0, x1, y1 = place.plot
    if not (place.box[0] <= x <= place.box[2] and place.box[1] <= y <= place.box[3]):
        return None
    (xa, xb) = chart.x_range
    at = xa + (min(max(x, x0), x1) - x0) / (x1 - x0) * (xb - xa)
    out = {"chart": chart.title, chart.x_label or "x": None}
    for series in chart.series:
        xs = np.asarray(series["x"], np.float64)
        k = int(np.argmin(np.abs(xs - at)))
        out[chart.x_label or "x"] = float(xs[k])
        out[series["label"]] = float(series["y"][k])
    return out
