"""Figure export: PNG, SVG/PDF (raster view with vector axes) and glTF.

``export_figure`` picks the format from the output's extension; every format renders or
serializes completely in memory and then writes the file atomically, so bad input or an
interrupted export never leaves a partial file. Output is deterministic for the same inputs.

Example::

    >>> export_figure("demo:landscape", "fig.pdf", size=(1800, 1200), dpi=300, theme="paper")
"""

from __future__ import annotations

from pathlib import Path

FORMATS = (".png", ".svg", ".pdf", ".glb")


def parse_size(text: str) -> tuple[int, int]:
    """``"3000x2000"`` -> (3000, 2000); a one-line InputError for anything else or impossible sizes."""
    from hubscape.core.errors import InputError
    from hubscape.viewer.render.offscreen import check_size

    parts = str(text).lower().replace("*", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"size must look like WIDTHxHEIGHT (e.g. 1600x1000), got {text!r}")
    return check_size(int(parts[0]), int(parts[1]))


def parse_camera(text: str, base, views: dict | None = None):
    """``"AZIMUTH,ELEVATION,DISTANCE"`` (degrees, degrees, world units) applied to camera ``base``, or
    the name of one of the scene's camera ``views`` (e.g. ``top``, ``front``)."""
    from hubscape.core.errors import InputError
    from hubscape.viewer.scene.model import Camera

    if views and str(text) in views:
        return views[str(text)]
    parts = str(text).split(",")
    try:
        az, el, dist = (float(p) for p in parts)
    except ValueError:
        names = f" or one of the views {', '.join(views)}" if views else ""
        raise InputError(f"camera must be AZIMUTH,ELEVATION,DISTANCE (three numbers){names}, got {text!r}") from None
    return Camera(target=base.target, azimuth=az, elevation=el, distance=dist, fov=base.fov, aspect=base.aspect)


def check_format(out: str | Path) -> str:
    from hubscape.core.errors import InputError

    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"cannot export {Path(out).name!r}: the file name must end in {', '.join(FORMATS)}")
    return suffix


def export_scene(
    scene,
    out: str | Path,
    *,
    size: tuple[int, int] = (1600, 1000),
    dpi: float = 150,
    theme: str | None = None,
    transparent: bool = False,
) -> Path:
    """Write ``scene`` to ``out`` in the format its extension names; returns the path."""
    suffix = check_format(out)
    if suffix == ".png":
        from .png import export_png

        return export_png(scene, out, *size, dpi=dpi, theme=theme, transparent=transparent)
    if suffix in (".svg", ".pdf"):
        from hubscape.viewer.render.offscreen import render_png_bytes

        from . import vector

        def render(scene_, width, height):
            return render_png_bytes(scene_, width, height, theme=theme, transparent=transparent, overlay=False)

        writer = vector.export_svg if suffix == ".svg" else vector.export_pdf
        return writer(scene, out, render, width=size[0], height=size[1], dpi=dpi)
    from . import gltf

    return gltf.export_glb(scene, out)


def export_figure(
    source,
    out: str | Path,
    *,
    size=(1600, 1000),
    dpi: float = 150,
    theme: str | None = None,
    transparent: bool = False,
    camera: str | None = None,
    options: dict | None = None,
    title: str | None = None,
) -> Path:
    """Build the scene of ``source`` (bundle, growth source, demo name or Scene) and export it.

    ``theme`` defaults to a Scene's own theme, else "tron". ``options`` go to the scene
    builder (e.g. ``{"log_count": True}`` for growth). ``title`` replaces the scene's title
    (a figure for a paper names the model as the paper does, not as a folder on disk).
    """
    from hubscape.viewer.render.offscreen import check_size
    from hubscape.viewer.scene.themes import get_theme

    check_format(out)
    size = parse_size(size) if isinstance(size, str) else check_size(*size)
    if title is not None and not title.strip():
        from hubscape.core.errors import InputError

        raise InputError("the title is empty")
    if isinstance(source, (str, Path)):
        theme = get_theme(theme or "tron").name
        from hubscape.viewer.sources.worlds import scene_from_source

        scene = scene_from_source(str(source), theme=theme, options=options)
    else:
        scene = source
        theme = get_theme(theme or scene.theme).name
    if camera:
        scene.camera = parse_camera(camera, scene.camera, scene.views)
    if title is not None:
        scene.title = title
    return export_scene(scene, out, size=size, dpi=dpi, theme=theme, transparent=transparent)


#: Export cost measured here (lavapipe on 2 shared cores, demo:landscape; BENCHMARKS.md):
#: peak memory = base + bytes per pixel, time = seconds per pixel after start-up.
EXPORT_COST = {".png": (250e6, 41.0, 1.0e-6), ".svg": (260e6, 50.0, 1.7e-6), ".pdf": (260e6, 50.0, 1.7e-6)}
#: Above this many pixels `hubscape export` says what an export will cost before it starts.
COSTLY_PIXELS = 4096 * 2048


def export_cost(size: tuple[int, int], suffix: str) -> str | None:
    """A line with the memory and time a large export will take (None for ordinary sizes); a
    one-line InputError when it cannot fit in the memory this machine has free."""
    from hubscape.core.errors import InputError

    if suffix not in EXPORT_COST or size[0] * size[1] <= COSTLY_PIXELS:
        return None
    base, per_pixel, seconds = EXPORT_COST[suffix]
    pixels = size[0] * size[1]
    memory = base + per_pixel * pixels
    free = _available_memory()
    if free is not None and memory > free:
        raise InputError(
            f"a {size[0]}x{size[1]} {suffix[1:].upper()} needs about {memory / 1e9:.1f} GB of memory and this machine "
            f"has {free / 1e9:.1f} GB free; choose a smaller --size (or .glb, which has no pixels)"
        )
    return (
        f"hubscape: a {size[0]}x{size[1]} px {suffix[1:].upper()} ({pixels / 1e6:.0f} MP) takes about "
        f"{memory / 1e9:.1f} GB of memory and {seconds * pixels:.0f} s here"
    )


def _available_memory() -> float | None:
    """Bytes of memory available now (Linux /proc/meminfo), or None where that is unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
