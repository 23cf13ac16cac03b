"""The Scene: pure-numpy geometry and styling, shared by the desktop and browser renderers.

No renderer is imported here (the package runs in Pyodide). The contract is docs/scene.md.
"""

from .builders import build_scene
from .model import (
    ITEM_TYPES,
    Axes,
    Camera,
    ColorBar,
    GridFloor,
    Item,
    Labels,
    Legend,
    Lines,
    Mesh,
    Points,
    Ribbon,
    Scene,
)
from .serialize import load_scene, save_scene, scene_from_bundle, scene_to_bundle
from .themes import THEMES, Theme, get_theme

__all__ = [
    "build_scene",
    "ITEM_TYPES",
    "Axes",
    "Camera",
    "ColorBar",
    "GridFloor",
    "Item",
    "Labels",
    "Legend",
    "Lines",
    "Mesh",
    "Points",
    "Ribbon",
    "Scene",
    "THEMES",
    "Theme",
    "get_theme",
    "load_scene",
    "save_scene",
    "scene_from_bundle",
    "scene_to_bundle",
]
