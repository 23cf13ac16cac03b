"""Desktop/browser parity: the same Scene rendered offscreen by pygfx (the desktop renderer)
and by the browser engine (WebGPU and WebGL2 in Chromium).

Metric: mean absolute difference, over RGB in [0, 1], of the two images averaged over 16x16
pixel blocks (it compares where things are and how bright they are, and forgives per-pixel
differences of anti-aliasing, line rasterization and text fonts)."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.render]

SIZE = (640, 400)
#: Largest block-mean difference accepted, per world (measured ~0.01-0.03; see BENCHMARKS.md).
LIMIT = 0.05


def block_means(img: np.ndarray, k: int = 16) -> np.ndarray:
    h, w = (s // k * k for s in img.shape[:2])
    return img[:h, :w, :3].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))


def parity(desktop: np.ndarray, browser: np.ndarray) -> float:
    return float(np.abs(block_means(desktop) - block_means(browser)).mean())


@pytest.mark.parametrize("item", ["demo:landscape", "demo:activations"])
@pytest.mark.parametrize("renderer", ["webgpu", "webgl2"])
def test_browser_matches_desktop_renderer(open_page, item, renderer):
    from PIL import Image

    from hubscape.viewer.render.offscreen import render_array
    from hubscape.viewer.sources.worlds import worlds_from_source

    scene = worlds_from_source(item)[0].build("tron")
    desktop = render_array(scene, *SIZE)[..., :3].astype(float) / 255.0
    query = f"?item={item}&hud=0" + ("&renderer=webgl2" if renderer == "webgl2" else "")
    page = open_page(query)
    assert page.evaluate("hubscape.renderer") == renderer
    png = bytes(page.evaluate("([w, h]) => hubscape.exportPNG(w, h).then(a => Array.from(a))", list(SIZE)))
    browser = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float) / 255.0
    assert browser.shape[:2] == desktop.shape[:2] == SIZE[::-1]
    # Both pictures have content (not blank), and they agree.
    assert (desktop.max(axis=2) > 0.15).mean() > 0.05 and (browser.max(axis=2) > 0.15).mean() > 0.05
    diff = parity(desktop, browser)
    print(f"{item} {renderer}: block-mean |diff| = {diff:.4f}")
    assert diff < LIMIT, diff
