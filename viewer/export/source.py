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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from hubscape.analytics.bundle import Bundle, bundle_kind, read_bundle
from hubscape.analytics.errors import InputError


@dataclass
class World:
    """One world of a source: its name and a builder ``theme -> Scene``."""

    name: str
    build: Callable[[str], object]


DEMOS = ("landscape", "growth", "activations")


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
        bundle = _DEMO_BUNDLES[name]()
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


def growth_bundle_from_source(path: Path) -> Bundle:
    """Fit a growth source (children CSV or tree file) the way ``hubscape growth fit`` does."""
    from hubscape.analytics.growth.sources import load_series

    return growth_bundle(load_series([path]), source=str(path))


def growth_bundle(series: list, source: str, horizon: int = 12) -> Bundle:
    """An in-memory growth bundle of least-squares fits and forecasts of ``series``."""
    from hubscape.analytics.bundle import to_jsonable
    from hubscape.analytics.growth.analysis import analyze
    from hubscape.analytics.growth.growth_bundle import encode_results

    arrays, meta = encode_results([analyze(s, methods=("lsq",), horizon=horizon) for s in series], horizon)
    return Bundle(kind="growth", meta=to_jsonable(meta), arrays=arrays, provenance={"sources": [source]}, schema=1)


# -- demos: synthetic bundles with known structure ----------------------------------------


def demo_landscape() -> Bundle:
    """A 2D loss surface: a tilted valley with ripples, its minimum off-centre, and a descent path."""
    x = np.linspace(-1.0, 1.0, 81)
    y = np.linspace(-1.0, 1.0, 81)
    X, Y = np.meshgrid(x, y)
    loss = 0.35 + 1.6 * (X - 0.25) ** 2 + 0.9 * (Y + 0.15) ** 2 + 0.6 * X * Y + 0.08 * np.sin(9 * X) * np.cos(7 * Y)
    s = np.linspace(0.0, 1.0, 40)
    path = np.stack([-0.85 + 1.1 * s, 0.8 - 0.95 * s + 0.15 * np.sin(6 * s)], axis=1)
    path_loss = (0.35 + 1.6 * (path[:, 0] - 0.25) ** 2 + 0.9 * (path[:, 1] + 0.15) ** 2 + 0.6 * path[:, 0] * path[:, 1]
                 + 0.08 * np.sin(9 * path[:, 0]) * np.cos(7 * path[:, 1]))
    meta = {"dims": 2, "method": "random",
            "direction": {"seed": 0, "normalization": "filter", "ignore": ["bias", "norm"], "orthogonalized": True},
            "span": 1.0, "grid": [81, 81], "center_loss": float(loss[40, 40]), "loss": "cross_entropy",
            "metrics": [], "model": {"id": "demo/quadratic-valley", "revision": None},
            "data": {"name": "synthetic", "n": 0}, "complete": True}
    arrays = {"x": x, "y": y, "loss": loss, "trajectory/xy": path, "trajectory/loss": path_loss}
    return Bundle(kind="landscape", meta=meta, arrays=arrays, provenance={"demo": "landscape"}, schema=1)


def demo_activations() -> Bundle:
    """Three conv layers, clean vs triggered; a few 'backdoor' channels light up only when triggered."""
    rng = np.random.default_rng(7)
    layers, arrays = [], {}
    for l, (channels, side) in enumerate([(16, 16), (32, 8), (64, 4)]):
        layers.append({"name": f"features.{3 * l}", "type": "conv", "shape": [channels, side, side]})
        base = rng.gamma(2.0, 0.5, channels)
        backdoor = np.zeros(channels)
        backdoor[rng.choice(channels, size=max(1, channels // 16), replace=False)] = 3.0 + l
        for cond, boost in (("clean", 0.0), ("triggered", 1.0)):
            linf = base + boost * backdoor
            arrays[f"layers/{l}/{cond}/linf"] = linf
            arrays[f"layers/{l}/{cond}/l2"] = 0.6 * linf
            arrays[f"layers/{l}/{cond}/l1"] = 0.4 * linf
    steps = np.arange(0, 17)
    arrays["pruning/linf/pruned"] = steps.astype(np.float64)
    arrays["pruning/linf/clean_accuracy"] = 0.93 - 0.002 * steps - 0.0004 * steps ** 2
    arrays["pruning/linf/attack_success_rate"] = 0.98 / (1.0 + np.exp(steps - 4.0))
    arrays["pruning/linf/order"] = np.argsort(-arrays["layers/2/triggered/linf"]).astype(np.int64)[:64]
    meta = {"model": {"id": "demo/backdoored-cnn", "revision": None}, "conditions": ["clean", "triggered"],
            "layers": layers, "trigger": {"description": "3x3 white patch", "target_label": 0, "size": 3},
            "gradcam": None, "pruning": {"layer": "features.6", "methods": ["linf"]},
            "summary": {"clean_accuracy": 0.93, "attack_success_rate": 0.98}}
    return Bundle(kind="activations", meta=meta, arrays=arrays, provenance={"demo": "activations"}, schema=1)


def demo_growth() -> Bundle:
    """Three synthetic model trees drawn from the WSB model with known (mu, sigma, lambda), then fitted."""
    import datetime as dt

    from hubscape.analytics.growth import model as wsb
    from hubscape.analytics.growth.series import GrowthSeries

    rng = np.random.default_rng(11)
    truths = {"demo/fast-saturating": (math.log(4.0), 0.8, 2.4), "demo/steady": (math.log(12.0), 1.0, 2.0),
              "demo/late-bloomer": (math.log(24.0), 0.6, 2.8)}
    until, series = 36.0, []
    t = np.arange(1.0, until + 1.0)
    for name, params in truths.items():
        events = np.sort(wsb.simulate_events(*params, until=until, rng=rng))
        count = np.searchsorted(events, t, side="right").astype(float)
        series.append(GrowthSeries(model=name, unit="month", t=t, count=count, events=events, observed_until=until,
                                   release_date=dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc),
                                   release_source="user", source="demo:growth",
                                   notes=[f"simulated with mu={params[0]:.3f}, sigma={params[1]}, lambda={params[2]}"]))
    return growth_bundle(series, source="demo:growth")


_DEMO_BUNDLES = {"landscape": demo_landscape, "activations": demo_activations, "growth": demo_growth}
