"""The landscape world: a loss surface with contours, its minimum, the model at the centre, a trajectory.

2D landscapes: alpha (``x``) along world x, beta (``y``) along world z, loss as height in
[0, 5], colormapped; NaN losses are gaps (no triangles, no contour through them). 1D
landscapes: the loss curve as a ribbon in the x-y plane. Reads docs/bundles.md's layout.

Example::

    >>> scene = build_landscape_scene(read_bundle("landscape.safetensors"), theme="paper", log_loss=True)
"""

from __future__ import annotations

import numpy as np

from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError

from .colormaps import apply_colormap
from .contours import contour_segments
from .geometry import grid_wireframe, height_field, ribbon
from .model import ColorBar, GridFloor, Labels, Lines, Points, Scene
from .projection import bounds_of, fit_camera
from .themes import Theme, get_theme
from .ticks import box_axes, make_scale, nice_ticks

LIFT = 0.03  # world units that lines and markers float above the surface, against z-fighting


def build_landscape_scene(
    bundle: Bundle, theme: str = "tron", log_loss: bool = False, wireframe: bool = False, contours: int = 10
) -> Scene:
    """A Scene of a landscape bundle (1D or 2D)."""
    th = get_theme(theme)
    meta = bundle.meta
    x = np.asarray(bundle.array("x"), np.float64)
    loss = np.asarray(bundle.array("loss"), np.float64)
    finite = loss[np.isfinite(loss)]
    if log_loss:
        finite = finite[finite > 0]
    if finite.size == 0:
        raise BundleError("landscape has no finite" + (" positive" if log_loss else "") + " loss values to draw")
    loss_name = str(meta.get("loss") or "loss")
    model_id = str((meta.get("model") or {}).get("id") or "model")
    xs = make_scale(x, -5.0, 5.0)
    hs = make_scale(finite, 0.0, 5.0, log=log_loss)
    vmin, vmax = float(finite.min()), float(finite.max())
    if loss.ndim == 1:
        items = _curve_items(x, loss, xs, hs, th, meta, model_id)
        zs = None
    else:
        y = np.asarray(bundle.array("y"), np.float64)
        if loss.shape != (y.size, x.size):
            raise BundleError(
                f"landscape loss has shape {loss.shape}, expected (len(y), len(x)) = ({y.size}, {x.size})"
            )
        zs = make_scale(y, -5.0, 5.0)
        items = _surface_items(
            bundle, x, y, loss, xs, zs, hs, th, log_loss, wireframe, contours, vmin, vmax, loss_name, model_id
        )
    titles = ["alpha (direction 1)", loss_name, "beta (direction 2)" if zs is not None else ""]
    depth = 5.0 if zs is not None else 0.0
    items.extend(box_axes([xs.world_lo, 0.0, -depth], [xs.world_hi, 5.0, depth], [xs, hs, zs], titles))
    bounds = bounds_of(items)
    method = meta.get("method", "?")
    return Scene(
        world="landscape",
        title=f"Loss landscape of {model_id} ({method} directions)",
        items=items,
        camera=fit_camera(bounds, azimuth=35.0, elevation=30.0),
        theme=th.name,
        colorbar=ColorBar(colormap=th.colormap, vmin=vmin, vmax=vmax, label=loss_name, log=log_loss),
        grid=GridFloor(size=20.0, spacing=1.0),
        bounds=bounds,
    )


def _marker(position, color, label: str, pick: dict, th: Theme, name: str, size: float = 14.0) -> list:
    pos = np.asarray(position, np.float64).reshape(1, 3)
    return [
        Points(
            positions=pos, colors=np.asarray(color, np.float32)[None], sizes=[size], name=name, pick=[to_jsonable(pick)]
        ),
        Labels(
            positions=pos + [0.0, 0.35, 0.0],
            texts=[label],
            color=th.text_color,
            anchor="center",
            size=13,
            name=f"{name} label",
        ),
    ]


def _surface_items(
    bundle, x, y, loss, xs, zs, hs, th, log_loss, wireframe, contours, vmin, vmax, loss_name, model_id
) -> list:
    meta = bundle.meta
    heights = hs.to_world(loss)
    if log_loss:
        heights = np.where(loss > 0, heights, np.nan)
    shown = np.where(np.isfinite(heights), loss, np.nan)
    xw, zw = xs.to_world(x), zs.to_world(y)
    colors = apply_colormap(shown, th.colormap, vmin, vmax, log=log_loss)
    surface = height_field(
        xw,
        zw,
        heights,
        colors,
        values=shown,
        floor=0.0,
        name="surface",
        emissive=0.25 if th.glow else 0.0,
        pick=[
            to_jsonable(
                {
                    "what": "loss surface",
                    "model": model_id,
                    "loss": loss_name,
                    "min": vmin,
                    "max": vmax,
                    "center_loss": meta.get("center_loss"),
                }
            )
        ],
    )
    items = [surface]
    if contours > 0:
        items.extend(_contour_lines(x, y, shown, xs, zs, hs, th, log_loss, contours, vmin, vmax))
    if wireframe:
        every = max(1, max(x.size, y.size) // 40)
        items.append(
            grid_wireframe(
                surface.positions,
                x.size,
                y.size,
                np.isfinite(heights),
                color=[*th.grid_color[:3], 0.5],
                every=every,
                lift=LIFT / 2,
                name="wireframe",
                width=1.0,
            )
        )
    j, i = np.unravel_index(np.nanargmin(shown), shown.shape)
    best = float(shown[j, i])
    items += _marker(
        [xw[i], heights[j, i] + LIFT, zw[j]],
        th.color(1),
        f"min {best:.4g}",
        {"what": "minimum", "alpha": x[i], "beta": y[j], "loss": best},
        th,
        "minimum",
    )
    items += _centre_items(meta, xs, zs, hs, th, model_id, x, y, shown)
    items += _trajectory_items(bundle, xs, zs, hs, th)
    items += _marker_items(bundle, xs, zs, hs, th, x, y, shown)
    return items


def _contour_lines(x, y, shown, xs, zs, hs, th, log_loss, count, vmin, vmax) -> list:
    if log_loss:
        levels = 10.0 ** nice_ticks(np.log10(vmin), np.log10(vmax), n=count)
    else:
        levels = nice_ticks(vmin, vmax, n=count)
    levels = levels[(levels > vmin) & (levels < vmax)]
    chunks = []
    for level in levels:
        seg = contour_segments(x, y, shown, level).reshape(-1, 2)
        if seg.size:
            h = float(hs.to_world(level)) + LIFT
            chunks.append(np.stack([xs.to_world(seg[:, 0]), np.full(seg.shape[0], h), zs.to_world(seg[:, 1])], 1))
    if not chunks:
        return []
    positions = np.concatenate(chunks)
    color = np.array([*th.text_color[:3], 0.75], np.float32)
    return [
        Lines(
            positions=positions,
            colors=np.tile(color, (positions.shape[0], 1)),
            width=1.5,
            name="contours",
            pick=[{"what": "contours", "levels": [float(v) for v in levels]}],
        )
    ]


def _loss_at(x, y, shown, px: float, py: float) -> float:
    """Bilinear interpolation of the grid at (px, py); NaN outside or next to a gap."""
    if not (x[0] <= px <= x[-1] and y[0] <= py <= y[-1]):
        return float("nan")
    i = int(np.clip(np.searchsorted(x, px) - 1, 0, x.size - 2))
    j = int(np.clip(np.searchsorted(y, py) - 1, 0, y.size - 2))
    tx = (px - x[i]) / (x[i + 1] - x[i])
    ty = (py - y[j]) / (y[j + 1] - y[j])
    c = shown[j : j + 2, i : i + 2]
    return float((1 - ty) * ((1 - tx) * c[0, 0] + tx * c[0, 1]) + ty * ((1 - tx) * c[1, 0] + tx * c[1, 1]))


def _centre_items(meta, xs, zs, hs, th, model_id, x, y, shown) -> list:
    centre = meta.get("center_loss")
    if centre is None:
        centre = _loss_at(x, y, shown, 0.0, 0.0)
    if centre is None or not np.isfinite(centre):
        return []
    h = float(hs.to_world(centre))
    return _marker(
        [float(xs.to_world(0.0)), h + LIFT, float(zs.to_world(0.0))],
        th.color(0),
        model_id.split("/")[-1],
        {"what": "model (centre)", "model": model_id, "loss": float(centre)},
        th,
        "centre",
    )


def _trajectory_items(bundle, xs, zs, hs, th) -> list:
    if "trajectory/xy" not in bundle.arrays:
        return []
    xy = np.asarray(bundle.arrays["trajectory/xy"], np.float64).reshape(-1, 2)
    tl = np.asarray(bundle.array("trajectory/loss"), np.float64).reshape(-1)
    pts = np.stack([xs.to_world(xy[:, 0]), hs.to_world(tl) + 2 * LIFT, zs.to_world(xy[:, 1])], 1)
    if np.isfinite(pts).all(axis=1).sum() < 2:
        return []
    return [
        ribbon(
            pts,
            width=0.12,
            color=th.color(2),
            glow=th.glow,
            name="trajectory",
            pick=[
                {"what": "trajectory", "steps": int(xy.shape[0]), "start_loss": float(tl[0]), "end_loss": float(tl[-1])}
            ],
        )
    ]


def _marker_items(bundle, xs, zs, hs, th, x, y, shown) -> list:
    if "markers/xy" not in bundle.arrays:
        return []
    xy = np.asarray(bundle.arrays["markers/xy"], np.float64).reshape(-1, 2)
    names = list(bundle.meta.get("markers") or [f"marker {k}" for k in range(xy.shape[0])])
    names += [f"marker {k}" for k in range(len(names), xy.shape[0])]
    losses = np.array([_loss_at(x, y, shown, a, b) for a, b in xy])
    h = np.where(np.isfinite(losses), hs.to_world(np.nan_to_num(losses, nan=hs.lo)), 0.0) + LIFT
    pos = np.stack([xs.to_world(xy[:, 0]), h, zs.to_world(xy[:, 1])], 1)
    color = th.color(3)
    return [
        Points(
            positions=pos,
            colors=np.tile(color, (xy.shape[0], 1)),
            sizes=np.full(xy.shape[0], 11.0),
            name="markers",
            pick=[
                to_jsonable({"what": names[k], "alpha": xy[k, 0], "beta": xy[k, 1], "loss": losses[k]})
                for k in range(xy.shape[0])
            ],
        ),
        Labels(
            positions=pos + [0.0, 0.3, 0.0],
            texts=names[: xy.shape[0]],
            color=th.text_color,
            anchor="center",
            size=12,
            name="marker labels",
        ),
    ]


def _curve_items(x, loss, xs, hs, th, meta, model_id) -> list:
    """A 1D landscape: one ribbon per run of finite losses (NaN = gap), the minimum and the centre."""
    heights = hs.to_world(loss)
    ok = np.isfinite(heights) & np.isfinite(loss)
    items = []
    runs = np.split(np.arange(x.size), np.flatnonzero(np.diff(ok.astype(np.int8))) + 1)
    for run in (r for r in runs if ok[r[0]] and r.size >= 2):
        pts = np.stack([xs.to_world(x[run]), heights[run], np.zeros(run.size)], 1)
        items.append(
            ribbon(
                pts,
                width=0.15,
                color=th.color(0),
                glow=th.glow,
                name="curve" if not items else f"curve/{len(items)}",
                pick=[{"what": "1D loss", "model": model_id, "from": float(x[run[0]]), "to": float(x[run[-1]])}],
            )
        )
    if not items:
        raise BundleError("1D landscape has no two neighbouring finite losses to draw")
    k = int(np.nanargmin(np.where(ok, loss, np.nan)))
    items += _marker(
        [xs.to_world(x[k]), heights[k] + LIFT, 0.0],
        th.color(1),
        f"min {loss[k]:.4g}",
        {"what": "minimum", "alpha": x[k], "loss": float(loss[k])},
        th,
        "minimum",
    )
    centre = meta.get("center_loss")
    if centre is not None and np.isfinite(centre):
        items += _marker(
            [xs.to_world(0.0), float(hs.to_world(centre)) + LIFT, 0.0],
            th.color(0),
            model_id.split("/")[-1],
            {"what": "model (centre)", "model": model_id, "loss": centre},
            th,
            "centre",
        )
    return items
