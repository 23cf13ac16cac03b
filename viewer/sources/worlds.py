"""What ``hubscape view`` and ``hubscape export`` accept as SOURCE, turned into Scenes.

A SOURCE is
- a bundle file (``.safetensors``) of kind scene, growth, landscape or activations;
- a growth source that ``hubscape growth fit`` accepts (a children CSV or a saved model tree),
  fitted on the fly with the default methods;
- a built-in demo: ``demo:landscape``, ``demo:growth`` or ``demo:activations`` (synthetic
  bundles with known structure, for trying the viewer without data).

Each source yields one or more *worlds*: a name and a function ``theme -> Scene``, so a
viewer can rebuild the world when the theme changes (the palettes differ per theme).

Example::

    >>> [(w.name, w.build("paper").title) for w in worlds_from_source("demo:landscape")]
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hubscape.core.bundle import Bundle, bundle_kind, read_bundle
from hubscape.core.errors import InputError

from .demos import DEMO_BUNDLES, DEMOS
from .fitting import growth_bundle_from_source


@dataclass
class World:
    """One world of a source: its name and a builder ``theme -> Scene``."""

    name: str
    build: Callable[[str], object]


def parse_options(pairs: list[str] | None) -> dict:
    """``["log_count=true", "contours=8"]`` -> ``{"log_count": True, "contours": 8}`` (builder options).

    Values are read as JSON where they parse (true, false, null, numbers), else kept as text.
    """
    options = {}
    for pair in pairs or []:
        name, sep, value = str(pair).partition("=")
        if not sep or not name.strip().isidentifier():
            raise InputError(f"an option must look like NAME=VALUE (e.g. log_count=true), got {pair!r}")
        try:
            options[name.strip()] = json.loads(value)
        except ValueError:
            options[name.strip()] = value
    return options


def worlds_from_source(source: str, options: dict | None = None) -> list[World]:
    """The worlds a SOURCE string describes (see the module docstring); InputError if none.

    ``options`` go to the world's scene builder (e.g. ``log_count`` for growth).
    """
    worlds = _worlds(str(source))
    if options:
        worlds = [World(w.name, functools.partial(_with_options, w.build, options)) for w in worlds]
    return worlds


def _with_options(build, options: dict, theme: str):
    return build(theme, **options)


def _worlds(text: str) -> list[World]:
    if text.startswith("demo:"):
        name = text[5:]
        if name not in DEMOS:
            raise InputError(f"unknown demo {name!r}; expected one of {', '.join('demo:' + d for d in DEMOS)}")
        bundle = DEMO_BUNDLES[name]()
        return [World(name, functools.partial(build_from_bundle, bundle))]
    path = Path(text)
    if not path.exists():
        raise InputError(f"no such file: {path} (a SOURCE is a bundle, a growth CSV/tree, or demo:NAME)")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a bundle, a growth CSV/tree file, or demo:NAME")
    if path.suffix.lower() == ".safetensors" or bundle_kind(path) is not None:
        bundle = read_bundle(path)
        return [World(bundle.kind if bundle.kind != "scene" else "scene", functools.partial(build_from_bundle, bundle))]
    bundle = growth_bundle_from_source(path)
    return [World("growth", functools.partial(build_from_bundle, bundle))]


def scene_from_source(source: str, theme: str = "tron", options: dict | None = None):
    """The first world of ``source`` built in ``theme``."""
    return worlds_from_source(source, options)[0].build(theme)


def build_from_bundle(bundle: Bundle, theme: str = "tron", **options):
    """A Scene from a bundle of any kind (a scene bundle keeps its geometry, takes the theme)."""
    from hubscape.viewer.scene import builders

    return builders.build_scene(bundle, theme=theme, **options)
