"""The landscape world: a loss surface with contours, its minimum, the model at the centre, a trajectory.

2D landscapes: alpha (``x``) along world x, beta (``y``) along world -z (so beta grows away
from the viewer in the 3D view and up the screen in the top-down heat-map view), loss as
height in [0, 5], colormapped (log10 with ``log_loss``); NaN losses are gaps (no triangles,
no contour through them). Contours carry their level in tooltips and the labels of a few
levels. Every vertex of the surface carries alpha, beta, the loss and the bundle's metrics,
so a tooltip reports them at the cursor. Views: "3D" and "top" (straight down, narrow field
of view: a heat map with the colour bar). 1D landscapes: the loss curve as a ribbon in the
x-y plane. Reads docs/bundles.md's layout.

Example::

    >>> scene = build_landscape_scene(read_bundle("landscape.safetensors"), theme="paper", log_loss=True)
"""

from __future__ import annotations

import numpy as np

from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError

from .colormaps import apply_colormap
from .contours import contour_segments
from .figure import frame_views
from .geometry import grid_wireframe, height_field, ribbon
from .model import ColorBar, GridFloor, Labels, Lines, Points, Scene
from .projection import bounds_of
from .themes import Theme, get_theme
from .ticks import box_axes, format_value, make_scale, nice_ticks

LIFT = 0.03  # world units that lines and markers float above the surface, against z-fighting
# azimuth, elevation (, fov) of the presets. The top view's field is narrow (nearly orthographic)
# so the raised surface overhangs its floor-level axes and their tick labels little; narrower
# still (5 degrees) and the axis titles no longer fit a page-sized view.
VIEWS_2D = {"3D": (32.0, 30.0), "top": (0.0, 89.5, 8.0)}
VIEWS_1D = {"side": (0.0, 12.0)}
CONTOUR_LABELS = 5  # at most this many contour levels get a label
#: How a bundle's loss name is written on axes and colour bars (others as stored).
LOSS_TITLES = {"attack_success_rate": "attack success rate"}


def build_landscape_scene(
    bundle: Bundle, theme: str = "tron", log_loss: bool = False, wireframe: bool = False, contours: int = 10
) -> Scene:
    """A Scene of a landscape bundle (1D or 2D); ``contours`` levels (0 = none)."""
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
    model = meta.get("model") or {}
    model_id = str(model.get("id") or "model")
    if model.get("weights"):  # e.g. the safety demo's "aligned" fine-tune of the model
        model_id = f"{model_id} ({model['weights']})"
    xs = make_scale(x, -5.0, 5.0)
    hs = make_scale(finite, 0.0, 5.0, log=log_loss)
    vmin, vmax = float(finite.min()), float(finite.max())
    metrics = {
        name[len("metrics/") :]: np.asarray(arr, np.float64)
        for name, arr in bundle.arrays.items()
        if name.startswith("metrics/") and np.shape(arr) == loss.shape
    }
    if loss.ndim == 1:
        items = _curve_items(bundle, x, loss, metrics, xs, hs, th, meta, model_id, loss_name)
        zs = None
    else:
        y = np.asarray(bundle.array("y"), np.float64)
        if loss.shape != (y.size, x.size):
            raise BundleError(
                f"landscape loss has shape {loss.shape}, expected (len(y), len(x)) = ({y.size}, {x.size})"
            )
        zs = make_scale(y, 5.0, -5.0)  # beta grows away from the viewer
        items = _surface_items(
            bundle, x, y, loss, metrics, xs, zs, hs, th, log_loss, wireframe, contours, vmin, vmax, loss_name, model_id
        )
    shown_name = LOSS_TITLES.get(loss_name, loss_name)
    loss_title = f"{shown_name} (log scale)" if log_loss else shown_name
    checkpoints = (meta.get("direction") or {}).get("checkpoints") or []
    interpolation = meta.get("method") == "interpolate" and len(checkpoints) == 2
    x_title = f"{checkpoints[0]} (0) to {checkpoints[1]} (1)" if interpolation else "alpha (direction 1)"
    titles = [x_title, loss_title, "beta (direction 2)" if zs is not None else ""]
    depth = 5.0 if zs is not None else 0.0
    items.extend(box_axes([xs.world_lo, 0.0, -depth], [xs.world_hi, 5.0, depth], [xs, hs, zs], titles))
    bounds = bounds_of(items)
    method = meta.get("method", "?")
    scene = Scene(
        world="landscape",
        title=f"{'Safety' if loss_name == 'attack_success_rate' else 'Loss'} landscape of {model_id} "
        + (f"(interpolation {checkpoints[0]} to {checkpoints[1]})" if interpolation else f"({method} directions)"),
        items=items,
        theme=th.name,
        grid=GridFloor(size=20.0, spacing=1.0),
        bounds=bounds,
        colorbar=ColorBar(colormap=th.colormap, vmin=vmin, vmax=vmax, label=loss_title, log=log_loss),
    )
    frame_views(scene, VIEWS_2D if zs is not None else VIEWS_1D)
    return scene


def _marker(
    position, color, label: str, pick: dict, th: Theme, name: str, size: float = 14.0, priority: float = 78.0
) -> list:
    pos = np.asarray(position, np.float64).reshape(1, 3)
    return [
        Points(
            positions=pos, colors=np.asarray(color, np.float32)[None], sizes=[size], name=name, pick=[to_jsonable(pick)]
        ),
        Labels(
            positions=pos,
            texts=[label],
            color=th.text_color,
            placement="point",
            radius=size / 2,
            priority=priority,
            size=13,
            name=f"{name} label",
        ),
    ]


def _surface_items(
    bundle, x, y, loss, metrics, xs, zs, hs, th, log_loss, wireframe, contours, vmin, vmax, loss_name, model_id
) -> list:
    meta = bundle.meta
    heights = hs.to_world(loss)
    if log_loss:
        heights = np.where(loss > 0, heights, np.nan)
    shown = np.where(np.isfinite(heights), loss, np.nan)
    xw, zw = xs.to_world(x), zs.to_world(y)
    colors = apply_colormap(shown, th.colormap, vmin, vmax, log=log_loss)
    grid_x, grid_y = np.meshgrid(x, y)
    columns = {"alpha": grid_x, "beta": grid_y, loss_name: loss, **metrics}
    surface = height_field(
        xw,
        zw,
        heights,
        colors,
        values=shown,
        floor=0.0,
        name="surface",
        emissive=0.25 if th.glow else 0.0,
        data=np.stack([np.asarray(v, np.float64).reshape(-1) for v in columns.values()], 1),
        data_names=list(columns),
        pick=[
            to_jsonable(
                {
                    "what": "loss surface",
                    "model": model_id,
                    "min": vmin,
                    "max": vmax,
                    "center_loss": meta.get("center_loss"),
                }
            )
        ],
    )
    items = [surface]
    if contours > 0:
        items.extend(_contour_items(x, y, shown, xs, zs, hs, th, log_loss, contours, vmin, vmax, loss_name))
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
        f"min {format_value(best)}",
        {
            "what": "minimum",
            "alpha": x[i],
            "beta": y[j],
            "loss": best,
            **{k: float(v[j, i]) for k, v in metrics.items()},
        },
        th,
        "minimum",
    )
    items += _centre_items(meta, xs, zs, hs, th, model_id, x, y, shown)
    items += _trajectory_items(bundle, xs, zs, hs, th)
    items += _marker_items(bundle, xs, zs, hs, th, x, y, shown)
    return items


def contour_levels(vmin: float, vmax: float, count: int, log: bool = False) -> np.ndarray:
    """About ``count`` round levels strictly inside (vmin, vmax): 1-2-5 steps, or 1, 2, 5 x 10^k on a log scale."""
    if log:
        a, b = int(np.floor(np.log10(vmin))), int(np.ceil(np.log10(vmax)))
        candidates = np.array([m * 10.0**e for e in range(a, b + 1) for m in (1, 2, 5)])
        levels = candidates[(candidates > vmin) & (candidates < vmax)]
        if levels.size > count:  # too many: the decades, or every k-th level
            decades = levels[np.isclose(np.log10(levels), np.round(np.log10(levels)))]
            levels = decades if decades.size >= 2 else levels[:: int(np.ceil(levels.size / count))]
        return levels
    levels = nice_ticks(vmin, vmax, n=count)
    return levels[(levels > vmin) & (levels < vmax)]


def _contour_items(x, y, shown, xs, zs, hs, th, log_loss, count, vmin, vmax, loss_name) -> list:
    """The contour lines (each vertex knows its level) and labels on a few of the levels."""
    levels = contour_levels(vmin, vmax, count, log_loss)
    chunks, level_of, anchors = [], [], []
    for level in levels:
        seg = contour_segments(x, y, shown, level).reshape(-1, 2)
        if seg.size:
            h = float(hs.to_world(level)) + LIFT
            pts = np.stack([xs.to_world(seg[:, 0]), np.full(seg.shape[0], h), zs.to_world(seg[:, 1])], 1)
            chunks.append(pts)
            level_of.append(np.full(seg.shape[0], level))
            # the label sits where the level passes closest to the viewer's front-left corner
            anchors.append((float(level), pts[int(np.argmax(pts[:, 2] - 0.4 * pts[:, 0]))]))
    if not chunks:
        return []
    positions = np.concatenate(chunks)
    color = np.array([*th.text_color[:3], 0.75], np.float32)
    items = [
        Lines(
            positions=positions,
            colors=np.tile(color, (positions.shape[0], 1)),
            width=1.5,
            name="contours",
            data=np.concatenate(level_of)[:, None],
            data_names=[f"contour of {loss_name}"],
            pick=[{"what": "contour"}],
        )
    ]
    step = max(1, int(np.ceil(len(anchors) / CONTOUR_LABELS)))
    shown_levels = anchors[::step]
    texts = [format_value(a[0], 3) for a in shown_levels]
    items.append(
        Labels(
            positions=[a[1] for a in shown_levels],
            texts=texts,
            color=th.text_color,
            size=11,
            placement="center",
            priority=55,
            name="contour labels",
        )
    )
    return items


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
    data = np.stack([np.arange(xy.shape[0]), xy[:, 0], xy[:, 1], tl], 1)
    return [
        ribbon(
            pts,
            width=0.12,
            color=th.color(2),
            glow=th.glow,
            name="trajectory",
            data=data,
            data_names=["checkpoint", "alpha", "beta", "loss"],
            pick=[{"what": "trajectory", "steps": int(xy.shape[0])}],
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
            positions=pos,
            texts=names[: xy.shape[0]],
            color=th.text_color,
            placement="point",
            radius=5.5,
            size=12,
            priority=76,
            name="marker labels",
        ),
    ]


def _curve_items(bundle, x, loss, metrics, xs, hs, th, meta, model_id, loss_name) -> list:
    """A 1D landscape: one ribbon per run of finite losses (NaN = gap), the minimum, the centre, the markers."""
    heights = hs.to_world(loss)
    ok = np.isfinite(heights) & np.isfinite(loss)
    columns = {"alpha": x, loss_name: loss, **metrics}
    data = np.stack(list(columns.values()), 1)
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
                facing=(0.0, 0.0, 1.0),
                data=data[run],
                data_names=list(columns),
                name="curve" if not items else f"curve/{len(items)}",
                pick=[{"what": "1D loss", "model": model_id}],
            )
        )
    if not items:
        raise BundleError("1D landscape has no two neighbouring finite losses to draw")
    k = int(np.nanargmin(np.where(ok, loss, np.nan)))
    items += _marker(
        [xs.to_world(x[k]), heights[k] + LIFT, 0.0],
        th.color(1),
        f"min {format_value(loss[k])}",
        {"what": "minimum", "alpha": x[k], "loss": float(loss[k]), **{n: float(v[k]) for n, v in metrics.items()}},
        th,
        "minimum",
    )
    centre = meta.get("center_loss")
    xy = np.asarray(bundle.arrays.get("markers/xy", np.zeros(0)), np.float64).reshape(-1)
    named_centre = bool(np.any(np.abs(xy) < 1e-12))  # a checkpoint at 0 (interpolation) names the centre
    if centre is not None and np.isfinite(centre) and not named_centre:
        items += _marker(
            [xs.to_world(0.0), float(hs.to_world(centre)) + LIFT, 0.0],
            th.color(0),
            model_id.split("/")[-1],
            {"what": "model (centre)", "model": model_id, "loss": centre},
            th,
            "centre",
        )
    if xy.size:
        names = list(meta.get("markers") or [])
        names += [f"marker {k}" for k in range(len(names), xy.size)]
        at = np.interp(xy, x[ok], loss[ok], left=np.nan, right=np.nan)
        pos = np.stack(
            [
                xs.to_world(xy),
                np.where(np.isfinite(at), hs.to_world(np.nan_to_num(at, nan=hs.lo)), 0.0) + LIFT,
                np.zeros(xy.size),
            ],
            1,
        )
        items.append(
            Points(
                positions=pos,
                colors=np.tile(th.color(3), (xy.size, 1)),
                sizes=np.full(xy.size, 11.0),
                name="markers",
                pick=[to_jsonable({"what": names[k], "alpha": xy[k], "loss": at[k]}) for k in range(xy.size)],
            )
        )
        items.append(
            Labels(
                positions=pos,
                texts=names[: xy.size],
                color=th.text_color,
                placement="point",
                radius=5.5,
                size=12,
                priority=76,
                name="marker labels",
            )
        )
    return items
