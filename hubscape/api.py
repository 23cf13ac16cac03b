"""The notebook verbs over every kind of thing hubscape makes: build a scene, show it, export
a figure, load a bundle back as its typed result.

Each verb takes a *viewable*: a result (anything with ``to_bundle()``, e.g. a growth fit, a
landscape, an activation analysis), an in-memory bundle, a Scene, a path to a bundle or to a
growth source (children CSV, saved model tree), or a demo name (``"demo:landscape"``).

Example::

    >>> import hubscape as hs
    >>> result = hs.activations(model, {"clean": x, "triggered": x_trig})
    >>> hs.show(result)                               # inline in Jupyter, else a window
    >>> hs.export(result, "fig.pdf", theme="paper", size=(1800, 1200), dpi=300)
    >>> hs.load("fig-data.safetensors")               # the typed result a bundle holds
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from hubscape.core.errors import InputError

#: Bundle kind -> "module:callable" that reads a bundle file of that kind as its result.
LOADERS = {
    "activations": "hubscape.analytics.activations.result:ActivationResult.load",
    "growth": "hubscape.analytics.growth.results:GrowthResults.load",
    "landscape": "hubscape.analytics.landscape.result:LandscapeResult.load",
    "scene": "hubscape.viewer.scene.serialize:load_scene",
}


def scene(x: Any, theme: str | None = None, **options):
    """The Scene of ``x`` in ``theme`` ("tron" or "paper"; a Scene or saved scene keeps its own
    unless one is given). ``options`` go to the world's builder, e.g. ``log_count=True``
    (growth), ``log_loss=True`` (landscapes), ``metric="l2"`` (activations)."""
    from hubscape.core.bundle import Bundle
    from hubscape.viewer.scene.builders import build_scene
    from hubscape.viewer.scene.model import Scene

    if isinstance(x, Scene):
        if options:
            raise InputError(f"a Scene takes no build options, got {', '.join(sorted(options))}")
        if theme is not None:
            from hubscape.viewer.scene.themes import get_theme

            x.theme = get_theme(theme).name
        return x
    if hasattr(x, "to_bundle"):
        x = x.to_bundle()
    if isinstance(x, Bundle):
        return build_scene(x, theme=theme, **options)
    if isinstance(x, (str, os.PathLike)):
        from hubscape.viewer.sources.worlds import worlds_from_source

        world = worlds_from_source(os.fspath(x), options)[0]
        return world.build(theme or "tron")
    raise InputError(
        f"cannot draw a {type(x).__name__}: give a hubscape result, a bundle, a Scene, "
        "the path of a bundle or children CSV, or a demo name such as 'demo:landscape'"
    )


def show(x: Any, theme: str | None = None, size: tuple[int, int] | None = None, canvas=None, **options):
    """Show ``x`` in 3D: inline in a Jupyter notebook (the returned canvas is the cell's widget),
    else in a window that blocks until it is closed. ``canvas`` picks a rendercanvas canvas
    explicitly (e.g. ``rendercanvas.offscreen.RenderCanvas()`` for a test or a snapshot); its
    size is kept unless ``size`` is given (default 960 x 600)."""
    built = scene(x, theme=theme, **options)
    if size is None:
        size = tuple(int(v) for v in canvas.get_logical_size()) if canvas is not None else (960, 600)
    from hubscape.viewer.render.window import show as show_scene

    if canvas is None and not _in_jupyter():
        from hubscape.viewer.render.window import SceneViewer
        from hubscape.viewer.sources.worlds import World

        SceneViewer([World(built.world, lambda _theme: built)], theme=built.theme, size=size).run()
        return None
    return show_scene(built, theme=built.theme, size=size, canvas=canvas)


def export(
    x: Any,
    path: str | os.PathLike,
    *,
    size: tuple[int, int] = (1600, 1000),
    dpi: float = 150,
    theme: str | None = None,
    transparent: bool = False,
    **options,
) -> Path:
    """Write the figure of ``x`` to ``path``: PNG, SVG or PDF (3D view as a raster under vector
    axes, labels and legend) or glTF (.glb), chosen by the extension; returns the path."""
    from hubscape.core.outputs import check_output_file
    from hubscape.viewer.export import FORMATS, export_scene

    check_output_file(path, "the figure path", suffixes=FORMATS)  # before any fitting or drawing
    built = scene(x, theme=theme, **options)
    return export_scene(built, path, size=size, dpi=dpi, theme=built.theme, transparent=transparent)


def load(path: str | os.PathLike):
    """The typed result a bundle file holds: an ActivationResult, a LandscapeResult, the growth
    results of a fit, or a Scene (for a saved scene)."""
    from hubscape.core.bundle import bundle_kind

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such bundle: {path}")
    kind = bundle_kind(path)
    if kind not in LOADERS:
        raise InputError(f"{path} is not a hubscape bundle (expected a .safetensors file written by hubscape)")
    module, _, attr = LOADERS[kind].partition(":")
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    return target(path)


def _in_jupyter() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})
