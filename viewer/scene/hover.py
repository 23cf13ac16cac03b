"""What a tooltip says at the cursor: an item's pick record plus its data columns there.

The desktop window's half of picking (the browser's is ``static/js/picking.js``, the same
rules): on a mesh the hit triangle's data are interpolated at the cursor with
perspective-correct barycentric weights; on anything else the nearest vertex's data are
reported. The renderer supplies what it hit (a face or a vertex) and the cursor.

Example::

    >>> record_at(surface, face=120, cursor=(412, 300), view=View.of(scene.camera, 800, 600))
    {'item': 'surface', 'what': 'loss surface', ..., 'alpha': 0.12, 'beta': -0.4, 'loss': 0.31}
"""

from __future__ import annotations

import numpy as np

from .projection import View


def group_record(item, vertex: int) -> dict:
    """The ``pick`` dict that vertex ``vertex`` of ``item`` belongs to (docs/scene.md groups)."""
    k = len(item.pick)
    if not k:
        return {}
    n = max(1, item.vertex_count())
    return dict(item.pick[min(k - 1, max(0, vertex) * k // n)])


def data_at(item, vertices, weights) -> dict:
    """The item's data columns blended by ``weights`` over ``vertices``."""
    if getattr(item, "data", None) is None or not item.data_names:
        return {}
    values = np.asarray(weights, np.float64) @ item.data[np.asarray(vertices, np.intp)].astype(np.float64)
    return {name: float(v) for name, v in zip(item.data_names, values)}


def barycentric(view: View, triangle: np.ndarray, x: float, y: float):
    """Perspective-correct weights of the cursor (x, y) in a triangle (3, 3) of world points, or None."""
    pix = view.project(triangle)
    clip_w = view.depth(triangle)  # a perspective camera's clip w is the view depth
    (ax, ay), (bx, by), (cx, cy) = pix
    det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
    if not np.isfinite(det) or abs(det) < 1e-12:
        return None
    l0 = ((by - cy) * (x - cx) + (cx - bx) * (y - cy)) / det
    l1 = ((cy - ay) * (x - cx) + (ax - cx) * (y - cy)) / det
    screen = np.clip(np.array([l0, l1, 1 - l0 - l1]), 0.0, 1.0)
    w = screen / clip_w
    return w / w.sum()


def record_at(item, vertex: int | None = None, face: int | None = None, cursor=None, view: View | None = None) -> dict:
    """The tooltip record of ``item`` where the cursor hit it (a ``face`` of a mesh or ribbon, or a
    ``vertex``); ``cursor`` (x, y) pixels and ``view`` place the cursor inside a face."""
    if face is not None and getattr(item, "indices", None) is not None and len(item.indices):
        tri = item.indices[min(int(face), len(item.indices) - 1)].astype(np.intp)
        weights = None
        if cursor is not None and view is not None:
            weights = barycentric(view, item.positions[tri].astype(np.float64), *cursor)
        if weights is None:
            weights = np.array([1.0, 0.0, 0.0])
        if item.kind != "mesh":  # a ribbon's values live on its centre line: the nearest vertex
            nearest = int(tri[int(np.argmax(weights))])
            return {"item": item.name, **group_record(item, nearest), **data_at(item, [nearest], [1.0])}
        return {
            "item": item.name,
            **group_record(item, int(tri[int(np.argmax(weights))])),
            **data_at(item, tri, weights),
        }
    v = int(vertex or 0)
    return {"item": item.name, **group_record(item, v), **data_at(item, [v], [1.0])}
