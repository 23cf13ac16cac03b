"""Offscreen rendering of a Scene to pixels: the engine behind PNG/SVG/PDF export and the tests.

Uses rendercanvas's offscreen canvas (on a machine without a GPU, wgpu picks Mesa's lavapipe)
at pixel ratio 1 and without pygfx's anti-aliasing passes: the materials anti-alias their own
edges and at export sizes the extra passes cost ~20x the frame time. Opaque images without
an effect pass (the paper theme) are read straight from pygfx's render target; bloom and
transparent backgrounds go through the canvas, whose output pass they need. Images larger
than the device's maximum texture size are rendered in overlapping tiles by shifting the
camera's view offset, then cropped and stitched, so bloom has no seams.

Example::

    >>> png = render_png_bytes(scene, 3000, 2000)
    >>> rgba = render_array(scene, 800, 600, theme="paper")
"""

from __future__ import annotations

import numpy as np

from hubscape.core.errors import InputError
from hubscape.viewer.render.png import encode_png

#: Largest side and pixel count we agree to render (a 16k x 16k RGBA image is 1 GiB).
MAX_SIDE = 32768
MAX_PIXELS = 16384 * 16384
#: Margin around each tile (pixels), wider than the bloom halo.
TILE_MARGIN = 64
#: Largest canvas side rendered in one pass; bigger images are tiled (an 8192^2 float16
#: target with depth and pick buffers is already ~1 GiB).
MAX_CANVAS = 8192


def check_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` as ints, or a one-line InputError for sizes that cannot be rendered."""
    try:
        w, h = int(width), int(height)
    except (TypeError, ValueError):
        raise InputError(f"image size must be two integers, got {width!r} x {height!r}") from None
    if w < 1 or h < 1:
        raise InputError(f"image size must be at least 1 x 1 pixels, got {w} x {h}")
    if w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
        raise InputError(f"image size {w} x {h} is too large (at most {MAX_SIDE} per side and {MAX_PIXELS:,} pixels)")
    return w, h


def max_texture_size() -> int:
    """The GPU's largest 2D texture side (8192 on lavapipe, 16384+ on most GPUs)."""
    from pygfx.renderers.wgpu import get_shared

    return int(get_shared().device.limits["max-texture-dimension-2d"])


class OffscreenRenderer:
    """A reusable offscreen canvas + renderer for one Scene (re-render after changing the view).

    Building the pygfx objects and compiling shaders happens once; each ``render`` call only
    draws. The benchmark and the exporters use it directly.
    """

    def __init__(
        self,
        scene,
        width: int,
        height: int,
        *,
        theme: str | None = None,
        transparent: bool = False,
        tile: int | None = None,
        overlay: bool = True,
    ):
        """``tile`` caps the canvas side (default: ``MAX_CANVAS`` or the GPU's maximum texture size,
        whichever is smaller); ``overlay=False`` leaves out the title, legend and colour bar (the
        SVG/PDF exporter draws them as vector)."""
        import pygfx as gfx
        from rendercanvas.offscreen import RenderCanvas

        from .convert import scene_to_pygfx

        self.width, self.height = check_size(width, height)
        self.transparent = transparent
        limit = max(min(tile or MAX_CANVAS, max_texture_size()), 2 * TILE_MARGIN + 64)
        self.rendered = scene_to_pygfx(
            scene, theme=theme, transparent=transparent, size=(self.width, self.height), figure=True
        )
        if not overlay:
            self.rendered.overlay = None
        self.tiled = self.width > limit or self.height > limit
        if self.tiled:  # tiles no larger than needed: a wide strip gets short tiles
            canvas_size = (min(limit, self.width + 2 * TILE_MARGIN), min(limit, self.height + 2 * TILE_MARGIN))
        else:
            canvas_size = (self.width, self.height)
        # The part of each tile that is kept (the margins only feed the bloom).
        self.tile = (canvas_size[0] - 2 * TILE_MARGIN, canvas_size[1] - 2 * TILE_MARGIN)
        self.canvas = RenderCanvas(size=canvas_size, pixel_ratio=1)
        self.renderer = gfx.renderers.WgpuRenderer(self.canvas, pixel_scale=1, ppaa="none")
        self.renderer.effect_passes = self.rendered.effect_passes()

    def render(self) -> np.ndarray:
        """The image as (height, width, 4) uint8 RGBA (straight alpha)."""
        if not self.tiled:
            return self._draw()
        out = np.zeros((self.height, self.width, 4), np.uint8)
        cam, m = self.rendered.camera, TILE_MARGIN
        cw, ch = self.canvas.get_physical_size()
        tw, th = self.tile
        for y0 in range(0, self.height, th):
            for x0 in range(0, self.width, tw):
                cam.set_view_offset(self.width, self.height, x0 - m, y0 - m, cw, ch)
                if self.rendered.overlay is not None:  # screen pixels, y up: shift the figure under the tile
                    self.rendered.overlay.root.local.position = (-(x0 - m), -(self.height - (y0 - m + ch)), 0)
                tile = self._draw()
                h, w = min(th, self.height - y0), min(tw, self.width - x0)
                out[y0 : y0 + h, x0 : x0 + w] = tile[m : m + h, m : m + w]
        cam.clear_view_offset()
        if self.rendered.overlay is not None:
            self.rendered.overlay.root.local.position = (0, 0, 0)
        return out

    def _draw(self) -> np.ndarray:
        rendered, renderer = self.rendered, self.renderer
        if not self.transparent and not renderer.effect_passes:
            # Read the render target itself: the canvas would only add a full-frame copy pass
            # (pygfx's output pass, an identity at pixel scale 1 for opaque pixels) and a second
            # 6 Mpixel read-back at export sizes.
            renderer.render(rendered.scene, rendered.camera, clear=True, flush=False)
            if rendered.overlay is not None:
                renderer.render(rendered.overlay.root, rendered.overlay.camera, flush=False)
            return renderer.snapshot()

        def draw():
            if rendered.overlay is None:
                renderer.render(rendered.scene, rendered.camera, clear=True)
            else:
                renderer.render(rendered.scene, rendered.camera, clear=True, flush=False)
                renderer.render(rendered.overlay.root, rendered.overlay.camera)

        self.canvas.request_draw(draw)
        image = np.asarray(self.canvas.draw())
        if self.transparent:
            image = _unpremultiply(image)
        return image


def _unpremultiply(image: np.ndarray) -> np.ndarray:
    """Straight alpha from premultiplied (the render target blends premultiplied colour)."""
    rgba = image.astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rgb = np.where(alpha > 0, rgba[..., :3] / alpha, 0.0)
    rgba[..., :3] = np.clip(np.rint(rgb), 0, 255)
    return rgba.astype(np.uint8)


def render_array(
    scene, width: int, height: int, *, theme: str | None = None, transparent: bool = False, overlay: bool = True
) -> np.ndarray:
    """Render ``scene`` offscreen to a (height, width, 4) uint8 RGBA array."""
    return OffscreenRenderer(scene, width, height, theme=theme, transparent=transparent, overlay=overlay).render()


def render_png_bytes(
    scene,
    width: int,
    height: int,
    *,
    transparent: bool = False,
    theme: str | None = None,
    dpi: float | None = None,
    overlay: bool = True,
) -> bytes:
    """Render ``scene`` to PNG bytes (the callable the SVG/PDF exporters embed, with overlay=False)."""
    image = render_array(scene, width, height, theme=theme, transparent=transparent, overlay=overlay)
    return encode_png(image, dpi=dpi)
