"""The Scene data model: plain dataclasses of numpy buffers, the contract of docs/scene.md.

Builders fill these; the desktop renderer (pygfx), the browser engine and the exporters only
read them. Nothing here imports a renderer, so it runs unchanged in CPython and in Pyodide.

Every item has a ``kind`` (class attribute), a ``name`` and ``pick``: a list of JSON-able dicts
shown in tooltips. ``pick`` holds one dict for the whole item, or k dicts that split the
item's vertices into k equal consecutive groups (vertex v belongs to ``pick[v * k // n]``;
for points k equals the number of points). Drawn items may also carry ``data`` (n, k) with
``data_names``: values per vertex that a tooltip reports *at the cursor* (interpolated inside
the hit triangle of a mesh, the nearest vertex of anything else), and a ``group`` (e.g. the
model a curve belongs to) by which a viewer highlights or hides related items together.

Arrays are coerced to C-contiguous float32 (indices uint32) and their shapes checked when an
item is made, so a renderer can hand them to the GPU as they are. Colours are linear RGBA.

Example::

    >>> pts = Points(positions=np.zeros((2, 3)), colors=np.ones((2, 4)), sizes=[8, 8],
    ...              name="minimum", pick=[{"loss": 0.1}, {"loss": 0.2}])
    >>> pts.positions.dtype, pts.kind
    (dtype('float32'), 'points')
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from hubscape.core.errors import InputError

WORLDS = ("growth", "landscape", "activations")
ANCHORS = ("left", "center", "right")
PLACEMENTS = ("point", "end", "start", "center", "fixed")


def as_float32(value: Any, shape: tuple, what: str) -> np.ndarray:
    """``value`` as a C-contiguous float32 array of ``shape`` (-1 = any length)."""
    arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
    _check_shape(arr, shape, what)
    return arr


def as_uint32(value: Any, shape: tuple, what: str) -> np.ndarray:
    """``value`` as a C-contiguous uint32 index array of ``shape``."""
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.reshape(0, *shape[1:]).astype(np.int64)
    if arr.dtype.kind not in "iu" or (arr.size and arr.min() < 0):
        raise InputError(f"{what} must be non-negative integers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr.astype(np.uint32))
    _check_shape(arr, shape, what)
    return arr


def rgba(value: Any, what: str = "color") -> np.ndarray:
    """One RGBA colour as float32 (4,); an RGB triple gets alpha 1."""
    arr = np.asarray(value, dtype=np.float32).reshape(-1)
    if arr.shape == (3,):
        arr = np.append(arr, np.float32(1.0))
    if arr.shape != (4,):
        raise InputError(f"{what} must be RGB or RGBA, got {arr.shape[0]} values")
    return np.ascontiguousarray(arr)


def _check_shape(arr: np.ndarray, shape: tuple, what: str) -> None:
    if arr.ndim != len(shape) or any(s != -1 and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ", ".join("n" if s == -1 else str(s) for s in shape) + ")"
        raise InputError(f"{what} must have shape {want}, got {arr.shape}")


def _check_length(arr: np.ndarray, n: int, what: str) -> None:
    if arr.shape[0] != n:
        raise InputError(f"{what} has {arr.shape[0]} rows but there are {n} vertices")


def _check_indices(indices: np.ndarray, n: int, what: str) -> None:
    if indices.size and int(indices.max()) >= n:
        raise InputError(f"{what} refers to vertex {int(indices.max())} but there are only {n}")


@dataclass(kw_only=True, eq=False)
class Item:
    """Base of all scene items: a name and the tooltip records for picking."""

    kind: ClassVar[str] = ""
    name: str = ""
    pick: list = field(default_factory=list)
    group: str | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The item's numpy fields (None-valued optional arrays left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray)}

    def vertex_count(self) -> int:
        return int(self.positions.shape[0])

    def _check_data(self) -> None:
        """Coerce ``data`` to float32 (n, k) matching ``data_names`` and the vertices."""
        self.data_names = [str(n) for n in self.data_names]
        if self.data is None:
            if self.data_names:
                raise InputError(f"{self.kind} {self.name!r} names data columns but has no data")
            return
        self.data = as_float32(self.data, (-1, len(self.data_names)), f"{self.kind} data")
        _check_length(self.data, self.positions.shape[0], f"{self.kind} data")


@dataclass(kw_only=True, eq=False)
class Mesh(Item):
    """A triangle mesh: surfaces (colormap already applied to ``colors``) and bands."""

    kind: ClassVar[str] = "mesh"
    positions: np.ndarray
    normals: np.ndarray
    indices: np.ndarray
    colors: np.ndarray
    values: np.ndarray | None = None
    wireframe: bool = False
    opacity: float = 1.0
    emissive: float = 0.0
    data: np.ndarray | None = None
    data_names: list = field(default_factory=list)

    def __post_init__(self):
        self.positions = as_float32(self.positions, (-1, 3), "mesh positions")
        n = self.positions.shape[0]
        self.normals = as_float32(self.normals, (-1, 3), "mesh normals")
        _check_length(self.normals, n, "mesh normals")
        self.indices = as_uint32(self.indices, (-1, 3), "mesh indices")
        _check_indices(self.indices, n, "mesh indices")
        self.colors = as_float32(self.colors, (-1, 4), "mesh colors")
        _check_length(self.colors, n, "mesh colors")
        if self.values is not None:
            self.values = as_float32(self.values, (-1,), "mesh values")
            _check_length(self.values, n, "mesh values")
        self.wireframe, self.opacity, self.emissive = bool(self.wireframe), float(self.opacity), float(self.emissive)
        self._check_data()


@dataclass(kw_only=True, eq=False)
class Ribbon(Item):
    """A polyline extruded into a ribbon; ``uv.x`` = arc length in [0, 1], ``uv.y`` = -1/+1 across."""

    kind: ClassVar[str] = "ribbon"
    positions: np.ndarray
    normals: np.ndarray
    uv: np.ndarray
    indices: np.ndarray
    color: np.ndarray
    glow: float = 1.0
    width: float = 0.1
    data: np.ndarray | None = None
    data_names: list = field(default_factory=list)

    def __post_init__(self):
        self.positions = as_float32(self.positions, (-1, 3), "ribbon positions")
        n = self.positions.shape[0]
        if n % 2:
            raise InputError(f"ribbon positions come in pairs, got {n} rows")
        self.normals = as_float32(self.normals, (-1, 3), "ribbon normals")
        _check_length(self.normals, n, "ribbon normals")
        self.uv = as_float32(self.uv, (-1, 2), "ribbon uv")
        _check_length(self.uv, n, "ribbon uv")
        self.indices = as_uint32(self.indices, (-1, 3), "ribbon indices")
        _check_indices(self.indices, n, "ribbon indices")
        self.color = rgba(self.color, "ribbon color")
        self.glow, self.width = float(self.glow), float(self.width)
        self._check_data()


@dataclass(kw_only=True, eq=False)
class Points(Item):
    """Markers: per-point colour and size in screen pixels; ``pick`` per point."""

    kind: ClassVar[str] = "points"
    positions: np.ndarray
    colors: np.ndarray
    sizes: np.ndarray
    data: np.ndarray | None = None
    data_names: list = field(default_factory=list)

    def __post_init__(self):
        self.positions = as_float32(self.positions, (-1, 3), "point positions")
        n = self.positions.shape[0]
        self.colors = as_float32(self.colors, (-1, 4), "point colors")
        _check_length(self.colors, n, "point colors")
        self.sizes = as_float32(self.sizes, (-1,), "point sizes")
        _check_length(self.sizes, n, "point sizes")
        self._check_data()


@dataclass(kw_only=True, eq=False)
class Lines(Item):
    """Line segments as vertex pairs (contours, wireframes, tick marks); width in pixels."""

    kind: ClassVar[str] = "lines"
    positions: np.ndarray
    colors: np.ndarray
    width: float = 1.0
    dash: float = 0.0  # dash length in pixels (0 = solid)
    data: np.ndarray | None = None
    data_names: list = field(default_factory=list)

    def __post_init__(self):
        self.positions = as_float32(self.positions, (-1, 3), "line positions")
        n = self.positions.shape[0]
        if n % 2:
            raise InputError(f"line positions come in segment pairs, got {n} rows")
        self.colors = as_float32(self.colors, (-1, 4), "line colors")
        _check_length(self.colors, n, "line colors")
        self.width, self.dash = float(self.width), float(self.dash)
        self._check_data()


@dataclass(kw_only=True, eq=False)
class Labels(Item):
    """Texts at 3D anchors, placed on the screen by ``viewer.scene.labels`` (no collisions).

    ``size`` in pixels; ``placement`` names the candidate places tried around each anchor
    ("point": around a marker of ``radius`` pixels, "end": right of a curve's end or shifted
    into a column, "start": the same to the left, "center": on the anchor, "fixed": exactly there, aligned by ``anchor``);
    labels of higher ``priority`` are placed first. ``colors`` (n, 4) overrides ``color`` per
    text and ``groups`` names the group (e.g. model) of each text.
    """

    kind: ClassVar[str] = "labels"
    positions: np.ndarray
    texts: list
    size: float = 14.0
    color: np.ndarray = field(default_factory=lambda: np.ones(4, np.float32))
    anchor: str = "left"
    placement: str = "point"
    priority: float = 70.0
    radius: float = 6.0
    colors: np.ndarray | None = None
    groups: list | None = None

    def __post_init__(self):
        self.positions = as_float32(self.positions, (-1, 3), "label positions")
        n = self.positions.shape[0]
        self.texts = [str(t) for t in self.texts]
        if len(self.texts) != n:
            raise InputError(f"{len(self.texts)} label texts for {n} positions")
        self.color = rgba(self.color, "label color")
        if self.anchor not in ANCHORS:
            raise InputError(f"label anchor must be one of {', '.join(ANCHORS)}, got {self.anchor!r}")
        if self.placement not in PLACEMENTS:
            raise InputError(f"label placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")
        self.size, self.priority, self.radius = float(self.size), float(self.priority), float(self.radius)
        if self.colors is not None:
            self.colors = as_float32(self.colors, (-1, 4), "label colors")
            _check_length(self.colors, n, "label colors")
        if self.groups is not None:
            self.groups = [None if g is None else str(g) for g in self.groups]
            if len(self.groups) != n:
                raise InputError(f"{len(self.groups)} label groups for {n} labels")


@dataclass(kw_only=True, eq=False)
class Axes(Item):
    """Three axis lines from ``origin`` to ``ends[k]`` with ticks (data values as labels).

    ``ticks`` is a list of ``{"axis": 0..2, "position": [x, y, z], "label": "20"}``.
    """

    kind: ClassVar[str] = "axes"
    origin: np.ndarray
    ends: np.ndarray
    ticks: list = field(default_factory=list)
    titles: list = field(default_factory=lambda: ["", "", ""])
    log: list = field(default_factory=lambda: [False, False, False])
    centre: np.ndarray | None = None  # the centre of the data box: tick labels sit on the side away from it

    def __post_init__(self):
        self.origin = as_float32(self.origin, (3,), "axes origin")
        self.ends = as_float32(self.ends, (3, 3), "axes ends")
        if self.centre is not None:
            self.centre = as_float32(self.centre, (3,), "axes centre")
        self.ticks = [
            {"axis": int(t["axis"]), "position": [float(v) for v in t["position"]], "label": str(t["label"])}
            for t in self.ticks
        ]
        if any(t["axis"] not in (0, 1, 2) or len(t["position"]) != 3 for t in self.ticks):
            raise InputError("axes ticks need axis 0..2 and a 3D position")
        self.titles = [str(t) for t in self.titles]
        self.log = [bool(v) for v in self.log]
        if len(self.titles) != 3 or len(self.log) != 3:
            raise InputError("axes need three titles and three log flags")

    def vertex_count(self) -> int:
        return 6


ITEM_TYPES: dict[str, type[Item]] = {cls.kind: cls for cls in (Mesh, Ribbon, Points, Lines, Labels, Axes)}


@dataclass(kw_only=True, eq=False)
class Camera:
    """An orbit camera; eye = target + distance * (cos(el) sin(az), sin(el), cos(el) cos(az)), up +y.

    ``fov`` is the vertical field of view in degrees for frames at least ``aspect`` (width /
    height) wide, the shape the camera was fitted for; a narrower frame widens the vertical
    field of view so that it still sees the same width (``projection.vertical_fov``).
    ``aspect`` 0 (the default) keeps ``fov`` vertical at every shape.
    """

    target: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    azimuth: float = 30.0
    elevation: float = 25.0
    distance: float = 18.0
    fov: float = 40.0
    aspect: float = 0.0

    def __post_init__(self):
        self.target = as_float32(self.target, (3,), "camera target")
        self.azimuth, self.elevation = float(self.azimuth), float(self.elevation)
        self.distance, self.fov, self.aspect = float(self.distance), float(self.fov), float(self.aspect)
        if not self.aspect >= 0:
            raise InputError(f"camera aspect must be >= 0, got {self.aspect}")
        if not (self.distance > 0 and 0 < self.fov < 180):
            raise InputError(f"camera needs distance > 0 and 0 < fov < 180, got {self.distance}, {self.fov}")
        if not -90 <= self.elevation <= 90:
            raise InputError(f"camera elevation must be within -90..90 degrees, got {self.elevation}")

    @property
    def eye(self) -> np.ndarray:
        az, el = np.radians(self.azimuth), np.radians(self.elevation)
        direction = np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
        return self.target.astype(np.float64) + self.distance * direction


@dataclass(kw_only=True, eq=False)
class GridFloor:
    """The floor grid in the plane y = ``y``: ``size`` x ``size`` world units, lines every ``spacing``."""

    size: float = 20.0
    spacing: float = 1.0
    y: float = 0.0

    def __post_init__(self):
        self.size, self.spacing, self.y = float(self.size), float(self.spacing), float(self.y)
        if not (self.size > 0 and self.spacing > 0):
            raise InputError("grid floor needs size > 0 and spacing > 0")


@dataclass(kw_only=True, eq=False)
class Legend:
    """Categorical legend: ``entries`` = ``[{"label": str, "color": [r, g, b, a]}]``, optionally
    with the ``group`` of items an entry stands for (a viewer can hide or isolate it) and a
    ``note`` (e.g. "not fitted: 3 dated children")."""

    entries: list = field(default_factory=list)

    def __post_init__(self):
        out = []
        for e in self.entries:
            entry = {"label": str(e["label"]), "color": [float(c) for c in rgba(e["color"], "legend color")]}
            for key in ("group", "note"):
                if e.get(key) is not None:
                    entry[key] = str(e[key])
            out.append(entry)
        self.entries = out


@dataclass(kw_only=True, eq=False)
class ColorBar:
    """A colour bar for a colormapped item; ``colormap`` names a LUT in viewer.scene.colormaps."""

    colormap: str
    vmin: float
    vmax: float
    label: str = ""
    log: bool = False

    def __post_init__(self):
        self.colormap, self.label, self.log = str(self.colormap), str(self.label), bool(self.log)
        self.vmin, self.vmax = float(self.vmin), float(self.vmax)


CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


@dataclass(kw_only=True, eq=False)
class Chart:
    """A 2D chart drawn flat on the screen, facing the viewer (e.g. pruning curves).

    ``series``: ``[{"label", "color" [r, g, b, a], "x": [...], "y": [...], "dash": bool}]`` in data
    units; ``marks``: ``[{"x", "y", "label", "color"}]`` (points to call out); axes run over
    ``x_range``/``y_range`` with ticks ``[[value, "label"], ...]``. ``size`` is the chart's box in
    pixels at figure scale 1, in the view's ``corner``. A viewer reports the values of every
    series at the cursor's x.
    """

    title: str = ""
    x_label: str = ""
    y_label: str = ""
    x_range: tuple = (0.0, 1.0)
    y_range: tuple = (0.0, 1.0)
    x_ticks: list = field(default_factory=list)
    y_ticks: list = field(default_factory=list)
    series: list = field(default_factory=list)
    marks: list = field(default_factory=list)
    size: tuple = (360.0, 230.0)
    corner: str = "bottom-right"

    def __post_init__(self):
        self.title, self.x_label, self.y_label = str(self.title), str(self.x_label), str(self.y_label)
        self.x_range = tuple(float(v) for v in self.x_range)
        self.y_range = tuple(float(v) for v in self.y_range)
        if (
            len(self.x_range) != 2
            or len(self.y_range) != 2
            or not (self.x_range[1] > self.x_range[0] and self.y_range[1] > self.y_range[0])
        ):
            raise InputError(f"chart ranges must be (lo, hi) with hi > lo, got {self.x_range}, {self.y_range}")
        self.x_ticks = [[float(v), str(t)] for v, t in self.x_ticks]
        self.y_ticks = [[float(v), str(t)] for v, t in self.y_ticks]
        series = []
        for s in self.series:
            x, y = [float(v) for v in s["x"]], [float(v) for v in s["y"]]
            if len(x) != len(y) or not x:
                raise InputError(f"chart series {s.get('label')!r} needs equally long, non-empty x and y")
            series.append(
                {
                    "label": str(s.get("label", "")),
                    "color": [float(c) for c in rgba(s["color"])],
                    "x": x,
                    "y": y,
                    "dash": bool(s.get("dash", False)),
                }
            )
        self.series = series
        self.marks = [
            {
                "x": float(m["x"]),
                "y": float(m["y"]),
                "label": str(m.get("label", "")),
                "color": [float(c) for c in rgba(m["color"])],
            }
            for m in self.marks
        ]
        self.size = tuple(float(v) for v in self.size)
        if self.corner not in CORNERS:
            raise InputError(f"chart corner must be one of {', '.join(CORNERS)}, got {self.corner!r}")


@dataclass(kw_only=True, eq=False)
class Scene:
    """Everything a renderer needs: items, camera (and named ``views``), theme name, legend,
    colour bar, 2D charts, grid, bounds."""

    world: str
    title: str = ""
    items: list = field(default_factory=list)
    camera: Camera = field(default_factory=Camera)
    theme: str = "tron"
    legend: Legend | None = None
    colorbar: ColorBar | None = None
    grid: GridFloor | None = None
    bounds: np.ndarray = field(default_factory=lambda: np.array([[-5, 0, -5], [5, 5, 5]], np.float32))
    charts: list = field(default_factory=list)
    views: dict = field(default_factory=dict)  # named camera presets; ``camera`` is the first

    def __post_init__(self):
        from .themes import THEMES

        if self.world not in WORLDS:
            raise InputError(f"unknown world {self.world!r}; expected one of {', '.join(WORLDS)}")
        if self.theme not in THEMES:
            raise InputError(f"unknown theme {self.theme!r}; expected one of {', '.join(THEMES)}")
        self.bounds = as_float32(self.bounds, (2, 3), "scene bounds")
        self.items = list(self.items)
        for item in self.items:
            if not isinstance(item, Item):
                raise InputError(f"scene items must be Mesh/Ribbon/Points/Lines/Labels/Axes, got {type(item).__name__}")
        self.charts = list(self.charts)
        if any(not isinstance(c, Chart) for c in self.charts):
            raise InputError("scene charts must be Chart objects")
        self.views = {str(k): v for k, v in self.views.items()}
        if any(not isinstance(v, Camera) for v in self.views.values()):
            raise InputError("scene views must be Camera objects")

    def find(self, name: str) -> Item:
        """The first item called ``name`` (KeyError if none)."""
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    def of_kind(self, kind: str) -> list[Item]:
        return [item for item in self.items if item.kind == kind]
