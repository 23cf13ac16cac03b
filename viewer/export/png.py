"""PNG export: any pixel size, the DPI written into the file, optional transparent background.

The image is rendered completely in memory first (encoded by :mod:`hubscape.viewer.render.png`)
and then written atomically, so a failed or interrupted export never leaves a partial file.
"""

from __future__ import annotations

from pathlib import Path

from hubscape.core.atomic import write_bytes
from hubscape.core.errors import InputError


def check_dpi(dpi: float) -> float:
    """A DPI that a PNG pHYs chunk can hold and a paper would use (1 .. 10000)."""
    try:
        value = float(dpi)
    except (TypeError, ValueError):
        raise InputError(f"dpi must be a number, got {dpi!r}") from None
    if not 1 <= value <= 10000:
        raise InputError(f"dpi must be between 1 and 10000, got {dpi}")
    return value


def export_png(
    scene,
    out: str | Path,
    width: int,
    height: int,
    *,
    dpi: float = 150,
    theme: str | None = None,
    transparent: bool = False,
) -> Path:
    """Render ``scene`` to ``out`` as a width x height PNG at ``dpi``.

    Example::

        >>> export_png(scene, "fig.png", 3000, 2000, dpi=300, theme="paper")
    """
    from hubscape.viewer.render.offscreen import render_png_bytes

    data = render_png_bytes(scene, width, height, theme=theme, transparent=transparent, dpi=check_dpi(dpi))
    return write_bytes(out, data)
