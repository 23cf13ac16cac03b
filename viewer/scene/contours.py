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
    1: [(3, 0)],
    2: [(0, 1)],
    3: [(3, 1)],
    4: [(1, 2)],
    6: [(0, 2)],
    7: [(3, 2)],
    8: [(2, 3)],
    9: [(0, 2)],
    11: [(1, 2)],
    12: [(1, 3)],
    13: [(0, 1)],
    14: [(0, 3)],
    # saddles when the cell centre is below the level (the two high corners stay apart)
    5: [(3, 0), (1, 2)],
    10: [(0, 1), (2, 3)],
}
# saddles when the centre is above the level (the high corners join)
_SADDLES_ABOVE: dict[int, list[tuple[int, int]]] = {5: [(0, 1), (2, 3)], 10: [(3, 0), (1, 2)]}


def _table(segments: dict[int, list[tuple[int, int]]]) -> np.ndarray:
    """(16, 2, 2) edge pairs per case and segment slot; -1 where a case has no such segment."""
    table = np.full((16, 2, 2), -1, dtype=np.int64)
    for case, pairs in segments.items():
        for slot, pair in enumerate(pairs):
            table[case, slot] = pair
    return table


_TABLE = _table(_SEGMENTS)
_TABLE_ABOVE = _table({**_SEGMENTS, **_SADDLES_ABOVE})


def contour_segments(x: np.ndarray, y: np.ndarray, z: np.ndarray, level: float) -> np.ndarray:
    """Segments (k, 2, 2) of the ``level`` contour of ``z[j, i]`` at (``x[i]``, ``y[j]``), in data coordinates.

    Only the O(n) cells the contour crosses are interpolated; the O(n^2) work is one comparison.
    """
    x, y, z = np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(z, np.float64)
    finite = np.isfinite(z)
    above = finite & (z > level)
    case = (
        above[:-1, :-1].astype(np.uint8)
        | (above[:-1, 1:].astype(np.uint8) << 1)
        | (above[1:, 1:].astype(np.uint8) << 2)
        | (above[1:, :-1].astype(np.uint8) << 3)
    )
    valid = finite[:-1, :-1] & finite[:-1, 1:] & finite[1:, 1:] & finite[1:, :-1]
    cells = np.flatnonzero(valid & (case != 0) & (case != 15))
    if cells.size == 0:
        return np.zeros((0, 2, 2))
    j, i = np.divmod(cells, x.size - 1)
    zc = np.stack([z[j, i], z[j, i + 1], z[j + 1, i + 1], z[j + 1, i]], axis=1)  # corners c0..c3
    xc = np.stack([x[i], x[i + 1], x[i + 1], x[i]], axis=1)
    yc = np.stack([y[j], y[j], y[j + 1], y[j + 1]], axis=1)
    codes = case.reshape(-1)[cells]
    centre_above = zc.mean(axis=1) > level
    pairs = np.where(centre_above[:, None, None], _TABLE_ABOVE[codes], _TABLE[codes])  # (k, 2, 2)
    rows = np.arange(cells.size)

    def point(edge: np.ndarray) -> np.ndarray:
        a, b = edge, (edge + 1) % 4
        za, zb = zc[rows, a], zc[rows, b]
        t = np.clip((level - za) / (zb - za), 0.0, 1.0)  # za, zb straddle the level: zb != za
        return np.stack(
            [xc[rows, a] + t * (xc[rows, b] - xc[rows, a]), yc[rows, a] + t * (yc[rows, b] - yc[rows, a])], axis=1
        )

    first = np.stack([point(pairs[:, 0, 0]), point(pairs[:, 0, 1])], axis=1)
    two = pairs[:, 1, 0] >= 0
    if not two.any():
        return first
    second = np.stack([point(np.where(two, pairs[:, 1, 0], 0)), point(np.where(two, pairs[:, 1, 1], 0))], axis=1)
    return np.concatenate([first, second[two]])
