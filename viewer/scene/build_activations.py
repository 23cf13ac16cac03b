"""The activations world: per-channel norms of every layer, clean against triggered, and pruning curves.

Each condition (clean, triggered, ...) has a box of its own, well apart from the others, on
a dark base plate with its name above it. In a box, channels run along x and layers along z
(the first layer at the back, the last, usually the pruned one, at the front), and height and
colour show the chosen norm (``metric``: l_inf, l1 or l2) normalized per layer over all
conditions, so clean and triggered compare directly: the same channel of a layer sits at the
same place in every box. Layers of up to ``STRIP_MAX`` channels are rows of bars; wider
layers (transformers: e.g. 30 layers x 576 hidden units) become one heat-map surface of
layer x channel per box (channels binned by their maximum above ``MAX_BINS``), with the
``TOP_K`` channels that gain most under the trigger raised as labelled markers, so the view
stays legible from 2 to 100 layers and from 8 to 10,000 channels.

``view="difference"`` (or ``"ratio"``) shows one box of triggered minus clean (or triggered /
clean) per layer, channels ranked by it along x, so the backdoor channels come first and
are labelled by index. The pruning curves (clean accuracy and attack success rate against
channels pruned, l_inf and fine-pruning's mean together) are a flat 2D chart facing the
viewer, with the chosen pruning point marked.

Example::

    >>> scene = build_activations_scene(read_bundle("acts.safetensors"), metric="l2", view="difference")
"""

from __future__ import annotations

import math

import numpy as np

from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError, InputError

from .colormaps import apply_colormap
from .figure import frame_views
from .geometry import tiles
from .model import Axes, Chart, ColorBar, GridFloor, Labels, Mesh, Points, Scene
from .projection import bounds_of
from .themes import get_theme
from .ticks import axes_ticks, format_value, make_scale, nice_ticks

METRICS = ("linf", "l1", "l2")
METRIC_NAMES = {"linf": "l_inf", "l1": "l1", "l2": "l2"}
VIEWS = ("side", "difference", "ratio")
BAR_HEIGHT = 2.5  # world units of a layer's largest value
STRIP_MAX = 128  # channels per layer drawn as bars; wider layers become a heat-map surface
MAX_BINS = 1024  # channel columns of a heat-map surface (wider layers are binned by their maximum)
TOP_K = 5  # channels labelled per layer (bars) or per box (surfaces)
BOX_WIDTH, BOX_GAP, BOX_DEPTH = 4.6, 1.6, 8.0
PRESETS = {"3D": (-18.0, 38.0), "front": (0.0, 10.0)}


def build_activations_scene(
    bundle: Bundle, theme: str = "tron", metric: str = "linf", view: str = "side", pruning_method: str | None = None
) -> Scene:
    """A Scene of an activations bundle (see the module docstring)."""
    if metric not in METRICS:
        raise InputError(f"unknown activation metric {metric!r}; expected one of {', '.join(METRICS)}")
    if view not in VIEWS:
        raise InputError(f"unknown activations view {view!r}; expected one of {', '.join(VIEWS)}")
    th = get_theme(theme)
    meta = bundle.meta
    layers = meta.get("layers") or []
    conditions = list(meta.get("conditions") or [])
    if not layers or not conditions:
        raise BundleError("activations bundle names no layers or no conditions")
    values = [
        {c: np.asarray(bundle.array(f"layers/{li}/{c}/{metric}"), np.float64).reshape(-1) for c in conditions}
        for li in range(len(layers))
    ]
    for li, per in enumerate(values):
        if any(v.size == 0 for v in per.values()):
            raise BundleError(f"layer {li} has no channels")
    if view != "side" and len(conditions) < 2:
        raise InputError(
            f"the {view} view needs two conditions (clean and triggered); this bundle has {', '.join(conditions)}"
        )
    clean, trig = conditions[0], (conditions[1] if len(conditions) > 1 else None)
    names = [str(layer.get("name", f"layer {li}")) for li, layer in enumerate(layers)]
    mname = METRIC_NAMES[metric]
    wide = max(v.size for per in values for v in per.values()) > STRIP_MAX
    if view == "side":
        boxes = [(c, c, [per[c] for per in values]) for c in conditions]
    else:
        boxes = [
            (
                view,
                f"triggered {'-' if view == 'difference' else '/'} clean ({mname})",
                [_contrast(per[clean], per[trig], view) for per in values],
            )
        ]
    n_box = len(boxes)
    total = n_box * BOX_WIDTH + (n_box - 1) * BOX_GAP
    items = []
    # per layer, one scale over all boxes, so the same height means the same value everywhere
    tops = [
        max(float(np.nanmax(np.abs(b[2][li]))) if np.isfinite(b[2][li]).any() else 0.0 for b in boxes) or 1.0
        for li in range(len(layers))
    ]
    signed = view == "difference"
    cmap = th.diverging if signed else th.colormap
    for k, (key, heading, per_layer) in enumerate(boxes):
        x0 = -total / 2 + k * (BOX_WIDTH + BOX_GAP)
        box = (x0, x0 + BOX_WIDTH)
        items.append(_plate(box, th, key))
        if wide:
            items.extend(
                _surface_box(
                    box, key, per_layer, values, names, tops, th, cmap, signed, view, clean, trig, metric, total / 2
                )
            )
        else:
            items.extend(
                _bar_box(
                    box, key, per_layer, values, names, tops, th, cmap, signed, view, clean, trig, metric, total / 2
                )
            )
        items.append(
            Labels(
                positions=[[(box[0] + box[1]) / 2, BAR_HEIGHT + 0.9, -BOX_DEPTH / 2]],
                texts=[heading],
                color=th.text_color,
                size=14,
                placement="center",
                priority=86,
                name=f"heading/{key}",
            )
        )
    what = {"side": f"{mname} / layer max", "difference": "difference / layer max", "ratio": "ratio / layer max"}[view]
    ys = make_scale([0.0, 1.0], 0.0, BAR_HEIGHT)
    # the height scale stands at the front-right corner of the last box, clear of the layer names
    corner = [total / 2 + 0.3, 0.0, BOX_DEPTH / 2 + 0.3]
    items.append(
        Axes(
            origin=corner,
            ends=[corner, [corner[0], BAR_HEIGHT, corner[2]], corner],
            ticks=axes_ticks(corner, [None, ys, None]),
            titles=["", what, ""],
            name="height axis",
            centre=[0.0, BAR_HEIGHT / 2, 0.0],
        )
    )
    chart = _pruning_chart(bundle, th, pruning_method)
    bounds = bounds_of(items)
    model_id = str((meta.get("model") or {}).get("id") or "model")
    title = {
        "side": f"Activations of {model_id} ({mname}, per-layer normalized)",
        "difference": f"Backdoor channels of {model_id}: triggered - clean {mname}, ranked",
        "ratio": f"Backdoor channels of {model_id}: triggered / clean {mname}, ranked",
    }[view]
    bar = ColorBar(colormap=cmap, vmin=-1.0 if signed else 0.0, vmax=1.0, label=what)
    scene = Scene(
        world="activations",
        title=title,
        items=items,
        theme=th.name,
        colorbar=bar,
        charts=[chart] if chart is not None else [],
        bounds=bounds,
        grid=GridFloor(size=2 * math.ceil(max(abs(bounds[0][0]), abs(bounds[1][0]), BOX_DEPTH) + 3), spacing=1.0),
    )
    frame_views(scene, PRESETS)
    return scene


def _contrast(clean: np.ndarray, trig: np.ndarray, view: str) -> np.ndarray:
    if view == "difference":
        return trig - clean
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(clean > 0, trig / clean, np.nan)


def _plate(box, th, key) -> Mesh:
    """A dark base plate under a box: it sets the box apart and hides the floor grid beneath the data."""
    x0, x1 = box[0] - 0.25, box[1] + 0.25
    z0, z1 = -BOX_DEPTH / 2 - 0.3, BOX_DEPTH / 2 + 0.3
    positions = [[x0, 0.004, z0], [x1, 0.004, z0], [x1, 0.004, z1], [x0, 0.004, z1]]
    tint = np.array([*(0.97 * np.asarray(th.background[:3]) + 0.03 * np.asarray(th.grid_color[:3])), 1.0])
    return Mesh(
        positions=positions,
        normals=[[0, 1, 0]] * 4,
        indices=[[0, 2, 1], [0, 3, 2]],
        colors=[tint] * 4,
        name=f"plate/{key}",
    )


def _rows(n_layers: int) -> tuple[np.ndarray, float]:
    """z of each layer's row (first layer at the back) and the row depth."""
    pitch = BOX_DEPTH / n_layers
    z = -BOX_DEPTH / 2 + pitch * (np.arange(n_layers) + 0.5)
    return z, pitch


def _bar_box(box, key, per_layer, values, names, tops, th, cmap, signed, view, clean, trig, metric, total_half) -> list:
    """Rows of bars, one row per layer, one bar per channel (ranked in the difference/ratio views)."""
    z, pitch = _rows(len(per_layer))
    items, label_pos, label_text = [], [], []
    ranked = view != "side"
    for li, v in enumerate(per_layer):
        n = v.size
        order = np.argsort(-np.nan_to_num(v, nan=-np.inf), kind="stable") if ranked else np.arange(n)
        cell = (box[1] - box[0]) / n
        depth = min(0.8 * pitch, 1.2)
        norm = np.nan_to_num(v[order] / tops[li], nan=0.0)
        heights = np.abs(norm) * BAR_HEIGHT if signed else np.clip(norm, 0, 1) * BAR_HEIGHT
        colors = apply_colormap(norm, cmap, -1.0 if signed else 0.0, 1.0)
        corners = np.stack([box[0] + np.arange(n) * cell + 0.1 * cell, np.full(n, z[li] - depth / 2)], 1)
        pick = [
            _bar_record(names[li], key, int(c), values[li], clean, trig, metric, rank=r if ranked else None)
            for r, c in enumerate(order)
        ]
        data = np.repeat(
            np.stack(
                [
                    order,
                    [values[li][clean][c] for c in order],
                    [values[li][trig][c] if trig else np.nan for c in order],
                ],
                1,
            ),
            20,
            axis=0,
        )
        items.append(
            tiles(
                corners,
                (0.8 * cell, depth),
                heights,
                0.0,
                colors,
                name=f"layer/{li}/{key}",
                pick=pick,
                emissive=0.35 if th.glow else 0.0,
                data=data,
                data_names=["channel", f"{clean} {metric}", f"{trig} {metric}" if trig else "-"],
            )
        )
        if box[0] < -total_half + 1e-6:  # layer names on the first box only
            items.append(
                Labels(
                    positions=[[box[0] - 0.15, 0.0, z[li]]],
                    texts=[f"{names[li]} ({n} ch)"],
                    color=th.text_color,
                    size=11,
                    placement="start",
                    anchor="right",
                    priority=83,
                    name=f"layer label/{li}/{key}",
                )
            )
        if trig is not None and (ranked or key == trig):
            gain = values[li][trig] - values[li][clean]
            top = np.argsort(-gain, kind="stable")[: min(TOP_K, max(1, n // 4))]
            where = {int(c): r for r, c in enumerate(order)}
            for c in top:
                r = where[int(c)]
                label_pos.append([box[0] + (r + 0.5) * cell, heights[r] + 0.05, z[li]])
                label_text.append(f"c{int(c)}")
        if li == len(per_layer) - 1 or len({p.size for p in per_layer}) > 1:
            scale = make_scale([0, n - 1], box[0] + 0.5 * cell, box[1] - 0.5 * cell, n=5)
            ticks = [t for t in scale.ticks if t <= n - 1]
            items.extend(
                _channel_axis(
                    box, z[li] + depth / 2 + 0.05, scale, ticks, ranked, key, li, title=li == len(per_layer) - 1
                )
            )
    if label_pos:
        items.append(
            Labels(
                positions=label_pos,
                texts=label_text,
                color=th.text_color,
                size=10,
                placement="point",
                radius=3.0,
                priority=72,
                name=f"top channels/{key}",
            )
        )
    return items


def _channel_axis(box, z, scale, ticks, ranked, key, li, title) -> list:
    """A channel (or rank) axis along the front of a layer's row."""
    origin = [box[0], 0.0, z]
    labels = [str(int(t) + 1) if ranked else str(int(t)) for t in ticks]
    ticks_doc = [
        {"axis": 0, "position": [float(scale.to_world(t)), 0.0, z], "label": lab} for t, lab in zip(ticks, labels)
    ]
    name = "rank (1 = largest)" if ranked else "channel"
    return [
        Axes(
            origin=origin,
            ends=[[box[1], 0.0, z], origin, origin],
            ticks=ticks_doc,
            titles=[name if title else "", "", ""],
            name=f"channel axis/{key}/{li}",
            centre=[(box[0] + box[1]) / 2, 1.0, z - 1.0],
        )
    ]


def _bar_record(layer, key, c, values, clean, trig, metric, rank=None) -> dict:
    rec = {"layer": layer, "view": key, "channel": c}
    if rank is not None:
        rec["rank"] = rank + 1
    rec[f"{clean} {metric}"] = float(values[clean][c])
    if trig is not None:
        a, b = float(values[clean][c]), float(values[trig][c])
        rec[f"{trig} {metric}"] = b
        rec["triggered / clean"] = b / a if a > 0 else None
    return to_jsonable(rec)


def _surface_box(
    box, key, per_layer, values, names, tops, th, cmap, signed, view, clean, trig, metric, total_half
) -> list:
    """A layer x channel heat-map surface (wide layers), with the top channels raised and labelled."""
    from .geometry import height_field

    n_layers = len(per_layer)
    width = max(v.size for v in per_layer)
    bins = min(MAX_BINS, width)
    per_bin = math.ceil(width / bins)
    bins = math.ceil(width / per_bin)
    z, pitch = _rows(n_layers)
    grid = np.full((n_layers, bins), np.nan)
    for li, v in enumerate(per_layer):
        norm = v / tops[li]
        padded = np.full(bins * per_bin, np.nan)
        padded[: v.size] = norm
        blocks = padded.reshape(bins, per_bin)
        pick = np.nanargmax(np.abs(np.nan_to_num(blocks, nan=0.0)), axis=1)
        grid[li] = blocks[np.arange(bins), pick]  # the bin's most extreme channel, sign kept
    heights = (np.abs(grid) if signed else np.clip(grid, 0, 1)) * BAR_HEIGHT
    xw = np.linspace(box[0], box[1], bins) if bins > 1 else np.array([box[0], box[1]])
    colors = apply_colormap(grid, cmap, -1.0 if signed else 0.0, 1.0)
    layer_idx, channel = np.meshgrid(np.arange(n_layers), np.arange(bins) * per_bin, indexing="ij")
    data = np.stack([layer_idx.reshape(-1), channel.reshape(-1), grid.reshape(-1)], 1)
    items = []
    if bins > 1 and n_layers > 1:
        items.append(
            height_field(
                xw,
                z,
                heights,
                colors.reshape(-1, 4),
                floor=0.0,
                name=f"surface/{key}",
                emissive=0.3 if th.glow else 0.0,
                data=data,
                data_names=["layer", f"channel (bins of {per_bin})" if per_bin > 1 else "channel", "value / layer max"],
                pick=[{"view": key, "metric": metric, "layers": n_layers, "channels": width}],
            )
        )
    if trig is not None:
        gains = [(values[li][trig] - values[li][clean], li) for li in range(n_layers)]
        flat = [(float(g[c]), li, int(c)) for g, li in gains for c in np.argsort(-g)[:TOP_K]]
        flat.sort(reverse=True)
        chosen = flat[: TOP_K * 2]
        pos, texts, picks = [], [], []
        for _gain, li, c in chosen:
            x = box[0] + (box[1] - box[0]) * (c / max(1, width - 1))
            pos.append([x, float(heights[li, min(bins - 1, c // per_bin)]) + 0.15, z[li]])
            texts.append(f"{names[li]} c{c}")
            picks.append(_bar_record(names[li], key, c, values[li], clean, trig, metric))
        items.append(
            Points(
                positions=pos,
                colors=np.tile(th.color(1), (len(pos), 1)),
                sizes=np.full(len(pos), 9.0),
                name=f"top channels/{key}",
                pick=picks,
            )
        )
        items.append(
            Labels(
                positions=pos,
                texts=texts,
                color=th.text_color,
                size=10,
                placement="point",
                radius=4.5,
                priority=72,
                name=f"top channel labels/{key}",
            )
        )
    step = max(1, math.ceil(n_layers / 12))
    rows = list(range(0, n_layers, step)) if box[0] < -total_half + 1e-6 else []
    if rows:
        items.append(
            Labels(
                positions=[[box[0] - 0.15, 0.0, z[li]] for li in rows],
                texts=[names[li] for li in rows],
                color=th.text_color,
                size=10,
                placement="start",
                anchor="right",
                priority=83,
                name=f"layer labels/{key}",
            )
        )
    scale = make_scale([0, width - 1], box[0], box[1], n=5)
    ticks = [t for t in scale.ticks if t <= width - 1]
    items.extend(_channel_axis(box, BOX_DEPTH / 2 + 0.1, scale, ticks, False, key, n_layers - 1, title=True))
    return items


def _pruning_chart(bundle, th, method: str | None) -> Chart | None:
    """Clean accuracy and attack success rate against channels pruned: every pruning method of the
    bundle (l_inf solid, the others dashed), with the point each method reaches its goal marked."""
    found = sorted({k.split("/")[1] for k in bundle.arrays if k.startswith("pruning/") and k.endswith("/pruned")})
    if not found:
        return None
    if method is not None and method not in found:
        raise InputError(f"no pruning curve {method!r} in this bundle; it has {', '.join(found)}")
    methods = [method] if method else sorted(found, key=lambda m: (m != "linf", m))
    meta = bundle.meta
    pruning = meta.get("pruning") or {}
    summary = meta.get("summary") or {}
    series, marks, top = [], [], 0.0
    labels = {"linf": "l_inf", "mean": "mean"}
    for k, m in enumerate(methods):
        pruned = np.asarray(bundle.array(f"pruning/{m}/pruned"), np.float64)
        order = bundle.arrays.get(f"pruning/{m}/order")
        top = max(top, float(len(order)) if order is not None else float(pruned.max()))
        for key, what, color in (
            ("clean_accuracy", "clean accuracy", th.color(0)),
            ("attack_success_rate", "attack success", th.color(1)),
        ):
            name = f"pruning/{m}/{key}"
            if name in bundle.arrays:
                series.append(
                    {
                        "label": f"{what}, {labels.get(m, m)}",
                        "color": color,
                        "x": pruned,
                        "y": np.asarray(bundle.arrays[name], np.float64),
                        "dash": k > 0,
                    }
                )
        goal = summary.get(f"pruning_{m}") or {}
        at = goal.get("channels_to_goal")
        if at is not None and f"pruning/{m}/attack_success_rate" in bundle.arrays:
            step = int(np.argmin(np.abs(pruned - at))) if at not in pruned else int(np.flatnonzero(pruned == at)[0])
            asr = float(bundle.arrays[f"pruning/{m}/attack_success_rate"][step])
            acc = (
                float(bundle.arrays[f"pruning/{m}/clean_accuracy"][step])
                if f"pruning/{m}/clean_accuracy" in bundle.arrays
                else float("nan")
            )
            marks.append(
                {
                    "x": float(pruned[step]),
                    "y": asr,
                    "color": th.color(1),
                    "label": f"{int(pruned[step])} ch: attack {format_value(asr, 2)}, acc {format_value(acc, 2)}",
                }
            )
    x_ticks = [t for t in nice_ticks(0, top, n=5) if t <= top]
    if top - x_ticks[-1] > 0.25 * (x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else top):
        x_ticks.append(top)
    layer = pruning.get("layer", "")
    title = f"pruning {layer}: l_inf (solid), fine-pruning by mean (dashed)" if len(methods) > 1 else f"pruning {layer}"
    return Chart(
        title=title,
        x_label="channels pruned",
        y_label="rate",
        x_range=(0.0, top),
        y_range=(0.0, 1.0),
        x_ticks=[[t, format_value(t)] for t in x_ticks],
        y_ticks=[[t, f"{t:.1f}"] for t in (0.0, 0.25, 0.5, 0.75, 1.0)],
        series=series,
        marks=marks,
        size=(400.0, 280.0),
        corner="bottom-right",
    )
