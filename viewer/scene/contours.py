"""Contour lines of a gridded field by marching squares, vectorized in numpy (runs in Pyodide).

Cells with a NaN corner produce no segment (gaps stay gaps). Saddle cells are resolved by
the mean of their four corners. Crossing points are linearly interpolated along cell edges,
the same rule matplotlib/contourpy use, so the lines agree with theirs.

Example::

    >>> x = y = np.linspace(-1, 1, 50)
    >>> z = x[None, :] ** 2 + y[:, None] ** 2
    >>> contour_segments(x, y, z, 0.5).shape[1:]
    (2, 2)
"""

from __future__ import annotations

import numpy as np

# Edges of a cell: 0 bottom (c0-c1), 1 right (c1-c2), 2 top (c2-c3), 3 left (c3-c0), with corners
# c0 = (i, j), c1 = (i+1, j), c2 = (i+1, j+1), c3 = (i, j+1). Case bit k is set when corner k > level.
_SEGMENTS: dict[int, list[tuple[int, int]]] = {
    1: [(3, 0)], 2: [(0, 1)], 3: [(3, 1)], 4: [(1, 2)], 6: [(0, 2)], 7: [(3, 2)],
    8: [(2, 3)], 9: [(0, 2)], 11: [(1, 2)], 12: [(1, 3)], 13: [(0, 1)], 14: [(0, 3)],
}
# Saddles: (segments when the cell centre is below the level, when above).
_SADDLES: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {
    5: ([(3, 0), (1, 2)], [(0, 1), (2, 3)]),
    10: ([(0, 1), (2, 3)], [(3, 0), (1, 2)]),
}


def contour_segments(x: np.ndarray, y: np.ndarray, z: np.ndarray, level: float) -> np.ndarray:
    """Segments (k, 2, 2) of the ``level`` contour of ``z[j, i]`` at (``x[i]``, ``y[j]``), in data coordinates."""
    x, y, z = np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(z, np.float64)
    c = [z[:-1, :-1], z[:-1, 1:], z[1:, 1:], z[1:, :-1]]
    cx = [x[None, :-1], x[None, 1:], x[None, 1:], x[None, :-1]]
    cy = [y[:-1, None], y[:-1, None], y[1:, None], y[1:, None]]
    shape = c[0].shape
    valid = np.isfinite(c[0]) & np.isfinite(c[1]) & np.isfinite(c[2]) & np.isfinite(c[3])
    case = sum((np.nan_to_num(ck, nan=-np.inf) > level).astype(np.int64) << k for k, ck in enumerate(c))
    case = np.where(valid, case, 0)
    edge_points = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for e in range(4):
            a, b = e, (e + 1) % 4
            t = np.clip((level - c[a]) / (c[b] - c[a]), 0.0, 1.0)
            t = np.where(np.isfinite(t), t, 0.5)
            px = np.broadcast_to(cx[a], shape) + t * (np.broadcast_to(cx[b], shape) - np.broadcast_to(cx[a], shape))
            py = np.broadcast_to(cy[a], shape) + t * (np.broadcast_to(cy[b], shape) - np.broadcast_to(cy[a], shape))
            edge_points.append(np.stack([px, py], axis=-1))
    centre_above = (c[0] + c[1] + c[2] + c[3]) / 4.0 > level
    out = []
    for code, pairs in _SEGMENTS.items():
        mask = case == code
        if mask.any():
            out.extend(np.stack([edge_points[e0][mask], edge_points[e1][mask]], axis=1) for e0, e1 in pairs)
    for code, (below, above) in _SADDLES.items():
        for pairs, centre in ((below, False), (above, True)):
            mask = (case == code) & (centre_above == centre)
            if mask.any():
                out.extend(np.stack([edge_points[e0][mask], edge_points[e1][mask]], axis=1) for e0, e1 in pairs)
    if not out:
        return np.zeros((0, 2, 2))
    return np.concatenate(out)
