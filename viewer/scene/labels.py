"""Screen-space label layout: every text of a scene placed once per view, without collisions.

One mechanism for every renderer (the desktop window, offscreen PNG, SVG/PDF and, ported
line for line to ``static/js/labels.js``, the browser). Text is always drawn in screen space
on top of the 3D view with a halo in the background colour, so no surface hides it and no
glowing line runs through it. For each label, in order of priority, the layout tries its
candidate places (around its anchor, or outward from an axis line) and keeps the first one
that stays inside the frame, overlaps no label placed before it and no reserved region
(title, legend, colour bar, charts, page panels); among candidates of equal rank it prefers
those that cover less of the drawn data (a coarse coverage mask of the opaque geometry).
A label whose anchor lies behind opaque geometry (the coarse depth of the same mask) is drawn
on a plate, so it reads as "behind" yet stays legible. Labels that find no place are hidden;
``Layout.hidden`` says which.

Candidate sets (``Labels.placement``):
- ``point``: around a marker (right, left, above, below, the diagonals), then farther out
  with a leader line;
- ``end``: to the right of a curve's end, then shifted up and down by whole lines with a
  leader line (direct labels of many curves form a column);
- ``center``: centred on the anchor, then shifted by whole lines;
- ``fixed``: exactly at the anchor, aligned by ``Labels.anchor`` (hidden if it collides).
Axis tick labels sit outward of their axis line (the side away from the data box), aligned
so the text never straddles the line; axis titles sit at the middle of the axis, beyond the
longest tick label.

Text extents come from the advance widths of DejaVu Sans (the font all renderers use) so
every renderer reaches the same decisions.

Example::

    >>> layout = layout_scene(scene, 1200, 800)
    >>> [(p.text, p.box) for p in layout.placed][:2]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .projection import View

#: Advance widths (em) of DejaVu Sans for the characters 32..126; others count as 0.6 em.
#: Measured with matplotlib's FT2Font (tests/viewer/test_labels.py checks them).
DEJAVU_ADVANCES = (
    0.3179,
    0.4009,
    0.46,
    0.8379,
    0.6362,
    0.9502,
    0.7798,
    0.2749,
    0.3901,
    0.3901,
    0.5,
    0.8379,
    0.3179,
    0.3608,
    0.3179,
    0.3369,
    0.6362,
    0.6362,
    0.6362,
    0.6362,
    0.6362,
    0.6362,
    0.6362,
    0.6362,
    0.6362,
    0.6362,
    0.3369,
    0.3369,
    0.8379,
    0.8379,
    0.8379,
    0.5308,
    1.0,
    0.6841,
    0.686,
    0.6982,
    0.77,
    0.6318,
    0.5752,
    0.7749,
    0.752,
    0.2949,
    0.2949,
    0.6558,
    0.5571,
    0.8628,
    0.748,
    0.7871,
    0.603,
    0.7871,
    0.6948,
    0.6348,
    0.6108,
    0.7319,
    0.6841,
    0.9888,
    0.6851,
    0.6108,
    0.6851,
    0.3901,
    0.3369,
    0.3901,
    0.8379,
    0.5,
    0.5,
    0.6128,
    0.6348,
    0.5498,
    0.6348,
    0.6152,
    0.3521,
    0.6348,
    0.6338,
    0.2778,
    0.2778,
    0.5791,
    0.2778,
    0.9741,
    0.6338,
    0.6118,
    0.6348,
    0.6348,
    0.4111,
    0.521,
    0.3921,
    0.6338,
    0.5918,
    0.8179,
    0.5918,
    0.5918,
    0.5249,
    0.6362,
    0.3369,
    0.6362,
    0.8379,
)
OTHER_ADVANCE = 0.6
LINE_HEIGHT = 1.25  # box height per pixel of font size
PAD = 2.0  # pixels of clear space around every box
TICK_GAP = 5.0  # pixels between an axis line and its tick labels
CELL = 8  # pixels per cell of the coverage/depth mask
MIN_AXIS = 40.0  # pixels: a shorter axis on screen is seen end-on and gets no tick labels or title
MARKER_SIZE = 8.0  # points at least this big (pixels) are markers that labels keep clear of
PLACEMENTS = ("point", "end", "start", "center", "fixed")


def label_font() -> dict:
    """The font metrics and layout constants, as sent to the browser with every scene."""
    return {
        "family": "DejaVu Sans",
        "advances": list(DEJAVU_ADVANCES),
        "other": OTHER_ADVANCE,
        "line_height": LINE_HEIGHT,
        "pad": PAD,
        "tick_gap": TICK_GAP,
        "cell": CELL,
        "marker": MARKER_SIZE,
        "min_axis": MIN_AXIS,
    }


def text_width(text: str, size: float) -> float:
    """Width in pixels of ``text`` at ``size`` pixels in DejaVu Sans."""
    return size * sum(DEJAVU_ADVANCES[ord(c) - 32] if 32 <= ord(c) < 127 else OTHER_ADVANCE for c in text)


@dataclass
class Request:
    """One text to place: anchor(s) in world space, how it may be placed, how important it is."""

    text: str
    anchor: np.ndarray  # (3,) world point
    size: float
    color: np.ndarray
    priority: float
    placement: str = "point"  # a candidate set, or "axis" (outward of ``axis``)
    align: str = "left"  # for "fixed"
    group: str | None = None  # e.g. the model a label names, for highlighting
    role: str = "label"  # label | tick | title
    axis: tuple | None = None  # ("id", p0 (3,), p1 (3,), centre (3,)) for ticks and titles
    radius: float = 6.0  # marker radius the "point" candidates keep clear of


@dataclass
class Placed:
    """A placed label: its text box (x0, y0, x1, y1) in pixels (y down) and where to draw it."""

    text: str
    box: tuple
    x: float  # text position: alignment point, vertically centred
    y: float
    align: str  # left | center | right
    size: float
    color: np.ndarray
    role: str
    group: str | None
    leader: tuple | None = None  # (ax, ay, bx, by) from the anchor to the box
    plate: bool = False  # drawn on a background plate (anchor occluded or box over data)


@dataclass
class Layout:
    placed: list = field(default_factory=list)
    off_frame: list = field(default_factory=list)  # hidden texts that had no place inside the frame
    hidden: list = field(default_factory=list)  # texts that found no place


def requests_of(scene, scale: float = 1.0) -> list[Request]:
    """The label requests of a scene's ``labels`` and ``axes`` items (sizes scaled by ``scale``)."""
    from .themes import get_theme

    theme = get_theme(scene.theme)
    out = []
    centre = np.asarray(scene.bounds, np.float64).mean(axis=0)
    for item in scene.items:
        if item.kind == "labels":
            groups = item.groups or [None] * len(item.texts)
            for k, text in enumerate(item.texts):
                color = item.color if item.colors is None else item.colors[k]
                out.append(
                    Request(
                        text=text,
                        anchor=np.asarray(item.positions[k], np.float64),
                        size=item.size * scale,
                        color=np.asarray(color),
                        priority=item.priority,
                        placement=item.placement,
                        align=item.anchor,
                        group=groups[k],
                        radius=item.radius * scale,
                    )
                )
        elif item.kind == "axes":
            out.extend(_axis_requests(item, theme, centre, scale))
    return out


def _axis_requests(item, theme, centre, scale) -> list[Request]:
    out = []
    box_centre = np.asarray(item.centre if item.centre is not None else centre, np.float64)
    for k in range(3):
        p0, p1 = np.asarray(item.origin, np.float64), np.asarray(item.ends[k], np.float64)
        if np.allclose(p0, p1):
            continue
        axis = (f"{item.name}/{k}", p0, p1, box_centre)
        ticks = [t for t in item.ticks if t["axis"] == k]
        for n, t in enumerate(ticks):
            end = n in (0, len(ticks) - 1)
            out.append(
                Request(
                    text=t["label"],
                    anchor=np.asarray(t["position"], np.float64),
                    size=11 * scale,
                    color=theme.text_color,
                    priority=88 if end else 85,
                    placement="axis",
                    role="tick",
                    axis=axis,
                )
            )
        if item.titles[k]:
            out.append(
                Request(
                    text=item.titles[k],
                    anchor=(p0 + p1) / 2,
                    size=13 * scale,
                    color=theme.text_color,
                    priority=84,
                    placement="axis",
                    role="title",
                    axis=axis,
                )
            )
    return out


def _candidates(req: Request, ax: float, ay: float, w: float, h: float, normal=None, clear: float = 0.0):
    """Candidate boxes (x0, y0, x1, y1), text points (x, y, align), ranks and leader flags."""
    boxes, points, ranks, leaders = [], [], [], []

    def add(x0, y0, align, rank, leader=False):
        boxes.append((x0, y0 - h / 2, x0 + w, y0 + h / 2))
        tx = x0 + PAD if align == "left" else x0 + w / 2 if align == "center" else x0 + w - PAD
        points.append((tx, y0, align))
        ranks.append(rank)
        leaders.append(leader)

    if req.placement == "axis":
        nx, ny, dx, dy, length, top = normal
        align = "left" if nx > 0.4 else "right" if nx < -0.4 else "center"
        if req.role == "title" and abs(dy) > 0.8:  # an upright axis: its title stands above it
            for rank, lift in enumerate((0.0, 0.5, 1.0)):
                y = top[1] - TICK_GAP - h / 2 - 4 - lift * h
                add(top[0] - w / 2, y, "center", rank)
                add(top[0] - w / 2 + nx * (w / 2 + 4), y, "center", rank + 0.5)
            return boxes, points, ranks, leaders
        # the box's centre sits so that its nearest edge or corner is ``d`` out along the normal
        d = TICK_GAP + clear + abs(nx) * w / 2 + abs(ny) * h / 2
        slides = (0.0, 0.2, -0.2, 0.4, -0.4) if req.role == "title" else (0.0,)
        for rank, s in enumerate(slides):
            cx, cy = ax + nx * d + s * length * dx, ay + ny * d + s * length * dy
            add(cx - w / 2, cy, align, rank)
        return boxes, points, ranks, leaders
    r = req.radius + 3
    if req.placement == "point":
        ring = [
            (r, 0, "left"),
            (-r, 0, "right"),
            (0, -(r + h / 2), "center"),
            (0, r + h / 2, "center"),
            (0.7 * r, -(0.7 * r + h / 2), "left"),
            (-0.7 * r, -(0.7 * r + h / 2), "right"),
            (0.7 * r, 0.7 * r + h / 2, "left"),
            (-0.7 * r, 0.7 * r + h / 2, "right"),
        ]
        for rank, far in enumerate((1.0, 2.6, 4.2, 5.8, 7.4)):
            for dx, dy, align in ring:
                x = ax + dx * far
                x0 = x if align == "left" else x - w / 2 if align == "center" else x - w
                add(x0, ay + dy * far, align, rank, leader=far > 1)
    elif req.placement == "end":
        add(ax + r, ay, "left", 0)
        for k in range(1, 13):
            for sign in (-1, 1):
                add(ax + r + 6, ay + sign * k * (h + PAD), "left", k, leader=True)
    elif req.placement == "start":  # the mirror image of "end": left of the anchor, right-aligned
        add(ax - r - w, ay, "right", 0)
        for k in range(1, 5):
            for sign in (-1, 1):
                add(ax - r - 6 - w, ay + sign * k * (h + PAD), "right", k, leader=True)
    elif req.placement == "center":
        add(ax - w / 2, ay, "center", 0)
        for k in range(1, 4):
            for sign in (-1, 1):
                add(ax - w / 2, ay + sign * k * (h + PAD), "center", k, leader=True)
    else:  # fixed
        x0 = ax - PAD if req.align == "left" else ax - w / 2 if req.align == "center" else ax - w + PAD
        add(x0, ay, req.align, 0)
    return boxes, points, ranks, leaders


def coverage_mask(scene, view: View):
    """(cover, depth): per CELL x CELL pixel cell, whether opaque geometry is drawn there and its
    nearest depth. Samples each triangle of the meshes and ribbons on a barycentric grid of about
    one point per cell it covers."""
    gw, gh = math.ceil(view.width / CELL), math.ceil(view.height / CELL)
    cover = np.zeros((gh, gw), bool)
    near = np.full((gh, gw), np.inf)
    for item in scene.items:
        if item.kind not in ("mesh", "ribbon") or not item.indices.size or getattr(item, "wireframe", False):
            continue
        if item.kind == "mesh" and item.opacity < 0.6:
            continue
        pix = view.project(item.positions) / CELL
        dep = view.depth(item.positions)
        tri = item.indices.astype(np.intp)
        a, b, c = pix[tri[:, 0]], pix[tri[:, 1]], pix[tri[:, 2]]
        da, db, dc = dep[tri[:, 0]], dep[tri[:, 1]], dep[tri[:, 2]]
        ok = np.isfinite(a).all(1) & np.isfinite(b).all(1) & np.isfinite(c).all(1)
        a, b, c, da, db, dc = a[ok], b[ok], c[ok], da[ok], db[ok], dc[ok]
        span = np.maximum(np.ptp(np.stack([a, b, c]), axis=0).max(axis=1), 1.0)
        area = 0.5 * np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
        # about one sample per cell the triangle covers: slivers (tall, thin spikes) need few
        steps = np.minimum(np.minimum(np.ceil(span), 1 + np.ceil(np.sqrt(2 * area))), 64).astype(int)
        for s in np.unique(steps):
            sel = steps == s
            u, v = np.meshgrid(np.linspace(0, 1, s + 1), np.linspace(0, 1, s + 1))
            keep = u + v <= 1 + 1e-9
            u, v = u[keep], v[keep]
            w_ = 1 - u - v
            pts = (
                w_[None, :, None] * a[sel][:, None]
                + u[None, :, None] * b[sel][:, None]
                + v[None, :, None] * c[sel][:, None]
            ).reshape(-1, 2)
            dd = (w_[None] * da[sel][:, None] + u[None] * db[sel][:, None] + v[None] * dc[sel][:, None]).reshape(-1)
            i, j = np.floor(pts[:, 0]).astype(int), np.floor(pts[:, 1]).astype(int)
            inside = (i >= 0) & (i < gw) & (j >= 0) & (j < gh)
            cell, dd = j[inside] * gw + i[inside], dd[inside]
            order = np.lexsort((dd, cell))  # by cell, nearest first: the first of each cell is its depth
            cell, dd = cell[order], dd[order]
            first = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
            flat_cover, flat_near = cover.reshape(-1), near.reshape(-1)
            flat_cover[cell[first]] = True
            flat_near[cell[first]] = np.minimum(flat_near[cell[first]], dd[first])
    return cover, near


def _overlaps(boxes: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Which of ``boxes`` (m, 4) overlap any of ``taken`` (p, 4), with PAD clearance."""
    if not len(taken):
        return np.zeros(len(boxes), bool)
    b, t = boxes[:, None, :], taken[None, :, :]
    return (
        (b[..., 0] < t[..., 2] + PAD)
        & (b[..., 2] > t[..., 0] - PAD)
        & (b[..., 1] < t[..., 3] + PAD)
        & (b[..., 3] > t[..., 1] - PAD)
    ).any(axis=1)


def layout(requests: list[Request], view: View, obstacles=(), mask=None, margin: float = 2.0) -> Layout:
    """Place ``requests`` in ``view`` (see the module docstring)."""
    out = Layout()
    if not requests:
        return out
    width, height = view.width, view.height
    anchors = np.array([r.anchor for r in requests], np.float64)
    pix = view.project(anchors)
    dep = view.depth(anchors)
    taken = [tuple(float(v) for v in o) for o in obstacles]
    cover_sum = None
    if mask is not None:
        cover, near = mask
        cover_sum = np.pad(cover.astype(np.float64), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    order = sorted(range(len(requests)), key=lambda i: (-requests[i].priority, i))
    axis_clear: dict[str, float] = {}
    normals: dict[str, tuple | None] = {}
    for i in order:
        req = requests[i]
        ax, ay = float(pix[i][0]), float(pix[i][1])  # Python floats: candidate arithmetic stays cheap
        if not (np.isfinite(ax) and np.isfinite(ay)) or not (-width < ax < 2 * width and -height < ay < 2 * height):
            out.hidden.append(req.text)
            out.off_frame.append(req)
            continue
        w = text_width(req.text, req.size) + 2 * PAD
        h = req.size * LINE_HEIGHT
        normal, clear = None, 0.0
        if req.placement == "axis":
            if req.axis[0] not in normals:  # one projection per axis, not per tick
                normals[req.axis[0]] = _axis_normal(req.axis, view)
            normal = normals[req.axis[0]]
            if normal is None:
                out.hidden.append(req.text)
                continue
            if req.role == "title":
                clear = axis_clear.get(req.axis[0], 0.0) + 4.0
        boxes, points, ranks, leaders = _candidates(req, ax, ay, w, h, normal, clear)
        boxes = np.array(boxes, np.float64)
        inside = (
            (boxes[:, 0] >= margin)
            & (boxes[:, 1] >= margin)
            & (boxes[:, 2] <= width - margin)
            & (boxes[:, 3] <= height - margin)
        )
        free = inside & ~_overlaps(boxes, np.array(taken, np.float64).reshape(-1, 4))
        if not free.any():
            out.hidden.append(req.text)
            if not inside.any():
                out.off_frame.append(req)
            continue
        cost = np.array(ranks, np.float64)
        if cover_sum is not None and req.role != "tick":
            cost = cost + 0.9 * _covered(cover_sum, boxes)
        cost[~free] = np.inf
        k = int(np.argmin(cost))
        box = tuple(float(v) for v in boxes[k])
        taken.append(box)
        tx, ty, align = points[k]
        leader = None
        if leaders[k]:
            leader = (float(ax), float(ay), *_nearest_edge(box, ax, ay))
        plate = False
        if mask is not None and req.role != "tick":
            plate = _covered(cover_sum, boxes[k : k + 1])[0] > 0.3 or (
                req.role == "label" and _occluded(mask[1], ax, ay, dep[i])
            )
        if req.role == "tick":
            along = abs((box[2] - box[0]) * normal[0]) + abs((box[3] - box[1]) * normal[1])
            axis_clear[req.axis[0]] = max(axis_clear.get(req.axis[0], 0.0), TICK_GAP + along)
        out.placed.append(
            Placed(
                text=req.text,
                box=box,
                x=float(tx),
                y=float(ty),
                align=align,
                size=req.size,
                color=req.color,
                role=req.role,
                group=req.group,
                leader=leader,
                plate=plate,
            )
        )
    return out


def _axis_normal(axis, view: View):
    """(nx, ny, dx, dy, length, top): the unit screen normal of an axis line pointing away from its
    box centre, the unit direction along it, its length and its upper end (pixels, y down); None
    if the axis is a point on screen."""
    _, p0, p1, centre = axis
    q = view.project(np.array([p0, p1, centre]))
    if not np.isfinite(q).all():
        return None
    d = q[1] - q[0]
    length = float(np.hypot(*d))
    if length < MIN_AXIS:  # seen end-on (e.g. the loss axis from straight above): no texts for it
        return None
    d /= length
    n = np.array([-d[1], d[0]])
    if np.dot(n, (q[0] + q[1]) / 2 - q[2]) < 0:
        n = -n
    top = q[0] if q[0][1] < q[1][1] else q[1]
    return float(n[0]), float(n[1]), float(d[0]), float(d[1]), length, (float(top[0]), float(top[1]))


def _covered(cover_sum: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Fraction of each box's mask cells that hold drawn geometry (summed-area table)."""
    gh, gw = cover_sum.shape[0] - 1, cover_sum.shape[1] - 1
    i0 = np.clip(np.floor(boxes[:, 0] / CELL).astype(int), 0, gw)
    i1 = np.clip(np.ceil(boxes[:, 2] / CELL).astype(int), 0, gw)
    j0 = np.clip(np.floor(boxes[:, 1] / CELL).astype(int), 0, gh)
    j1 = np.clip(np.ceil(boxes[:, 3] / CELL).astype(int), 0, gh)
    total = cover_sum[j1, i1] - cover_sum[j0, i1] - cover_sum[j1, i0] + cover_sum[j0, i0]
    area = np.maximum((i1 - i0) * (j1 - j0), 1)
    return total / area


def _occluded(near: np.ndarray, ax: float, ay: float, depth: float) -> bool:
    """Whether drawn geometry lies in front of the anchor (by more than 2% of its depth)."""
    i, j = int(ax // CELL), int(ay // CELL)
    if not (0 <= j < near.shape[0] and 0 <= i < near.shape[1]):
        return False
    return bool(near[j, i] < depth * 0.98)


def _nearest_edge(box, ax, ay) -> tuple[float, float]:
    x = min(max(ax, box[0]), box[2])
    y = min(max(ay, box[1]), box[3])
    return float(x), float(y)


def marker_boxes(scene, view: View, scale: float = 1.0) -> list[tuple]:
    """Screen boxes of the markers (points of at least ``MARKER_SIZE`` pixels): no label covers them."""
    out = []
    for item in scene.items:
        if item.kind != "points":
            continue
        big = item.sizes * scale >= MARKER_SIZE * scale
        if not big.any():
            continue
        pix = view.project(item.positions[big])
        for (x, y), size in zip(pix, item.sizes[big] * scale):
            if np.isfinite(x) and np.isfinite(y):
                r = size / 2
                out.append((float(x - r), float(y - r), float(x + r), float(y + r)))
    return out


def layout_scene(
    scene, width: float, height: float, scale: float = 1.0, obstacles=(), view: View | None = None, mask: bool = True
) -> Layout:
    """The layout of all texts of ``scene`` in a width x height view (its own camera by default)."""
    view = view or View.of(scene.camera, width, height)
    cov = coverage_mask(scene, view) if mask else None
    blocked = [*obstacles, *marker_boxes(scene, view, scale)]
    return layout(requests_of(scene, scale), view, obstacles=blocked, mask=cov)
