"""Browser engine benchmark: time to first frame with the server kernel, and frame times of a
1M-triangle surface plus 100k points, in real headless Chromium.

Compares, in one run: the server kernel's first frame against booting the Pyodide kernel (the
in-browser alternative; its numpy fit comes on top), and WebGPU against WebGL2. Without a GPU
both are software rasterizers (WebGPU: SwiftShader; WebGL2: ANGLE on Mesa llvmpipe).

    python3 bench/bench_browser.py [--size 800x520] [--frames 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-webgpu",
    "--use-angle=gl-egl",
    "--ignore-gpu-blocklist",
]


def heavy_scene(path: Path, n: int = 708, points: int = 100_000) -> tuple[int, int]:
    """A height-field surface of (n-1)^2 * 2 ~ 1M triangles and a cloud of 100k points."""
    from hubscape.core.bundle import write_bundle
    from hubscape.viewer.scene.themes import get_theme

    x = np.linspace(-5, 5, n, dtype=np.float32)
    gx, gz = np.meshgrid(x, x)
    gy = (1.5 + np.sin(gx) * np.cos(gz) + 0.05 * (gx**2 + gz**2)).astype(np.float32)
    pos = np.stack([gx, gy, gz], -1).reshape(-1, 3)
    dy_dx, dy_dz = np.gradient(gy, x, x, axis=(1, 0))
    nrm = np.stack([-dy_dx, np.ones_like(gy), -dy_dz], -1).reshape(-1, 3)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    t = (gy.reshape(-1) - gy.min()) / np.ptp(gy)
    colors = np.stack([0.1 + 0.2 * t, 0.2 + 0.6 * t, 0.6 + 0.4 * t, np.ones_like(t)], -1).astype(np.float32)
    i = np.arange(n - 1)
    a = (i[:, None] * n + i[None, :]).reshape(-1).astype(np.uint32)
    tris = np.concatenate([np.stack([a, a + n, a + 1], 1), np.stack([a + 1, a + n, a + n + 1], 1)]).astype(np.uint32)
    rng = np.random.default_rng(0)
    ppos = rng.uniform([-5, 0.2, -5], [5, 5, 5], (points, 3)).astype(np.float32)
    pcol = np.tile(np.array([1.0, 0.6, 0.0, 1.0], np.float32), (points, 1))
    arrays = {
        "items/0/positions": pos,
        "items/0/normals": nrm.astype(np.float32),
        "items/0/indices": tris,
        "items/0/colors": colors,
        "items/1/positions": ppos,
        "items/1/colors": pcol,
        "items/1/sizes": np.full(points, 3.0, np.float32),
    }
    meta = {
        "world": "landscape",
        "title": "benchmark: 1M triangles + 100k points",
        "theme": get_theme("tron").to_json(),
        "theme_name": "tron",
        "camera": {"target": [0, 1.5, 0], "azimuth": 30, "elevation": 30, "distance": 16, "fov": 40},
        "grid": {"size": 20, "spacing": 1, "y": 0},
        "legend": None,
        "colorbar": None,
        "bounds": [[-5, 0, -5], [5, 5, 5]],
        "items": [
            {"kind": "mesh", "name": "surface", "pick": [], "wireframe": False, "opacity": 1.0, "emissive": 0.0},
            {"kind": "points", "name": "cloud", "pick": []},
        ],
    }
    write_bundle(path, "scene", arrays, meta)
    return len(tris), points


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="800x520")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3, help="page loads for the first-frame timing")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "heavy.safetensors"
        ntri, npts = heavy_scene(scene)
        proc = subprocess.Popen(
            [sys.executable, "-m", "hubscape.viewer", "serve", "--port", "0", str(scene)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        url = proc.stdout.readline().split("serving ", 1)[1].split()[0]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
                first, boot = [], []
                # The first load is cold: the server fits the demo's growth curves and builds its scene.
                for _ in range(args.repeats + 1):
                    page = browser.new_page(viewport={"width": w, "height": h})
                    page.goto(url + "?item=demo:growth")
                    page.evaluate("hubscape.ready")
                    page.wait_for_function("hubscape.firstFrameAt !== undefined")
                    first.append(page.evaluate("hubscape.firstFrameAt"))
                    t0 = time.perf_counter()
                    page.evaluate("hubscape.pyodide().boot()")
                    boot.append((time.perf_counter() - t0) * 1000)
                    page.close()
                cold, ff, pb = first[0], statistics.median(first[1:]), statistics.median(boot)
                print(
                    f"first frame, demo:growth, server kernel, cold (server fits and builds): {cold:.0f} ms after navigation"
                )
                print(f"first frame, demo:growth, server kernel, warm: {ff:.0f} ms (median of {args.repeats})")
                print(f"Pyodide kernel boot (core + hubscape wheel, no numpy): {pb:.0f} ms")
                print(f"ratio Pyodide boot / server-kernel first frame: {pb / ff:.1f}x")
                times = {}
                for renderer in ("webgpu", "webgl2"):
                    page = browser.new_page(viewport={"width": w, "height": h})
                    q = "?item=bundle:0&hud=0" + ("&renderer=webgl2" if renderer == "webgl2" else "")
                    t0 = time.perf_counter()
                    page.goto(url + q)
                    page.evaluate("hubscape.ready")
                    page.wait_for_function("hubscape.firstFrameAt !== undefined", timeout=300_000)
                    load = time.perf_counter() - t0
                    assert page.evaluate("hubscape.renderer") == renderer
                    adapter = page.evaluate("document.getElementById('renderer').title")
                    ms = page.evaluate(f"hubscape.measure({args.frames})")
                    times[renderer] = ms
                    print(
                        f"{renderer}: {ntri / 1e6:.2f}M triangles + {npts // 1000}k points at {w}x{h}: "
                        f"{ms:.0f} ms/frame = {1000 / ms:.2f} fps (scene load to first frame {load:.1f} s; {adapter})"
                    )
                    page.close()
                print(f"ratio webgpu/webgl2 frame time: {times['webgpu'] / times['webgl2']:.1f}x")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
