"""The interactive viewer: a real glfw window under Xvfb, scripted keys, and the flight model."""

from __future__ import annotations

import json
import math
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from hubscape.viewer.render.flight import ChaseCamera, FlightModel, FlightState, heading_vector

WINDOW_SCRIPT = textwrap.dedent("""
    import json, sys
    from rendercanvas.glfw import RenderCanvas
    from hubscape.viewer.sources.worlds import worlds_from_source
    from hubscape.viewer.render.window import SceneViewer, World

    worlds = worlds_from_source("demo:landscape") + worlds_from_source("demo:activations")
    canvas = RenderCanvas(size=(480, 320), title="hubscape test")
    viewer = SceneViewer([World(w.name, w.build) for w in worlds], theme="tron", canvas=canvas,
                         screenshot_dir=sys.argv[1])
    out = {}

    def frame():
        canvas.force_draw()
        image = viewer.renderer.snapshot()
        return {"corner": image[2, 2, :3].tolist(), "std": float(image[..., :3].std()),
                "theme": viewer.theme, "world": viewer.world.name}

    def key(name):
        canvas.submit_event({"event_type": "key_down", "key": name, "modifiers": ()})
        canvas._process_events()
        canvas.submit_event({"event_type": "key_up", "key": name, "modifiers": ()})
        canvas._process_events()

    canvas.force_draw()
    canvas._process_events()  # the window's initial resize
    out["start"] = frame()
    # Hover the landscape's minimum marker (its upper half: the lower half sits in the surface).
    from hubscape.viewer.scene.projection import project
    marker = viewer.rendered.source.find("minimum")
    width, height = canvas.get_logical_size()
    x, y = project(marker.positions[:1], viewer.rendered.source.camera, width, height)[0]
    y -= 0.25 * float(marker.sizes[0])
    canvas.submit_event({"event_type": "pointer_move", "x": float(x), "y": float(y), "modifiers": (),
                         "buttons": (), "button": 0, "ntouches": 0, "touches": {}})
    canvas._process_events()
    out["tooltip"] = viewer.tooltip_text
    out["expected_pick"] = marker.pick[0]
    # Hover the surface near a grid vertex: the tooltip reports alpha, beta and the loss there.
    surface = viewer.rendered.source.find("surface")
    v = 81 * 30 + 20
    x, y = project(surface.positions[v:v + 1], viewer.rendered.source.camera, width, height)[0]
    canvas.submit_event({"event_type": "pointer_move", "x": float(x), "y": float(y), "modifiers": (),
                         "buttons": (), "button": 0, "ntouches": 0, "touches": {}})
    canvas._process_events()
    out["surface_tooltip"] = viewer.tooltip_text
    out["surface_vertex"] = dict(zip(surface.data_names, map(float, surface.data[v])))
    # The texts follow the camera: turn it, draw, and the layout has moved (still without overlaps).
    before = [(p.text, p.box) for p in viewer.rendered.layout.placed]
    cam = viewer.rendered.camera
    cam.local.position = tuple(float(c) * 0.8 for c in cam.local.position)
    cam.look_at(tuple(float(v) for v in viewer.rendered.source.camera.target))
    canvas.force_draw()
    after = [(p.text, p.box) for p in viewer.rendered.layout.placed]
    out["relaid"] = before != after
    boxes = [b for _, b in after]
    out["overlaps"] = sum(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                          for i, a in enumerate(boxes) for b in boxes[i + 1:])
    out["overlay_texts"] = viewer.rendered.overlay.texts()
    key("t")
    out["after_t"] = frame()
    key("2")
    out["after_2"] = frame()
    key("h")
    out["help_shown"] = viewer.help.visible
    key("h")
    out["help_hidden"] = not viewer.help.visible
    key("p")
    out["screenshot"] = str(viewer.screenshots[-1]) if viewer.screenshots else None
    # Hover the pruning chart: the values of every curve at the cursor's x.
    place = viewer.rendered.overlay.regions.charts[0]
    x0, y0, x1, y1 = place.plot
    canvas.submit_event({"event_type": "pointer_move", "x": float(x0 + 0.5 * (x1 - x0)), "y": float((y0 + y1) / 2),
                         "modifiers": (), "buttons": (), "button": 0, "ntouches": 0, "touches": {}})
    canvas._process_events()
    out["chart_tooltip"] = viewer.tooltip_text
    key("f")
    start = viewer.flight.state.position.copy()
    canvas.submit_event({"event_type": "key_down", "key": "w", "modifiers": ()})
    canvas._process_events()
    for _ in range(5):
        canvas.force_draw()
    out["flew"] = float(((viewer.flight.state.position - start) ** 2).sum() ** 0.5)
    out["flying"] = viewer.flying
    print("RESULT" + json.dumps(out))
""")


@pytest.mark.render
def test_window_opens_renders_and_keys_switch_theme_and_world(tmp_path):
    script = tmp_path / "window.py"
    script.write_text(WINDOW_SCRIPT)
    proc = subprocess.run(
        ["xvfb-run", "-a", sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=240
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    out = json.loads(lines[-1][len("RESULT") :])
    assert out["start"]["theme"] == "tron" and out["start"]["corner"] == [0, 0, 0]
    assert out["start"]["std"] > 10  # the landscape is drawn, not just the background
    assert out["tooltip"].startswith("item: minimum")
    for key in out["expected_pick"]:
        assert f"{key}: " in out["tooltip"]
    lines = dict(line.split(": ", 1) for line in out["surface_tooltip"].splitlines())
    assert lines["item"] in ("surface", "contours")
    if lines["item"] == "surface":  # the values at the cursor, within a pixel of the vertex
        for name in ("alpha", "beta", "cross_entropy"):
            assert float(lines[name]) == pytest.approx(out["surface_vertex"][name], rel=0.03, abs=0.02), name
    assert out["relaid"] and out["overlaps"] == 0
    assert "Loss landscape of demo/quadratic-valley (random directions)" in out["overlay_texts"]  # the title
    assert "cross_entropy" in out["overlay_texts"]  # the colour bar's title
    assert "channels pruned: " in out["chart_tooltip"] and "attack success, l_inf: " in out["chart_tooltip"]
    assert out["after_t"]["theme"] == "paper" and out["after_t"]["corner"] == [255, 255, 255]
    assert out["after_2"]["world"] == "activations" and out["after_2"]["theme"] == "paper"
    shot = tmp_path / out["screenshot"].split("/")[-1]
    assert out["screenshot"] and shot.stat().st_size > 1000
    assert f"saved {shot.resolve()}" in proc.stdout  # p says where the figure went
    from PIL import Image

    image = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    w = image.shape[1]
    band = image[4:30, w // 2 - 150 : w // 2 + 150]  # the title, centred at the top
    assert (np.abs(band - 255).sum(axis=2) > 200).mean() > 0.01  # the figure's title, dark on white
    assert out["help_shown"] and out["help_hidden"]
    assert out["flying"] and out["flew"] > 0


def test_throttle_flies_straight_along_the_heading():
    craft = FlightModel()
    craft.state = FlightState(position=np.array([0.0, 1.0, 0.0]), heading=90.0)
    for _ in range(120):
        state = craft.step(1 / 60, throttle=1.0)
    assert state.speed > 3.0
    direction = state.position - np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(direction / np.linalg.norm(direction), heading_vector(90.0, 0.0), atol=1e-9)


def test_speed_approaches_the_drag_limit_and_never_exceeds_max():
    craft = FlightModel(acceleration=2.0, drag=0.5, max_speed=100.0)
    for _ in range(2000):
        craft.step(0.01, throttle=1.0)
    assert craft.state.speed == pytest.approx(2.0 / 0.5, rel=1e-3)  # accel = drag * v at equilibrium
    fast = FlightModel(acceleration=50.0, drag=0.0, max_speed=8.0)
    for _ in range(100):
        fast.step(0.01, throttle=1.0)
    assert fast.state.speed == 8.0


def test_roll_right_turns_right_and_releasing_levels_out():
    craft = FlightModel()
    craft.state = FlightState(heading=0.0, speed=5.0)
    for _ in range(60):
        craft.step(1 / 60, roll=1.0)
    assert craft.state.roll == pytest.approx(craft.max_roll)
    assert 180.0 < craft.state.heading < 360.0  # heading decreased (wrapped): a right turn from +z
    for _ in range(60):
        craft.step(1 / 60, roll=0.0)
    assert craft.state.roll == 0.0


def test_pitch_is_limited_and_the_floor_holds():
    craft = FlightModel()
    craft.state = FlightState(position=np.array([0.0, 0.5, 0.0]), speed=8.0)
    for _ in range(300):
        craft.step(1 / 60, throttle=1.0, pitch=-1.0)
    assert craft.state.position[1] == craft.floor
    for _ in range(300):
        craft.step(1 / 60, pitch=1.0)
    assert craft.state.pitch == craft.max_pitch


def test_chase_camera_lags_then_settles_behind_the_craft():
    state = FlightState(position=np.array([0.0, 1.0, 0.0]), heading=0.0)
    chase = ChaseCamera(back=3.0, up=1.0, lag=0.5)
    eye, _ = chase.update(state, 0.0)
    np.testing.assert_allclose(eye, [0.0, 2.0, -3.0])
    state.position = np.array([0.0, 1.0, 10.0])  # the craft jumps ahead
    eye, _ = chase.update(state, 0.5)  # one time constant: 1 - 1/e of the way
    np.testing.assert_allclose(eye[2], -3.0 + (1 - math.exp(-1)) * 10.0)
    for _ in range(200):
        eye, target = chase.update(state, 0.05)
    np.testing.assert_allclose(eye, [0.0, 2.0, 7.0], atol=1e-6)
    np.testing.assert_allclose(target, [0.0, 1.0, 12.0], atol=1e-6)


def test_show_renders_in_the_jupyter_widget():
    """``show`` on rendercanvas's notebook canvas (jupyter_rfb) draws frames once the frontend sizes it."""
    import asyncio

    from rendercanvas.jupyter import RenderCanvas

    from hubscape.viewer.render.window import show
    from hubscape.viewer.sources.worlds import scene_from_source

    async def first_frame():
        canvas = show(scene_from_source("demo:landscape", theme="paper"), size=(400, 300), canvas=RenderCanvas())
        canvas.handle_event({"event_type": "resize", "width": 400, "height": 300, "pixel_ratio": 1.0})
        for _ in range(100):
            canvas.get_frame()
            await asyncio.sleep(0.02)
            image = getattr(canvas, "_last_image", None)
            if image is not None and image.shape[:2] == (300, 400):
                return canvas, image
        raise AssertionError("the notebook canvas produced no 400x300 frame")

    canvas, image = asyncio.run(first_frame())
    assert tuple(image[2, 2, :3]) == (255, 255, 255)  # paper background
    assert image[..., :3].std() > 10  # and the landscape on it
    assert canvas.viewer.world.name == "landscape"


@pytest.mark.parametrize(
    "args",
    [
        ["demo:weather"],
        ["demo:landscape", "--theme", "neon"],
        ["demo:landscape", "--size", "0x0"],
        ["demo:growth", "--option", "colour=red"],
    ],
)
def test_view_rejects_bad_input_before_opening_a_window(capsys, args):
    from hubscape.viewer.cli import main

    assert main(["view", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hubscape")


@pytest.mark.render
def test_view_command_keeps_a_window_open_under_xvfb(tmp_path):
    """``hubscape view`` opens its window and runs the GUI loop until interrupted.

    No time budget: wait (generously) for the window's greeting, check the process is still
    running a while later, then Ctrl-C it; it stops cleanly (0 from the loop, 130 before it).
    """
    shell = 'echo "PID $$"; exec "$0" -u -m hubscape.viewer view demo:landscape demo:activations --size 320x200'
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            ["xvfb-run", "-a", "sh", "-c", shell, sys.executable], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    pid, greeted, deadline = None, False, time.monotonic() + 300
    try:
        while not greeted and proc.poll() is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            pid = int(line.split()[1]) if line.startswith("PID ") else pid
            greeted = greeted or "h for help" in line
        time.sleep(2)  # a window that closes by itself after opening would show here
        open_now = greeted and pid and proc.poll() is None
        while open_now and proc.poll() is None and time.monotonic() < deadline + 120:
            os.kill(pid, signal.SIGINT)  # again until it stops: one sent before the loop may be ignored
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = log.read_text()
    assert open_now, f"greeted={greeted}, rc={proc.returncode}: {err[-2000:]}"
    assert proc.returncode in (0, 130), err[-2000:]  # stopped by Ctrl-C: 0 from the loop, 130 before it
    assert "Traceback" not in err, err[-2000:]
