"""The interactive viewer: a rendercanvas window (glfw, Qt if installed, or a Jupyter widget).

Orbit the scene with the mouse, or fly through it (``f``) with the light-cycle flight model
and its lagged chase camera. Keys:

    1..9   switch world (when several sources were given)   t   switch theme (tron/paper)
    f      orbit <-> fly          w/s throttle   arrows or i/k pitch   a/d or j/l roll
    p      save the figure (PNG: the view, texts, title, legend, colour bar; prints where)
    v      next camera view (the scene's presets)              r   reset the camera
    h      show/hide this help    Escape  close

Texts are laid out on the screen again whenever the camera moves (viewer.scene.labels), and
the title, legend, colour bar and charts stay in place, as in an exported figure. Hovering
shows the values under the cursor (a model's counts at that period, the loss at that point
of the surface, a channel's clean and triggered norms, the pruning curves at that x).

Example::

    >>> viewer = SceneViewer([("growth", lambda theme: build_scene("fit.safetensors", theme=theme))])
    >>> viewer.run()
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pygfx as gfx

from hubscape.viewer.scene.figure import chart_values_at
from hubscape.viewer.scene.projection import vertical_fov
from hubscape.viewer.scene.themes import THEMES, get_theme
from hubscape.viewer.sources.worlds import World

from .convert import RenderedScene, scene_to_pygfx, set_projection
from .flight import ChaseCamera, FlightModel, FlightState
from .overlay import Overlay

HELP = """hubscape viewer
1..9  switch world      t  switch theme
f     orbit / fly       w s  throttle
arrows / i k  pitch     a d / j l  roll
p     save the figure   r  reset camera
v     next view         h  this help
Esc   close
growth: c(t) = m (exp(lambda Phi((ln t - mu) / sigma)) - 1)
  mu: immediacy (peak growth at e^mu months)
  sigma: longevity   lambda: fitness (final size)
  m: scale of early growth (30 in WSB)"""
#: Seconds the camera must rest before the texts are laid out again with the coverage mask
#: (while it moves they are laid out without it, which is cheaper).
SETTLE = 0.15

_FLY_KEYS = {
    "w": ("throttle", 1),
    "s": ("throttle", -1),
    "ArrowUp": ("pitch", 1),
    "i": ("pitch", 1),
    "ArrowDown": ("pitch", -1),
    "k": ("pitch", -1),
    "ArrowLeft": ("roll", -1),
    "a": ("roll", -1),
    "j": ("roll", -1),
    "ArrowRight": ("roll", 1),
    "d": ("roll", 1),
    "l": ("roll", 1),
}


class SceneViewer:
    """A window over one or more worlds, with orbit and fly cameras, theme switching and picking."""

    def __init__(
        self,
        worlds: list[World] | list[tuple],
        *,
        theme: str = "tron",
        canvas=None,
        size: tuple[int, int] = (1280, 800),
        screenshot_dir: str | Path = ".",
    ):
        if not worlds:
            raise ValueError("SceneViewer needs at least one world")
        self.worlds = [w if isinstance(w, World) else World(*w) for w in worlds]
        self.theme = get_theme(theme).name
        self.screenshot_dir = Path(screenshot_dir)
        if canvas is None:
            from rendercanvas.auto import RenderCanvas

            canvas = RenderCanvas(size=size, title="hubscape", update_mode="continuous", max_fps=60)
        elif tuple(canvas.get_logical_size()) != tuple(float(v) for v in size):
            canvas.set_logical_size(*size)
        self.canvas = canvas
        self.renderer = gfx.renderers.WgpuRenderer(canvas, pixel_scale=1, ppaa="none")
        self.overlay = gfx.Scene()
        self.overlay_camera = gfx.ScreenCoordsCamera()
        self.help = _overlay_text(HELP, 14, "top-left")
        self.help.visible = False
        self.tooltip = _overlay_text("", 13, "bottom-left")
        self.status = _overlay_text("", 13, "bottom-left")
        self.overlay.add(self.help, self.tooltip, self.status)
        self.controller = gfx.OrbitController(register_events=self.renderer)
        self.flight = FlightModel()
        self.chase = ChaseCamera()
        self.craft = gfx.Mesh(gfx.box_geometry(0.25, 0.08, 0.6), gfx.MeshBasicMaterial(color="#fff"))
        self.flying = False
        self.controls = {"throttle": 0.0, "pitch": 0.0, "roll": 0.0}
        self.world_index = 0
        self.rendered: RenderedScene | None = None
        self._last_time = time.perf_counter()
        self.screenshots: list[Path] = []
        self.tooltip_text = ""
        self.view_index = 0
        self._camera_key = None
        self._moved_at = 0.0
        self._masked = False
        self.load()
        canvas.add_event_handler(self._on_key_down, "key_down")
        canvas.add_event_handler(self._on_key_up, "key_up")
        canvas.add_event_handler(self._on_pointer_move, "pointer_move")
        canvas.add_event_handler(self._on_resize, "resize")
        canvas.request_draw(self.draw)

    # -- state changes -------------------------------------------------------------------

    @property
    def world(self) -> World:
        return self.worlds[self.world_index]

    def load(self) -> None:
        """(Re)build the current world in the current theme and reset the cameras."""
        scene = self.world.build(self.theme)
        size = self.canvas.get_logical_size()
        self.rendered = scene_to_pygfx(scene, theme=self.theme, size=(max(1, size[0]), max(1, size[1])))
        self.renderer.effect_passes = [*self.rendered.effect_passes(), *_fxaa()]
        for camera in list(self.controller.cameras):
            self.controller.remove_camera(camera)
        self.controller.add_camera(self.rendered.camera)
        self.controller.target = tuple(float(v) for v in scene.camera.target)
        self.rendered.scene.add(self.craft)
        self.craft.visible = self.flying
        self.flight.state = FlightState()
        self.chase.eye = None
        look = get_theme(self.theme)
        for text in (self.help, self.tooltip, self.status):
            text.material.color = gfx.Color.from_physical(*[float(c) for c in look.text_color])
            text.material.outline_color = gfx.Color.from_physical(*[float(c) for c in look.background])
        self.craft.material.color = gfx.Color.from_physical(*[float(c) for c in look.color(0)])
        self.status.set_text(f"{self.world.name} | {self.theme} | {'fly' if self.flying else 'orbit'}  (h: help)")
        self.tooltip_text = ""  # the previous world's tooltip must not linger
        self.tooltip.set_text("")
        self._camera_key = None
        self._layout(*size)

    def _layout(self, width: float, height: float) -> None:
        self.help.local.position = (12, height - 12, 0)
        self.status.local.position = (12, 12, 0)

    def _relayout(self) -> None:
        """Lay the texts out again if the camera moved (cheaply while it moves, fully once it rests)."""
        key = tuple(np.round(np.asarray(self.rendered.camera.camera_matrix, np.float64).ravel(), 6))
        now = time.perf_counter()
        if key != self._camera_key:
            self._camera_key, self._moved_at, self._masked = key, now, False
            self.rendered.layout_labels(self.rendered.view(), mask=False)
        elif not self._masked and now - self._moved_at > SETTLE:
            self._masked = True
            self.rendered.layout_labels(self.rendered.view(), mask=True)

    def next_view(self) -> None:
        """The scene's next camera preset (its ``views``)."""
        views = list(self.rendered.source.views.values())
        if views:
            self.view_index = (self.view_index + 1) % len(views)
            size = self.canvas.get_logical_size()
            from .convert import set_camera

            set_camera(self.rendered.camera, views[self.view_index], *size)
            self.controller.target = tuple(float(v) for v in views[self.view_index].target)

    def set_theme(self, name: str) -> None:
        self.theme = get_theme(name).name
        self.load()

    def toggle_theme(self) -> None:
        names = list(THEMES)
        self.set_theme(names[(names.index(self.theme) + 1) % len(names)])

    def set_world(self, index: int) -> None:
        if 0 <= index < len(self.worlds) and index != self.world_index:
            self.world_index = index
            self.load()

    def set_flying(self, flying: bool) -> None:
        self.flying = bool(flying)
        self.controller.enabled = not self.flying
        self.craft.visible = self.flying
        if not self.flying:
            self.load()
        self.status.set_text(f"{self.world.name} | {self.theme} | {'fly' if self.flying else 'orbit'}  (h: help)")

    def screenshot(self) -> Path:
        """Save the figure the window shows (the view with its texts, title, legend, colour bar and
        charts) as a PNG in ``screenshot_dir``, say where on the status line and stdout; returns its path."""
        from hubscape.core.atomic import write_bytes

        from .offscreen import encode_png

        image = np.ascontiguousarray(self.renderer.snapshot())
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.screenshot_dir / f"hubscape-{self.world.name}-{self.theme}-{stamp}-{len(self.screenshots)}.png"
        write_bytes(path, encode_png(image))
        self.screenshots.append(path)
        self.status.set_text(f"saved {path.resolve()}")
        print(f"saved {path.resolve()}", flush=True)
        return path

    # -- events --------------------------------------------------------------------------

    def _on_key_down(self, event) -> None:
        key = event["key"]
        if key in _FLY_KEYS and self.flying:
            axis, sign = _FLY_KEYS[key]
            self.controls[axis] = float(sign)
        elif key in ("t", "T"):
            self.toggle_theme()
        elif key.isdigit() and key != "0":
            self.set_world(int(key) - 1)
        elif key in ("f", "F"):
            self.set_flying(not self.flying)
        elif key in ("p", "P"):
            self.screenshot()
        elif key in ("h", "H", "?"):
            self.help.visible = not self.help.visible
        elif key in ("r", "R"):
            self.load()
        elif key in ("v", "V"):
            self.next_view()
        elif key == "Escape":
            self.canvas.close()
        self.canvas.request_draw()

    def _on_key_up(self, event) -> None:
        if event["key"] in _FLY_KEYS:
            self.controls[_FLY_KEYS[event["key"]][0]] = 0.0

    def _on_pointer_move(self, event) -> None:
        x, y = event["x"], event["y"]
        record = None
        for chart, place in zip(self.rendered.source.charts, self.rendered.overlay.regions.charts):
            record = chart_values_at(chart, place, x, y)
            if record is not None:
                break
        if record is None:
            info = self.renderer.get_pick_info((x, y))
            record = self.rendered.pick_record(info, cursor=(x, y), view=self.rendered.view()) if info else None
        self.tooltip_text = _format_record(record) if record else ""
        self.tooltip.set_text(self.tooltip_text)
        self.tooltip.local.position = (event["x"] + 14, self.canvas.get_logical_size()[1] - event["y"] + 8, 0)
        self.canvas.request_draw()

    def _on_resize(self, event) -> None:
        width, height = max(1, event["width"]), max(1, event["height"])
        set_projection(self.rendered.camera, vertical_fov(self.rendered.source.camera, width / height), width, height)
        self.rendered.size = (width, height)  # the title, legend, colour bar and charts follow the new size
        self.rendered.overlay = Overlay(self.rendered.source, self.rendered.theme, width, height)
        self._camera_key = None
        self._layout(width, height)

    # -- drawing -------------------------------------------------------------------------

    def draw(self) -> None:
        if self.canvas.get_closed():  # a draw scheduled before Ctrl-C/close must not touch the gone surface
            return
        now = time.perf_counter()
        dt, self._last_time = min(now - self._last_time, 0.1), now
        if self.flying:
            state = self.flight.step(dt, **self.controls)
            eye, target = self.chase.update(state, dt)
            camera = self.rendered.camera
            camera.local.position = tuple(eye)
            camera.look_at(tuple(target))
            self.craft.local.position = tuple(state.position)
            import pylinalg as la

            angles = np.radians([-state.pitch, state.heading, -state.roll])
            self.craft.local.rotation = la.quat_from_euler(angles, order="YXZ")
        self._relayout()
        self.renderer.render(self.rendered.scene, self.rendered.camera, flush=False)
        self.renderer.render(self.rendered.overlay.root, self.rendered.overlay.camera, flush=False)
        self.renderer.render(self.overlay, self.overlay_camera)

    def run(self) -> None:
        """Show the window and run the GUI loop until it is closed."""
        from rendercanvas.auto import loop

        loop.call_soon(_defer_interrupts_to_the_loop, loop)
        loop.run()


def _fxaa() -> list:
    from pygfx.renderers.wgpu import FXAAPass

    return [FXAAPass()]


def _overlay_text(text: str, size: float, anchor: str) -> gfx.Text:
    label = gfx.Text(
        text=text,
        font_size=size,
        screen_space=True,
        anchor=anchor,
        material=gfx.TextMaterial(color="#fff", outline_color="#000", outline_thickness=0.15),
    )
    return label


def _format_record(record: dict) -> str:
    lines = []
    for key, value in record.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def show(scene, *, theme: str | None = None, size: tuple[int, int] = (900, 600), canvas=None):
    """Show ``scene`` in a Jupyter notebook (or a window outside one); returns the canvas.

    In a Jupyter kernel rendercanvas's auto backend is the notebook widget (``jupyter_rfb``,
    in the ``render`` extra), so the returned canvas displays inline as the cell's value::

        from hubscape.viewer.render.window import show
        show(build_scene("fit.safetensors"))

    ``canvas`` picks a rendercanvas canvas explicitly (e.g. ``rendercanvas.jupyter.RenderCanvas``).
    """
    viewer = SceneViewer(
        [World(scene.world, lambda _theme: scene)], theme=theme or scene.theme, size=size, canvas=canvas
    )
    viewer.canvas.viewer = viewer  # keep the viewer (and its event handlers) alive with the widget
    return viewer.canvas


def _defer_interrupts_to_the_loop(loop) -> None:
    """Make Ctrl-C stop the loop between frames, not inside one.

    rendercanvas's own SIGINT handler stops the loop (and closes the canvas) right away, even
    in the middle of a draw, which tears the surface from under pygfx and prints a traceback.
    Installed from inside the running loop, so it replaces that handler.
    """
    import signal

    def on_interrupt(_sig, _frame):
        loop.call_soon_threadsafe(loop.stop)

    try:
        signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        pass
