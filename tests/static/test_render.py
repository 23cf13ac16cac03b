"""The engine in real headless Chromium: WebGPU and WebGL2 draw the same scene, picking,
world and theme switching."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.browser


def _scene_query(renderer: str | None = None) -> str:
    q = "?item=bundle:0&hud=0"
    return q + (f"&renderer={renderer}" if renderer else "")


def _marker_colour(img: np.ndarray, xy) -> np.ndarray:
    x, y = (int(round(v)) for v in xy)
    return img[y - 3 : y + 4, x - 3 : x + 4].reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("renderer", ["webgpu", "webgl2"])
def test_markers_have_their_colours_at_projected_points(open_page, renderer, markers, shot):
    page = open_page(_scene_query(None if renderer == "webgpu" else "webgl2"))
    assert page.evaluate("hubscape.renderer") == renderer, page.evaluate("hubscape.fallbackReason")
    img = shot(page)
    # Paper theme: white background; the picture is not blank.
    assert img[5, 5].min() > 0.95
    assert (img.min(axis=2) < 0.9).mean() > 0.02
    for name, (position, rgba) in markers.items():
        colour = _marker_colour(img, page.evaluate("p => hubscape.project(p)", position))
        channel = int(np.argmax(rgba[:3]))
        assert colour[channel] > 0.8, (name, colour)
        assert np.delete(colour, channel).max() < 0.25, (name, colour)
    # The lit quad is orange-ish where it projects.
    quad = _marker_colour(img, page.evaluate("hubscape.project([0, 0.01, 3])"))
    assert quad[0] > quad[2] + 0.3 and quad[1] > quad[2] + 0.15, quad
    assert not page.errors


def test_webgl2_image_matches_webgpu(open_page, shot):
    """Metric: mean absolute difference of 8x8-block means of the two images, in [0, 1]."""
    a = shot(open_page(_scene_query()))
    b = shot(open_page(_scene_query("webgl2")))

    def blocks(img):
        h, w = (s // 8 * 8 for s in img.shape[:2])
        return img[:h, :w].reshape(h // 8, 8, w // 8, 8, 3).mean(axis=(1, 3))

    diff = np.abs(blocks(a) - blocks(b)).mean()
    print(f"webgpu vs webgl2: 8x8 block-mean |diff| = {diff:.4f}")
    assert diff < 0.01, diff


def test_tron_demo_renders_with_webgpu(open_page, shot):
    page = open_page("?item=demo:growth&hud=0")
    assert page.evaluate("hubscape.renderer") == "webgpu"
    img = shot(page)
    lit = img.max(axis=2) > 0.15
    assert img[5, 5].max() < 0.05  # black Tron sky
    assert 0.03 < lit.mean() < 0.8  # grid, trails and labels, not a blank or a white page
    cyanish = (img[..., 2] > 0.5) & (img[..., 1] > 0.5) & (img[..., 0] < 0.4)
    assert cyanish.mean() > 0.005  # the neon grid


def test_pick_returns_the_marker_under_the_cursor(open_page, markers):
    page = open_page(_scene_query())
    for name, (position, _) in markers.items():
        x, y = page.evaluate("p => hubscape.project(p)", position)
        hit = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x + 3, y - 2])
        assert hit["name"] == "markers" and hit["record"] == {"marker": name}
    x, y = page.evaluate("hubscape.project([4, 0.01, 4])")
    hit = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x, y])
    assert hit["record"] == {"what": "tile"}, (hit, [x, y], page.evaluate("hubscape.project([3, 1, 0])"))
    assert page.evaluate("hubscape.pick(2, 2)") is None
    # Hovering shows the tooltip.
    x, y = page.evaluate("hubscape.project([0, 2.5, 0])")
    page.mouse.move(x, y)
    page.wait_for_selector("#tooltip:not([hidden])")
    assert "marker: green" in page.inner_text("#tooltip")


def test_switching_world_and_theme(open_page, shot):
    page = open_page("?item=demo:growth")
    assert page.evaluate("hubscape.scene.world") == "growth"
    for world in ("landscape", "activations"):
        page.evaluate("w => hubscape.setWorld(w)", world)
        assert page.evaluate("hubscape.scene.world") == world
        assert page.evaluate("hubscape.error") is None
    page.select_option("#world", "demo:growth")  # the HUD's world switcher
    page.wait_for_function("hubscape.scene.world === 'growth'")
    assert shot(page)[200, 5].max() < 0.1  # Tron: dark
    page.click("#theme")
    page.wait_for_function("hubscape.theme === 'paper'")
    assert page.evaluate("document.body.classList.contains('paper')")
    assert shot(page)[200, 5].min() > 0.9  # paper: white
    assert page.evaluate("hubscape.scene.theme.bloom_strength") == 0
    page.evaluate("hubscape.setTheme('tron')")
    assert page.evaluate("hubscape.theme") == "tron"


@pytest.mark.parametrize("mode", ["fly", "flight"])
def test_fly_and_flight_cameras_move_the_view(open_page, mode):
    page = open_page(_scene_query())
    page.evaluate("m => hubscape.setCamera(m)", mode)
    before = page.evaluate("hubscape.eye")
    page.keyboard.down("KeyW")
    # An outcome, not a time: wait (generously: 2 shared cores) until the eye has moved away.
    moved = "b => Math.hypot(...hubscape.eye.map((e, k) => e - b[k])) > 0.05"
    page.wait_for_function(moved, arg=before, timeout=180_000)
    page.keyboard.up("KeyW")
    after = page.evaluate("hubscape.eye")
    assert np.linalg.norm(np.subtract(after, before)) > 0.05  # the camera flew (it may pass the markers)


def test_png_export_at_chosen_size(open_page):
    import io

    from PIL import Image

    page = open_page(_scene_query())
    data = page.evaluate("hubscape.exportPNG(320, 200).then(a => Array.from(a))")
    img = Image.open(io.BytesIO(bytes(data)))
    assert img.size == (320, 200)
    arr = np.asarray(img.convert("RGB"), dtype=float) / 255
    assert (arr.min(axis=2) < 0.9).mean() > 0.02


def test_growth_tooltip_names_the_model_and_its_parameters(open_page):
    page = open_page("?item=demo:growth&hud=0")
    scene_points = page.evaluate("""(() => { const it = hubscape.scene.items.find(i => i.name === 'parameters/demo/fast-saturating');
                                     return Array.from(it.positions.slice(0, 3)); })()""")
    x, y = page.evaluate("p => hubscape.project(p)", scene_points)
    hit = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x, y])
    assert hit["record"]["model"] == "demo/fast-saturating"
    assert {"mu", "sigma", "lambda"} <= set(hit["record"])
    page.mouse.move(x, y)
    page.wait_for_selector("#tooltip:not([hidden])")
    text = page.inner_text("#tooltip")
    assert "model: demo/fast-saturating" in text and "lambda: " in text


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("pdf", b"%PDF"), ("glb", b"glTF")])
def test_vector_and_gltf_export_through_the_server_kernel(open_page, fmt, magic):
    page = open_page("?item=demo:landscape")
    data = bytes(page.evaluate("f => hubscape.exportVia(f, 400, 250).then(a => Array.from(a))", fmt))
    assert data.startswith(magic) and len(data) > 10_000


def test_falls_back_to_webgl2_without_webgpu(playwright, server, shot):
    """Chromium with WebGPU switched off: the page says why and uses WebGL2."""
    flags = ["--headless", "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-features=WebGPU"]
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
    try:
        page = browser.new_page(viewport={"width": 640, "height": 400})
        page.goto(server.page("?item=demo:landscape&hud=0"))
        page.evaluate("hubscape.ready")
        assert page.evaluate("hubscape.renderer") == "webgl2"
        assert "WebGPU unavailable" in page.evaluate("hubscape.fallbackReason")
        assert (shot(page).max(axis=2) > 0.15).mean() > 0.03
    finally:
        browser.close()
