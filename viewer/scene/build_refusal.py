"""Refusal-loss landscapes of several queries side by side (Gradient Cuff, Fig. 1b).

One surface per query, in a row along world x, all on the same axes: shift along direction 1
(alpha) along x, direction 2 (beta) along z, the refusal loss phi in [0, 1] as height (a fixed
scale, so a benign query's plateau at 1 and a malicious query's valley at 0 compare at a
glance). On each surface: the contour phi = 0.5, where Gradient Cuff's first stage decides (below
it the query is rejected), the unshifted query as a marker with its phi, and a title with the
query's label and text. Reads docs/bundles.md's ``refusal`` layout; a first-generation refusal
landscape (kind ``landscape``, refusal fraction) is read as phi by the analytics loader first.

Example::

    >>> scene = build_refusal_scene(read_bundle("refusal.safetensors"), theme="paper")
"""

from __future__ import annotations

import textwrap

import numpy as np

from hubscape.analytics.safety.refusal_landscape import RefusalLandscapes
from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError

from .colormaps import apply_colormap
from .contours import contour_segments
from .geometry import height_field
from .model import ColorBar, GridFloor, Labels, Lines, Points, Scene
from .projection import bounds_of, fit_camera
from .themes import get_theme
from .ticks import box_axes, make_scale

PANEL = 10.0  # world width of one query's surface
GAP = 3.0  # world space between two surfaces
HEIGHT = 5.0  # world height of phi = 1
LIFT = 0.03
DECISION = 0.5  # stage 1 rejects phi < 0.5


def build_refusal_scene(bundle: Bundle, theme: str = "tron", contours: bool = True) -> Scene:
    """A Scene of refusal landscapes: one phi surface per query, side by side."""
    th = get_theme(theme)
    res = RefusalLandscapes.from_bundle(bundle)
    if not res.done.any():
        raise BundleError("the refusal landscapes have no computed point to draw")
    hs = make_scale([0.0, 1.0], 0.0, HEIGHT)
    items: list = []
    model_id = str((res.meta.get("model") or {}).get("id") or "model")
    for q, (text, label) in enumerate(zip(res.queries, res.labels)):
        x0 = q * (PANEL + GAP) - PANEL / 2
        xs = make_scale(res.x, x0, x0 + PANEL)
        zs = make_scale(res.y, -PANEL / 2, PANEL / 2)
        phi = np.where(res.done[q], res.phi[q], np.nan)
        items += _panel(q, text, label, res.x, res.y, phi, xs, zs, hs, th, contours)
        first, last = q == 0, q == len(res.queries) - 1
        # phi's axis on the first surface, beta's on the last, alpha's under each
        items += box_axes(
            [x0, 0.0, -PANEL / 2],
            [x0 + PANEL, HEIGHT if first else 0.0, PANEL / 2],
            [xs, hs if first else None, zs if last else None],
            ["alpha (direction 1)", "refusal loss phi" if first else "", "beta (direction 2)" if last else ""],
            name=f"axes {q}",
        )
    bounds = bounds_of(items)
    span = res.meta.get("span")
    return Scene(
        world="landscape",
        title=f"Refusal loss landscapes of {model_id} (Gradient Cuff; shifts of the query embeddings up to {span})",
        items=items,
        camera=fit_camera(bounds, azimuth=20.0, elevation=32.0),
        theme=th.name,
        colorbar=ColorBar(colormap=th.colormap, vmin=0.0, vmax=1.0, label="phi = 1 - refusal fraction"),
        grid=GridFloor(size=float(max(20.0, 2 * np.abs(bounds[:, 0]).max() + 4)), spacing=1.0),
        bounds=bounds,
    )


def _panel(q, text, label, x, y, phi, xs, zs, hs, th, contours) -> list:
    xw, zw = xs.to_world(x), zs.to_world(y)
    heights = hs.to_world(phi)
    name = f"query {q}"
    pick = {
        "what": "refusal loss surface",
        "query": text,
        "label": label,
        "min": float(np.nanmin(phi)),
        "max": float(np.nanmax(phi)),
    }
    colors = apply_colormap(phi, th.colormap, 0.0, 1.0)
    items: list = [
        height_field(
            xw,
            zw,
            heights,
            colors,
            values=phi,
            floor=0.0,
            name=name,
            emissive=0.25 if th.glow else 0.0,
            pick=[to_jsonable(pick)],
        )
    ]
    if contours:
        seg = contour_segments(x, y, phi, DECISION).reshape(-1, 2)
        if seg.size:
            h = float(hs.to_world(DECISION)) + LIFT
            pos = np.stack([xs.to_world(seg[:, 0]), np.full(seg.shape[0], h), zs.to_world(seg[:, 1])], 1)
            color = np.array(th.color(1), np.float32)
            items.append(
                Lines(
                    positions=pos,
                    colors=np.tile(color, (pos.shape[0], 1)),
                    width=2.5,
                    name=f"{name} phi = 0.5",
                    pick=[{"what": "stage-1 boundary", "phi": DECISION}],
                )
            )
    i, j = int(np.argmin(np.abs(x))), int(np.argmin(np.abs(y)))
    centre = phi[j, i]
    if np.isfinite(centre) and np.isclose(x[i], 0.0) and np.isclose(y[j], 0.0):
        pos = np.array([[xw[i], heights[j, i] + LIFT, zw[j]]], np.float64)
        items += [
            Points(
                positions=pos,
                colors=np.asarray(th.color(0), np.float32)[None],
                sizes=[14.0],
                name=f"{name} centre",
                pick=[to_jsonable({"what": "the query, unshifted", "query": text, "phi": centre})],
            ),
            Labels(
                positions=pos + [0.0, 0.4, 0.0],
                texts=[f"phi {centre:.2f}"],
                color=th.text_color,
                anchor="center",
                size=13,
                name=f"{name} centre label",
            ),
        ]
    head = f"[{label}] " if label else ""
    wrapped = textwrap.shorten(head + text, width=64, placeholder="...")
    items.append(
        Labels(
            positions=[[float(xw.mean()), HEIGHT + 1.0, float(zw.min())]],
            texts=[wrapped],
            color=th.text_color,
            anchor="center",
            size=14,
            name=f"{name} title",
        )
    )
    return items
