"""One entry point from any bundle to a Scene: ``build_scene`` dispatches on the bundle's kind.

Example::

    >>> scene = build_scene("fit.safetensors", theme="paper", log_count=True)
    >>> scene.world
    'growth'
"""

from __future__ import annotations

import inspect
from pathlib import Path

from hubscape.core.bundle import Bundle, read_bundle
from hubscape.core.errors import InputError

from .build_activations import build_activations_scene
from .build_growth import build_growth_scene
from .build_landscape import build_landscape_scene
from .build_refusal import build_refusal_scene
from .model import Scene
from .serialize import scene_from_bundle
from .themes import get_theme

BUILDERS = {
    "growth": build_growth_scene,
    "landscape": build_landscape_scene,
    "activations": build_activations_scene,
    "refusal": build_refusal_scene,
}


def build_scene(source: Bundle | str | Path, theme: str | None = None, **options) -> Scene:
    """The Scene of a bundle (or bundle file): growth, landscape, activations, or a saved scene.

    ``theme`` defaults to "tron" (a saved scene keeps its own unless one is given). ``options``
    go to the world's builder (e.g. ``log_count`` for growth, ``log_loss``/``wireframe`` for
    landscapes, ``metric`` for activations); an option the builder lacks is a one-line InputError.
    """
    if theme is not None:
        get_theme(theme)
    bundle = source if isinstance(source, Bundle) else read_bundle(source)
    if bundle.kind == "scene":
        if options:
            raise InputError(f"a saved scene takes no build options, got {', '.join(sorted(options))}")
        scene = scene_from_bundle(bundle)
        if theme is not None:
            scene.theme = theme
        return scene
    builder = BUILDERS.get(bundle.kind)
    if bundle.kind == "landscape" and bundle.meta.get("method") == "refusal":
        builder = build_refusal_scene  # a first-generation refusal landscape, drawn as phi
    if builder is None:
        raise InputError(f"cannot draw a {bundle.kind} bundle; expected one of {', '.join([*BUILDERS, 'scene'])}")
    accepted = set(inspect.signature(builder).parameters) - {"bundle", "theme"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise InputError(
            f"{bundle.kind} scenes take no option {', '.join(unknown)}; "
            f"they take {', '.join(sorted(accepted)) or 'none'}"
        )
    return builder(bundle, theme=theme or "tron", **options)
