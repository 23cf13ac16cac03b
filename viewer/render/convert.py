"""Scene -> pygfx: one world object per Scene item, styled by the scene's theme.

The Scene already holds the geometry (viewer.scene builds it once for both renderers); this
module only maps each item to the matching pygfx object and material, sets up the camera so
that it agrees with ``viewer.scene.projection`` (vertical fov, same clip planes), and keeps a
map from world objects back to items for picking.

Colours in the Scene are linear RGBA. pygfx treats mesh vertex colours and the output of our
own shaders as linear, but ``gfx.Color`` (backgrounds, text) and the colours of points and
lines as sRGB, so those are encoded on the way in (``from_physical``, ``_srgb_colors``).

Example::

    >>> rendered = scene_to_pygfx(scene)
    >>> renderer.render(rendered.scene, rendered.camera)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pygfx as gfx

from hubscape.viewer.scene.colormaps import linear_to_srgb
from hubscape.viewer.scene.figure import figure_scale
from hubscape.viewer.scene.hover import record_at
from hubscape.viewer.scene.labels import layout_scene
from hubscape.viewer.scene.model import (
    Axes,
    Camera,
    Labels,
    Lines,
    Mesh,
    Points,
    Ribbon,
    Scene,
)
from hubscape.viewer.scene.projection import View, clip_planes, vertical_fov
from hubscape.viewer.scene.themes import Theme, get_theme

from .bloom import NeonBloomPass
from .grid import neon_grid
from .overlay import Overlay
from .ribbon import RibbonMaterial
from .surface import SurfaceMaterial


@dataclass(eq=False)
class RenderedScene:
    """The pygfx side of a Scene: world objects, camera, theme, and a pick map back to items."""

    scene: gfx.Scene
    camera: gfx.PerspectiveCamera
    theme: Theme
    source: Scene
    transparent: bool = False
    items: dict = field(default_factory=dict)  # id(world object) -> Item
    overlay: Overlay | None = None  # texts, title, legend, colour bar and charts in screen pixels
    size: tuple = (1600, 1000)
    label_scale: float = 1.0

    def layout_labels(self, view: View | None = None, mask: bool = True, dim=None) -> None:
        """Place the scene's texts for ``view`` (default: the scene camera at ``size``)."""
        if self.overlay is None:
            return
        w, h = self.size
        layout = layout_scene(
            self.source,
            w,
            h,
            scale=self.label_scale,
            obstacles=self.overlay.regions.obstacles(),
            view=view or View.of(self.source.camera, w, h),
            mask=mask,
        )
        self.overlay.set_labels(layout, dim=dim)
        self.layout = layout

    def effect_passes(self) -> list:
        """Post-processing for this theme (bloom in Tron, nothing in paper)."""
        if self.theme.bloom_strength > 0:
            th = self.theme
            return [
                NeonBloomPass(
                    strength=th.bloom_strength,
                    threshold=th.bloom_threshold,
                    knee=th.bloom_knee,
                    iterations=th.bloom_iterations,
                )
            ]
        return []

    def pick_record(self, pick_info: dict, cursor=None, view: View | None = None) -> dict | None:
        """The tooltip record of what a pygfx pick hit, with the values at the ``cursor`` (pixels) in
        ``view``, or None for the floor and background."""
        wobject = pick_info.get("world_object")
        item = self.items.get(id(wobject)) if wobject is not None else None
        if item is None or not item.pick:
            return None
        if "face_index" in pick_info:
            return record_at(item, face=int(pick_info["face_index"]), cursor=cursor, view=view)
        return record_at(item, vertex=int(pick_info.get("vertex_index", 0)))

    def view(self) -> View:
        """The pygfx camera now, as a ``projection.View`` of the rendered size."""
        return View(self.camera.view_matrix, self.camera.projection_matrix, *self.size)


def set_projection(camera: gfx.PerspectiveCamera, fov: float, width: int, height: int) -> None:
    """Give a pygfx camera the vertical field of view ``fov`` (degrees) for a width x height view."""
    aspect = width / height
    # pygfx applies fov to the mean of width and height; convert from the vertical fov.
    half = math.tan(math.radians(fov) / 2.0) * (1.0 + aspect) / 2.0
    camera.fov = math.degrees(2.0 * math.atan(half))
    camera.aspect = aspect
    camera.maintain_aspect = False


def set_camera(camera: gfx.PerspectiveCamera, view: Camera, width: int, height: int) -> None:
    """Place a pygfx camera like ``view`` for a width x height image (vertical fov)."""
    set_projection(camera, vertical_fov(view, width / height), width, height)
    camera.depth_range = clip_planes(view)
    camera.local.position = tuple(float(v) for v in view.eye)
    camera.look_at(tuple(float(v) for v in view.target))


def scene_to_pygfx(
    scene: Scene,
    *,
    theme: str | None = None,
    transparent: bool = False,
    size: tuple[int, int] = (1600, 1000),
    figure: bool = False,
) -> RenderedScene:
    """Build the pygfx scene graph of ``scene`` (theme overrides ``scene.theme``).

    ``figure=True`` (exports) scales text, line widths and markers with the image size, like
    the SVG/PDF exporter; a window keeps them at their pixel sizes. Either way the texts, title,
    legend, colour bar and charts are drawn flat on top (``RenderedScene.overlay``).
    """
    look = get_theme(theme or scene.theme)
    root = gfx.Scene()
    rendered = RenderedScene(
        scene=root, camera=gfx.PerspectiveCamera(), theme=look, source=scene, transparent=transparent, size=tuple(size)
    )
    if not transparent:
        root.add(_background(look))
    root.add(rendered.camera)
    if scene.grid is not None:
        root.add(neon_grid(scene.grid.size, scene.grid.spacing, scene.grid.y, look.grid_color, look.fog_density))
    scale = figure_scale(*size) if figure else 1.0
    for item in scene.items:
        for wobject in _ITEM_BUILDERS[item.kind](item, look, scale):
            rendered.items[id(wobject)] = item
            wobject.material.pick_write = bool(item.pick) and not isinstance(wobject, gfx.Text)
            root.add(wobject)
    set_camera(rendered.camera, scene.camera, *size)
    rendered.label_scale = scale
    rendered.overlay = Overlay(scene, look, *size, scale=scale)
    rendered.layout_labels()
    return rendered


#: Draw the background right after the opaque objects (render queue 2000) instead of first
#: (1000): it sits at the far plane and writes no depth, so the depth test then skips it
#: wherever an opaque surface already covers the pixel, and every pixel ends up the same.
#: On the CPU rasterizer that saves shading most of a 6 Mpixel export twice.
BACKGROUND_RENDER_QUEUE = 2001


def _background(look: Theme) -> gfx.Background:
    background = gfx.Background.from_color(_srgb(look.background))
    background.material.render_queue = BACKGROUND_RENDER_QUEUE
    return background


def _srgb(color) -> gfx.Color:
    r, g, b, a = (float(c) for c in color)
    return gfx.Color.from_physical(r, g, b, a)


def _srgb_colors(colors: np.ndarray) -> np.ndarray:
    """Linear RGBA rows to sRGB-encoded RGBA (alpha unchanged), for pygfx points and lines."""
    out = np.array(colors, dtype=np.float32, copy=True)
    out[:, :3] = linear_to_srgb(out[:, :3])
    return out


def _mesh(item: Mesh, look: Theme, scale: float = 1.0) -> list:
    geometry = gfx.Geometry(positions=item.positions, normals=item.normals, indices=item.indices, colors=item.colors)
    blend = item.opacity < 1 or bool((item.colors[:, 3] < 1).any())
    alpha = "blend" if blend else "solid"
    if item.wireframe:  # the edges only: pygfx's wireframe mode, unlit
        material = gfx.MeshBasicMaterial(color_mode="vertex", wireframe=True, opacity=item.opacity, alpha_mode=alpha)
    else:
        material = SurfaceMaterial(emissive=item.emissive, ambient=look.ambient, opacity=item.opacity, alpha_mode=alpha)
    return [gfx.Mesh(geometry, material)]


def _ribbon(item: Ribbon, look: Theme, scale: float = 1.0) -> list:
    geometry = gfx.Geometry(positions=item.positions, normals=item.normals, texcoords=item.uv, indices=item.indices)
    alpha = "blend" if item.color[3] < 1 else "solid"
    material = RibbonMaterial(color=item.color, glow=item.glow * look.glow, alpha_mode=alpha)
    return [gfx.Mesh(geometry, material)]


def _points(item: Points, look: Theme, scale: float = 1.0) -> list:
    geometry = gfx.Geometry(
        positions=item.positions, colors=_srgb_colors(item.colors), sizes=(item.sizes * scale).astype(np.float32)
    )
    material = gfx.PointsMaterial(
        color_mode="vertex", size_mode="vertex", size_space="screen", aa=True, alpha_mode="blend"
    )
    return [gfx.Points(geometry, material)]


def _lines(item: Lines, look: Theme, scale: float = 1.0) -> list:
    geometry = gfx.Geometry(positions=item.positions, colors=_srgb_colors(item.colors))
    dash = item.dash * scale
    material = gfx.LineSegmentMaterial(
        thickness=item.width * scale,
        color_mode="vertex",
        aa=True,
        alpha_mode="blend",
        dash_pattern=(dash, 0.6 * dash) if dash else (),
    )
    return [gfx.Line(geometry, material)]


def _labels(item: Labels, look: Theme, scale: float = 1.0) -> list:
    return []  # drawn flat on top by the overlay, where viewer.scene.labels places them


def _axes(item: Axes, look: Theme, scale: float = 1.0) -> list:
    """Axis lines and tick marks in the theme's axis colour (their texts are in the overlay)."""
    segments = [[item.origin, end] for end in item.ends if not np.allclose(end, item.origin)]
    span = float(np.max(np.linalg.norm(item.ends - item.origin, axis=1))) or 1.0
    tick = 0.015 * span
    for t in item.ticks:
        p = np.asarray(t["position"], np.float32)
        offset = np.array([0.0, -tick, 0.0] if t["axis"] != 1 else [-tick, 0.0, 0.0], np.float32)
        segments.append([p, p + offset])
    positions = np.asarray(segments, np.float32).reshape(-1, 3)
    colors = _srgb_colors(np.tile(np.asarray(look.axis_color, np.float32), (positions.shape[0], 1)))
    line = gfx.Line(
        gfx.Geometry(positions=positions, colors=colors),
        gfx.LineSegmentMaterial(thickness=1.5 * scale, color_mode="vertex", aa=True),
    )
    return [line]


_ITEM_BUILDERS = {
    "mesh": _mesh,
    "ribbon": _ribbon,
    "points": _points,
    "lines": _lines,
    "labels": _labels,
    "axes": _axes,
}
