"""Geometry primitives in numpy: height-field surfaces, ribbons, bands, tiles, segments, normals.

Each function returns one scene item (or its buffers) in world coordinates; the builders
decide where things go. Nothing here knows about bundles or renderers.

Example::

    >>> rib = ribbon(np.array([[0, 0, 0], [1, 1, 0], [2, 1, 0]]), width=0.2, color=[0, 1, 1, 1])
    >>> rib.positions.shape, rib.indices.shape
    ((6, 3), (4, 3))
"""

from __future__ import annotations

import numpy as np

from hubscape.core.errors import InputError

from .model import Lines, Mesh, Ribbon


def vertex_normals(positions: np.ndarray, indices: np.ndarray, fallback=(0.0, 1.0, 0.0)) -> np.ndarray:
    """Area-weighted unit vertex normals; vertices used by no triangle get ``fallback``."""
    pos = np.asarray(positions, dtype=np.float64)
    idx = np.asarray(indices, dtype=np.intp).reshape(-1, 3)
    n = pos.shape[0]
    face = np.cross(pos[idx[:, 1]] - pos[idx[:, 0]], pos[idx[:, 2]] - pos[idx[:, 0]])
    normals = np.zeros((n, 3))
    for corner in range(3):
        for c in range(3):
            normals[:, c] += np.bincount(idx[:, corner], weights=face[:, c], minlength=n)
    return _unit(normals[:, 0], normals[:, 1], normals[:, 2], fallback)


def _unit(x: np.ndarray, y: np.ndarray, z: np.ndarray, fallback) -> np.ndarray:
    """Vectors given by their components, scaled to length 1, as float32 (n, 3) rows;
    (near-)zero vectors become ``fallback``."""
    x, y, z = (np.asarray(c, dtype=np.float64).reshape(-1) for c in (x, y, z))
    length = np.sqrt(x * x + y * y + z * z)
    ok = length > 1e-12
    safe = np.where(ok, length, 1.0)
    out = np.empty((x.size, 3), dtype=np.float32)
    for k, component in enumerate((x, y, z)):
        out[:, k] = np.where(ok, component / safe, fallback[k])
    return out


def grid_normals(
    xw: np.ndarray, zw: np.ndarray, heights: np.ndarray, valid: np.ndarray | None = None, fallback=(0.0, 1.0, 0.0)
) -> np.ndarray:
    """``vertex_normals`` of the height-field mesh (``grid_triangles`` over ``heights`` (ny, nx)), on the grid.

    The same area-weighted sum of face normals, but a regular grid lets every cell's two face
    normals come from array slices (two of their six components are products of grid steps)
    and be added to their corners with slices, one component at a time, instead of gathers and
    9 bincounts over all triangles: ~10x faster for a 512 x 512 surface. ``valid`` (ny, nx)
    drops the triangles ``grid_triangles`` drops; ``heights`` must be finite.
    """
    h = np.asarray(heights, dtype=np.float64)
    ny, nx = h.shape
    dx = np.diff(np.asarray(xw, dtype=np.float64))[None, :]  # (1, nx-1)
    dz = np.diff(np.asarray(zw, dtype=np.float64))[:, None]  # (ny-1, 1)
    ha, hb, hc, hd = h[:-1, :-1], h[:-1, 1:], h[1:, :-1], h[1:, 1:]  # a=(j,i) b=(j,i+1) c=(j+1,i) d=(j+1,i+1)
    cell = (ny - 1, nx - 1)
    # Triangle (a, c, b): cross(c - a, b - a) with c - a = (0, hc - ha, dz), b - a = (dx, hb - ha, 0).
    first = [-dz * (hb - ha), np.broadcast_to(dz * dx, cell), -(hc - ha) * dx]
    # Triangle (b, c, d): cross(c - b, d - b) with c - b = (-dx, hc - hb, dz), d - b = (0, hd - hb, dz).
    second = [(hc - hb) * dz - dz * (hd - hb), np.broadcast_to(dx * dz, cell), -dx * (hd - hb)]
    ok = None if valid is None else np.asarray(valid, dtype=bool)
    if ok is not None and not ok.all():
        oa, ob, oc, od = ok[:-1, :-1], ok[:-1, 1:], ok[1:, :-1], ok[1:, 1:]
        keep_first, keep_second = oa & ob & oc, ob & oc & od
        first = [f * keep_first for f in first]
        second = [f * keep_second for f in second]
    sums = []
    for f, g in zip(first, second):
        total = np.zeros((ny, nx))
        total[:-1, :-1] += f
        total[1:, 1:] += g
        shared = f + g  # b and c are corners of both triangles
        total[:-1, 1:] += shared
        total[1:, :-1] += shared
        sums.append(total)
    return _unit(*sums, fallback)


def grid_triangles(nx: int, ny: int, valid: np.ndarray | None = None) -> np.ndarray:
    """Triangles (m, 3) of an ny x nx vertex grid (vertex j * nx + i), facing +y for increasing x and z.

    With ``valid`` (ny, nx) bool, only triangles whose three vertices are valid are kept.
    """
    v = np.arange(nx * ny, dtype=np.uint32).reshape(ny, nx)
    tris = np.empty((ny - 1, nx - 1, 2, 3), dtype=np.uint32)
    a, b, c, d = v[:-1, :-1], v[:-1, 1:], v[1:, :-1], v[1:, 1:]
    for slot, corner in enumerate((a, c, b)):
        tris[:, :, 0, slot] = corner
    for slot, corner in enumerate((b, c, d)):
        tris[:, :, 1, slot] = corner
    tris = tris.reshape(-1, 3)
    if valid is not None:
        flat = np.asarray(valid, dtype=bool).reshape(-1)
        if not flat.all():
            tris = tris[flat[tris].all(axis=1)]
    return tris


def height_field(
    xw: np.ndarray,
    zw: np.ndarray,
    heights: np.ndarray,
    colors: np.ndarray,
    values: np.ndarray | None = None,
    floor: float = 0.0,
    **item,
) -> Mesh:
    """A surface over the world grid xw (nx,) x zw (ny,) with ``heights`` (ny, nx) in world y.

    NaN heights are gaps: their vertices stay (on ``floor``, alpha 0) but no triangle uses them.
    """
    h = np.asarray(heights, dtype=np.float64)
    ny, nx = h.shape
    if nx < 2 or ny < 2 or len(xw) != nx or len(zw) != ny:
        raise InputError(f"a surface needs at least a 2 x 2 grid matching its axes, got {h.shape}")
    valid = np.isfinite(h)
    y = np.where(valid, h, floor)
    positions = np.empty((ny, nx, 3), dtype=np.float32)  # float32, what the Mesh stores
    positions[:, :, 0] = np.asarray(xw, np.float64)[None, :]
    positions[:, :, 1] = y
    positions[:, :, 2] = np.asarray(zw, np.float64)[:, None]
    indices = grid_triangles(nx, ny, valid)
    colors = np.array(colors, dtype=np.float32).reshape(-1, 4)
    colors[~valid.reshape(-1), 3] = 0.0
    if values is not None:
        values = np.asarray(values, dtype=np.float32).reshape(-1)
    normals = grid_normals(xw, zw, y, valid)
    return Mesh(
        positions=positions.reshape(-1, 3), normals=normals, indices=indices, colors=colors, values=values, **item
    )


def grid_wireframe(
    positions: np.ndarray, nx: int, ny: int, valid: np.ndarray, color, every: int = 1, lift: float = 0.0, **item
) -> Lines:
    """Grid lines along every ``every``-th row and column of a height field, skipping gaps."""
    pos = np.asarray(positions, dtype=np.float64).reshape(ny, nx, 3) + np.array([0.0, lift, 0.0])
    ok = np.asarray(valid, dtype=bool)
    segments = []
    rows = np.arange(0, ny, every)
    cols = np.arange(0, nx, every)
    seg_ok = ok[rows, :-1] & ok[rows, 1:]
    segments.append(np.stack([pos[rows, :-1][seg_ok], pos[rows, 1:][seg_ok]], axis=1))
    seg_ok = ok[:-1, cols] & ok[1:, cols]
    segments.append(np.stack([pos[:-1, cols][seg_ok], pos[1:, cols][seg_ok]], axis=1))
    flat = np.concatenate(segments).reshape(-1, 3)
    return Lines(positions=flat, colors=np.tile(np.asarray(color, np.float32), (flat.shape[0], 1)), **item)


def _dedupe(points: np.ndarray) -> np.ndarray:
    """The rows of ``points`` to keep: finite, and not a repeat of the previous kept row."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    keep = np.isfinite(pts).all(axis=1)
    rows = np.flatnonzero(keep)
    if rows.size > 1:
        repeat = np.linalg.norm(np.diff(pts[rows], axis=0), axis=1) <= 1e-9
        keep[rows[1:][repeat]] = False
    return keep


def ribbon(
    points: np.ndarray, width: float, color, glow: float = 1.0, side=None, facing=None, data=None, **item
) -> Ribbon:
    """Extrude a polyline (n, 3) into a ribbon ``width`` wide, lying flat (across = tangent x up).

    With ``side`` given, the ribbon spreads along that direction instead (projected off the
    tangent); with ``facing`` (a plane normal) it spreads within that plane, perpendicular to
    the curve, so a curve in the x-y plane keeps its width where it rises or falls steeply.
    ``data`` (n, k) holds per-point values for the tooltip (``data_names`` in ``item``).

    Vertex 2k is the left edge (uv.y = -1), 2k+1 the right edge (uv.y = +1) at point k; uv.x is
    the arc length fraction. Non-finite points and repeated points are dropped.
    """
    keep = _dedupe(points)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)[keep]
    if pts.shape[0] < 2:
        raise InputError(f"a ribbon needs at least two distinct finite points, got {pts.shape[0]}")
    if not width > 0:
        raise InputError(f"ribbon width must be > 0, got {width}")
    seg = np.diff(pts, axis=0)
    seglen = np.linalg.norm(seg, axis=1)
    unit = seg / seglen[:, None]
    tangent = np.concatenate([unit[:1], unit[:-1] + unit[1:], unit[-1:]])
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
    if facing is not None:
        across = np.cross(np.asarray(facing, dtype=np.float64), tangent)
        fallback = np.cross(tangent, [0.0, 1.0, 0.0])  # tangents along the plane normal
    elif side is None:
        across = np.cross(tangent, [0.0, 1.0, 0.0])
        fallback = np.array([0.0, 0.0, 1.0])  # vertical tangents
    else:
        s = np.asarray(side, dtype=np.float64)
        across = s - (tangent @ s)[:, None] * tangent
        fallback = np.cross(tangent, [0.0, 1.0, 0.0])  # tangents parallel to ``side``
    across_len = np.linalg.norm(across, axis=1, keepdims=True)
    across = np.where(across_len > 1e-6, across / np.maximum(across_len, 1e-12), fallback)
    across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-12)
    normal = np.cross(across, tangent)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    half = 0.5 * width
    n = pts.shape[0]
    positions = np.empty((2 * n, 3))
    positions[0::2] = pts - half * across
    positions[1::2] = pts + half * across
    arc = np.concatenate([[0.0], np.cumsum(seglen)])
    uv = np.empty((2 * n, 2))
    uv[:, 0] = np.repeat(arc / arc[-1], 2)
    uv[0::2, 1], uv[1::2, 1] = -1.0, 1.0
    k = np.arange(n - 1) * 2
    indices = np.concatenate([np.stack([k, k + 1, k + 2], 1), np.stack([k + 1, k + 3, k + 2], 1)])
    indices = indices.reshape(2, -1, 3).transpose(1, 0, 2).reshape(-1, 3)
    if data is not None:
        item["data"] = np.repeat(np.asarray(data, dtype=np.float64).reshape(keep.size, -1)[keep], 2, axis=0)
    return Ribbon(
        positions=positions,
        normals=np.repeat(normal, 2, axis=0),
        uv=uv,
        indices=indices,
        color=color,
        glow=glow,
        width=width,
        **item,
    )


def band(
    xw: np.ndarray, lo: np.ndarray, hi: np.ndarray, z: float, color, opacity: float = 0.3, data=None, **item
) -> Mesh:
    """A vertical band in the plane z = ``z`` between heights lo and hi along world x (a forecast band).

    ``data`` (n, k): per-x values for the tooltip (both edges of the band share them).
    """
    x, lo, hi = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (xw, lo, hi))
    ok = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
    x, lo, hi = x[ok], lo[ok], hi[ok]
    if data is not None:
        item["data"] = np.repeat(np.asarray(data, dtype=np.float64).reshape(ok.size, -1)[ok], 2, axis=0)
    if x.size < 2:
        raise InputError("a band needs at least two finite points")
    n = x.size
    positions = np.empty((2 * n, 3))
    positions[0::2] = np.stack([x, lo, np.full(n, z)], 1)
    positions[1::2] = np.stack([x, hi, np.full(n, z)], 1)
    k = np.arange(n - 1) * 2
    indices = np.concatenate([np.stack([k, k + 2, k + 1], 1), np.stack([k + 1, k + 2, k + 3], 1)])
    normals = np.tile([0.0, 0.0, 1.0], (2 * n, 1))
    colors = np.tile(np.asarray(color, np.float32), (2 * n, 1))
    return Mesh(positions=positions, normals=normals, indices=indices, colors=colors, opacity=opacity, **item)


def polyline_segments(points: np.ndarray, data=None):
    """A polyline (n, 3) as segment pairs (2(n-1), 3); segments touching NaN points are dropped.

    With ``data`` (n, k), returns ``(segments, data of each segment end)``.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    pairs = np.stack([pts[:-1], pts[1:]], axis=1)
    ok = np.isfinite(pairs).all(axis=(1, 2))
    if data is None:
        return pairs[ok].reshape(-1, 3)
    d = np.asarray(data, dtype=np.float64).reshape(pts.shape[0], -1)
    return pairs[ok].reshape(-1, 3), np.stack([d[:-1], d[1:]], axis=1)[ok].reshape(-1, d.shape[1])


def polyline(points: np.ndarray, color, width: float = 1.0, data=None, **item) -> Lines:
    """A Lines item tracing a polyline in one colour (``data`` (n, k): per-point tooltip values)."""
    if data is None:
        seg = polyline_segments(points)
    else:
        seg, item["data"] = polyline_segments(points, data)
    return Lines(positions=seg, colors=np.tile(np.asarray(color, np.float32), (seg.shape[0], 1)), width=width, **item)


#: Unit box faces (top and four sides; the bottom is never seen on the floor): corner offsets and normal.
_BOX_FACES = [
    ([[0, 1, 0], [0, 1, 1], [1, 1, 1], [1, 1, 0]], [0, 1, 0]),
    ([[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], [0, 0, 1]),
    ([[1, 0, 0], [0, 0, 0], [0, 1, 0], [1, 1, 0]], [0, 0, -1]),
    ([[1, 0, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1]], [1, 0, 0]),
    ([[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0]], [-1, 0, 0]),
]
VERTICES_PER_TILE = 20


def tiles(
    corners: np.ndarray, size: tuple[float, float], heights: np.ndarray, base: float, colors: np.ndarray, **item
) -> Mesh:
    """Open boxes (top + 4 sides, 20 vertices each) standing on y = ``base``.

    ``corners`` (k, 2) are the (x, z) minimum corners, ``size`` the (dx, dz) footprint,
    ``heights`` (k,) the box heights (at least a hair, so tops never vanish).
    """
    corners = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
    k = corners.shape[0]
    h = np.maximum(np.nan_to_num(np.asarray(heights, np.float64).reshape(-1), nan=0.0), 1e-3)
    offsets = np.array([c for c, _ in _BOX_FACES], dtype=np.float64).reshape(-1, 3)  # (20, 3)
    scale = np.stack([np.full(k, size[0]), h, np.full(k, size[1])], axis=1)  # (k, 3)
    origin = np.stack([corners[:, 0], np.full(k, base), corners[:, 1]], axis=1)
    positions = origin[:, None, :] + offsets[None, :, :] * scale[:, None, :]
    normals = np.repeat(np.array([n for _, n in _BOX_FACES], np.float64), 4, axis=0)
    quad = np.array([[0, 1, 2], [0, 2, 3]])
    local = np.concatenate([quad + 4 * f for f in range(len(_BOX_FACES))])  # (10, 3)
    indices = local[None] + (VERTICES_PER_TILE * np.arange(k))[:, None, None]
    colors = np.repeat(np.asarray(colors, np.float32).reshape(-1, 4), VERTICES_PER_TILE, axis=0)
    return Mesh(
        positions=positions.reshape(-1, 3),
        normals=np.tile(normals, (k, 1)),
        indices=indices.reshape(-1, 3),
        colors=colors,
        **item,
    )
