"""The two looks of every scene: ``tron`` (neon on black) and ``paper`` (print, colour-blind safe).

Both renderers and the exporters read these tables; the browser gets the table inside the
serialized scene. Colours are linear RGBA float32 (4,), written here in sRGB hex.

Example::

    >>> get_theme("paper").bloom_strength
    0.0
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from hubscape.core.errors import InputError

from .colormaps import hex_to_rgba


@dataclass(frozen=True, eq=False)
class Theme:
    """Colours and effects of one look. ``bloom_strength`` 0 turns bloom off."""

    name: str
    background: np.ndarray
    grid_color: np.ndarray
    fog_color: np.ndarray
    fog_density: float
    text_color: np.ndarray
    axis_color: np.ndarray
    bloom_strength: float
    glow: float
    colormap: str
    palette: list = field(default_factory=list)
    diverging: str = "coolwarm"  # colormap of signed values (triggered minus clean)
    bloom_threshold: float = 0.55  # linear luminance where bloom starts, and the softness of the start
    bloom_knee: float = 0.3
    bloom_iterations: int = 2  # separable blur passes at half size
    ambient: float = 0.55  # ambient term of the surface shading (shaders/surface.wgsl)

    def color(self, i: int) -> np.ndarray:
        """The i-th categorical colour (cycling through the palette)."""
        return np.asarray(self.palette[i % len(self.palette)], dtype=np.float32)

    def to_json(self) -> dict:
        """The table as JSON-able data (the ``theme`` entry of a scene bundle)."""
        doc = asdict(self)
        for key, value in doc.items():
            if isinstance(value, np.ndarray):
                doc[key] = [float(v) for v in value]
        doc["palette"] = [[float(v) for v in c] for c in self.palette]
        return doc


def _palette(hexes: list[str]) -> list[list[float]]:
    return [[float(v) for v in hex_to_rgba(h)] for h in hexes]


TRON = Theme(
    name="tron",
    background=hex_to_rgba("#000000"),
    grid_color=hex_to_rgba("#00E5FF"),
    fog_color=hex_to_rgba("#000000"),
    fog_density=0.035,
    text_color=hex_to_rgba("#BFFBFF"),
    axis_color=hex_to_rgba("#D8FFFF"),  # lighter than the grid, so axes stand out from it
    bloom_strength=0.8,
    glow=1.0,
    colormap="tron",
    diverging="tron_diverging",
    # 12 neon hues, far apart on black: cyan, orange (Tron's rival), magenta, yellow, green, blue,
    # white, coral, violet, mint, amber, sky; many curves are told apart by their direct labels too
    palette=_palette(
        [
            "#00FFFF",
            "#FF9A00",
            "#FF2BD6",
            "#FFE600",
            "#39FF14",
            "#3D7BFF",
            "#FFFFFF",
            "#FF5C5C",
            "#B266FF",
            "#00FFA8",
            "#FFC870",
            "#8FD8FF",
        ]
    ),
)

PAPER = Theme(
    name="paper",
    background=hex_to_rgba("#FFFFFF"),
    grid_color=hex_to_rgba("#C8C8C8"),
    fog_color=hex_to_rgba("#FFFFFF"),
    fog_density=0.0,
    text_color=hex_to_rgba("#1A1A1A"),
    axis_color=hex_to_rgba("#333333"),
    bloom_strength=0.0,
    glow=0.0,
    colormap="viridis",
    # Okabe & Ito (2008) without its yellow (too faint on white), then the darker colours of Paul
    # Tol's colour-blind-safe "muted" scheme: 12 colours that stay readable as text on white
    palette=_palette(
        [
            "#0072B2",
            "#D55E00",
            "#009E73",
            "#E69F00",
            "#CC79A7",
            "#56B4E9",
            "#000000",
            "#332288",
            "#882255",
            "#117733",
            "#999933",
            "#AA4499",
        ]
    ),
)

THEMES: dict[str, Theme] = {TRON.name: TRON, PAPER.name: PAPER}


def get_theme(name: str) -> Theme:
    """The theme called ``name``, or a one-line InputError listing the known ones."""
    try:
        return THEMES[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown theme {name!r}; expected one of {', '.join(THEMES)}") from None
