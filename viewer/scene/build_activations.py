"""The activations world: per-channel norms as tiles, layers stacked in depth, conditions side by side.

Each (layer, condition) is a grid of channel tiles whose height and colour show the chosen
norm (l_inf, l1 or l2), normalized per layer over all conditions so clean and triggered
compare directly. Conditions sit side by side along x in [-5, 5], layers one behind the
other along z. The pruning curve (clean accuracy and attack success rate against channels
pruned) stands in its own box beside them, x in [7, 13].

Example::

    >>> scene = build_activations_scene(read_bundle("acts.safetensors"), metric="l2")
"""

from __future__ import annotations

import math

import numpy as np

from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError, InputError

from .colormaps import apply_colormap
from .geometry import ribbon, tiles
from .model import ColorBar, GridFloor, Labels, Legend, Scene
from .projection import bounds_of, fit_camera
from .themes import get_theme
from .ticks import box_axes, make_scale

METRICS = ("linf", "l1", "l2")
TILE_HEIGHT = 2.0
PRUNING_BOX = (np.array([7.0, 0.0, 0.0]), np.array([13.0, 5.0, 0.0]))


def build_activations_scene(
    bundle: Bundle, theme: str = "tron", metric: str = "linf", pruning_method: str | None = None
) -> Scene:
    """A Scene of an activations bundle: channel tiles per layer and condition, and the pruning curve."""
    if metric not in METRICS:
        raise InputError(f"unknown activation metric {metric!r}; expected one of {', '.join(METRICS)}")
    th = get_theme(theme)
    meta = bundle.meta
    layers = meta.get("layers") or []
    conditions = list(meta.get("conditions") or [])
    if not layers or not conditions:
        raise BundleError("activations bundle names no layers or no conditions")
    n_layers, n_cond = len(layers), len(conditions)
    column = 10.0 / n_cond
    slot = min(10.0 / n_layers, column)
    items = []
    for li, layer in enumerate(layers):
        values = [np.asarray(bundle.array(f"layers/{li}/{c}/{metric}"), np.float64).reshape(-1) for c in conditions]
        top = max((float(np.nanmax(v)) for v in values if np.isfinite(v).any()), default=0.0)
        top = top if top > 0 else 1.0
        z0 = -5.0 + li * (10.0 / n_layers) + 0.5 * (10.0 / n_layers - slot)
        for ci, cond in enumerate(conditions):
            v = values[ci]
            x0 = -5.0 + ci * column
            items.append(_layer_tiles(bundle, li, layer, cond, v, top, x0, z0, column, slot, th, metric))
        items.append(
            Labels(
                positions=[[-5.2, 0.0, z0 + slot / 2]],
                texts=[str(layer.get("name", f"layer {li}"))],
                color=th.text_color,
                anchor="right",
                size=12,
                name=f"layer label/{li}",
            )
        )
    items.append(
        Labels(
            positions=[[-5.0 + (ci + 0.5) * column, TILE_HEIGHT + 0.6, -5.0] for ci in range(n_cond)],
            texts=conditions,
            color=th.text_color,
            anchor="center",
            size=14,
            name="condition labels",
        )
    )
    legend = None
    pruning = _pruning_items(bundle, th, pruning_method)
    if pruning:
        items.extend(pruning)
        legend = Legend(
            entries=[
                {"label": "clean accuracy", "color": th.color(0)},
                {"label": "attack success rate", "color": th.color(1)},
            ]
        )
    bounds = bounds_of(items)
    model_id = str((meta.get("model") or {}).get("id") or "model")
    return Scene(
        world="activations",
        title=f"Activations of {model_id} ({metric}, per-layer normalized)",
        items=items,
        camera=fit_camera(bounds, azimuth=20.0, elevation=35.0),
        theme=th.name,
        legend=legend,
        colorbar=ColorBar(colormap=th.colormap, vmin=0.0, vmax=1.0, label=f"{metric} / layer maximum"),
        grid=GridFloor(size=32.0, spacing=1.0),
        bounds=bounds,
    )


def _layer_tiles(bundle, li, layer, cond, v, top, x0, z0, column, slot, th, metric):
    """The channel tiles of one layer under one condition, in a near-square grid inside its slot."""
    n = v.size
    if n == 0:
        raise BundleError(f"layer {li} has no channels under condition {cond!r}")
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    width = 0.9 * column
    cell = min(width / cols, 0.9 * slot / rows)
    gap = 0.12 * cell
    ch = np.arange(n)
    corners = np.stack([x0 + 0.05 * column + (ch % cols) * cell, z0 + (ch // cols) * cell], 1)
    norm = np.clip(np.nan_to_num(v / top, nan=0.0), 0.0, 1.0)
    colors = apply_colormap(norm, th.colormap, 0.0, 1.0)
    others = {m: bundle.arrays.get(f"layers/{li}/{cond}/{m}") for m in METRICS}
    name = str(layer.get("name", f"layer {li}"))
    pick = [
        to_jsonable(
            {
                "layer": name,
                "condition": cond,
                "channel": int(c),
                **{m: float(a[c]) for m, a in others.items() if a is not None and a.size == n},
            }
        )
        for c in ch
    ]
    return tiles(
        corners,
        (cell - gap, cell - gap),
        norm * TILE_HEIGHT,
        0.0,
        colors,
        name=f"layer/{li}/{cond}",
        pick=pick,
        emissive=0.35 if th.glow else 0.0,
    )


def _pruning_items(bundle, th, method: str | None) -> list:
    found = sorted({k.split("/")[1] for k in bundle.arrays if k.startswith("pruning/") and k.endswith("/pruned")})
    if not found:
        return []
    wanted = method or next(
        (m for m in ((bundle.meta.get("pruning") or {}).get("methods") or []) if m in found), found[0]
    )
    if wanted not in found:
        raise InputError(f"no pruning curve {wanted!r} in this bundle; it has {', '.join(found)}")
    pruned = np.asarray(bundle.array(f"pruning/{wanted}/pruned"), np.float64)
    lo, hi = PRUNING_BOX
    xs = make_scale(pruned, lo[0], hi[0], include_zero=True)
    ys = make_scale([0.0, 1.0], lo[1], hi[1])
    items = []
    for k, (key, label) in enumerate(
        (("clean_accuracy", "clean accuracy"), ("attack_success_rate", "attack success rate"))
    ):
        name = f"pruning/{wanted}/{key}"
        if name not in bundle.arrays:
            continue
        y = np.asarray(bundle.arrays[name], np.float64)
        pts = np.stack([xs.to_world(pruned), ys.to_world(y), np.full(y.size, 0.15 * k)], 1)
        items.append(
            ribbon(
                pts,
                width=0.12,
                color=th.color(k),
                glow=th.glow,
                name=f"pruning {key}",
                pick=[
                    {"what": label, "method": wanted, "steps": int(y.size), "first": float(y[0]), "last": float(y[-1])}
                ],
            )
        )
    items.extend(
        box_axes(
            [lo[0], lo[1], -0.6],
            [hi[0], hi[1], 0.6],
            [xs, ys, None],
            [f"channels pruned ({wanted})", "rate", ""],
            name="pruning axes",
        )
    )
    return items
