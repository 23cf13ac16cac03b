"""Scenes to bundles (kind ``scene``) and back, without loss: what the browser engine reads.

Layout (docs/scene.md): every numpy field of item ``i`` is the tensor ``items/{i}/{field}``;
everything else goes into the JSON meta: ``world``, ``title``, ``theme`` (the full table),
``theme_name``, ``camera``, ``grid``, ``legend``, ``colorbar``, ``bounds`` and ``items`` (one
dict per item: ``kind``, ``name``, ``pick`` and its other non-array fields).

Example::

    >>> save_scene("scene.safetensors", scene)
    >>> load_scene("scene.safetensors").items[0].positions.shape
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.core.bundle import Bundle, read_bundle, to_jsonable, write_bundle
from hubscape.core.errors import BundleError, InputError

from .colormaps import lut_srgb
from .figure import colorbar_ticks
from .labels import label_font
from .model import ITEM_TYPES, Camera, Chart, ColorBar, GridFloor, Item, Legend, Scene
from .themes import get_theme

#: Stops of the colour bar's table sent to the browser (it draws the bar itself).
COLORBAR_STOPS = 64


def scene_to_bundle(scene: Scene) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and JSON meta of a scene bundle (pass them to ``write_bundle(path, "scene", ...)``)."""
    arrays: dict[str, np.ndarray] = {}
    items = []
    for i, item in enumerate(scene.items):
        doc: dict[str, Any] = {"kind": item.kind}
        for f in fields(item):
            value = getattr(item, f.name)
            if isinstance(value, np.ndarray):
                arrays[f"items/{i}/{f.name}"] = value
            elif value is not None:
                doc[f.name] = value
        items.append(doc)
    colorbar = None
    if scene.colorbar is not None:
        stops = lut_srgb(scene.colorbar.colormap)[np.linspace(0, 255, COLORBAR_STOPS).round().astype(int)]
        colorbar = {**_plain(scene.colorbar), "lut": stops, "ticks": colorbar_ticks(scene.colorbar)}
    meta = {
        "world": scene.world,
        "title": scene.title,
        "theme": get_theme(scene.theme).to_json(),
        "theme_name": scene.theme,
        "camera": _camera(scene.camera),
        "views": {name: _camera(cam) for name, cam in scene.views.items()},
        "grid": None if scene.grid is None else _plain(scene.grid),
        "legend": None if scene.legend is None else _plain(scene.legend),
        "colorbar": colorbar,
        "charts": [_plain(c) for c in scene.charts],
        "bounds": scene.bounds,
        "font": label_font(),
        "items": items,
    }
    return arrays, to_jsonable(meta)


def _camera(camera: Camera) -> dict[str, Any]:
    return {
        "target": camera.target,
        "azimuth": camera.azimuth,
        "elevation": camera.elevation,
        "distance": camera.distance,
        "fov": camera.fov,
        "aspect": camera.aspect,
        "eye": camera.eye,
    }


def _camera_from(doc: dict) -> Camera:
    cam = dict(doc)
    cam.pop("eye", None)
    return Camera(**cam)


def scene_from_bundle(bundle: Bundle) -> Scene:
    """Rebuild the Scene of a ``scene`` bundle; a damaged one raises a one-line BundleError."""
    if bundle.kind != "scene":
        raise BundleError(f"a scene bundle is needed here, got a {bundle.kind} bundle")
    meta = bundle.meta
    try:
        items = [_item_from(i, doc, bundle.arrays) for i, doc in enumerate(meta["items"])]
        colorbar = meta.get("colorbar")
        if colorbar is not None:
            colorbar = ColorBar(**{k: v for k, v in colorbar.items() if k not in ("lut", "ticks")})
        return Scene(
            world=meta["world"],
            title=meta.get("title", ""),
            items=items,
            camera=_camera_from(meta["camera"]),
            views={name: _camera_from(doc) for name, doc in (meta.get("views") or {}).items()},
            theme=meta.get("theme_name", "tron"),
            legend=None if meta.get("legend") is None else Legend(**meta["legend"]),
            colorbar=colorbar,
            charts=[Chart(**doc) for doc in meta.get("charts") or []],
            grid=None if meta.get("grid") is None else GridFloor(**meta["grid"]),
            bounds=meta["bounds"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"scene bundle is damaged ({type(exc).__name__}: {exc})") from None


def save_scene(path: str | Path, scene: Scene, provenance: dict | None = None) -> Path:
    """Write ``scene`` as a scene bundle, atomically."""
    arrays, meta = scene_to_bundle(scene)
    return write_bundle(path, "scene", arrays, meta, provenance)


def load_scene(path: str | Path) -> Scene:
    """Read a scene bundle written by ``save_scene``."""
    return scene_from_bundle(read_bundle(path, kind="scene"))


def _plain(obj) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _item_from(i: int, doc: dict, arrays: dict[str, np.ndarray]) -> Item:
    kind = doc.get("kind")
    cls = ITEM_TYPES.get(kind)
    if cls is None:
        raise BundleError(f"scene item {i} has unknown kind {kind!r}; expected one of {', '.join(ITEM_TYPES)}")
    kwargs = {k: v for k, v in doc.items() if k != "kind"}
    prefix = f"items/{i}/"
    kwargs.update({key[len(prefix) :]: arr for key, arr in arrays.items() if key.startswith(prefix)})
    try:
        return cls(**kwargs)
    except InputError as exc:
        raise BundleError(f"scene item {i} ({kind}) is damaged: {exc}") from None
