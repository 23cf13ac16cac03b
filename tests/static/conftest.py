"""Fixtures for the browser tests: a `hubscape serve` subprocess and real headless Chromium.

Chromium is Debian's (/usr/bin/chromium) driven by Python Playwright; WebGPU needs
--enable-unsafe-webgpu --use-angle=gl-egl --ignore-gpu-blocklist (SwiftShader adapter).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CHILDREN_CSV_DIR = REPO.parent / "shared" / "data" / "hf-model-trees"
CHROMIUM = "/usr/bin/chromium"
BASE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--use-angle=gl-egl", "--ignore-gpu-blocklist"]
VIEWPORT = {"width": 800, "height": 520}

#: The test scene: three big markers of known colour at known places, and a lit quad.
MARKERS = {
    "red": ([-3.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]),
    "green": ([0.0, 2.5, 0.0], [0.0, 1.0, 0.0, 1.0]),
    "blue": ([3.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]),
}


def write_test_scene(path: Path, theme: str = "paper") -> Path:
    """A scene bundle written straight from docs/scene.md's layout (not via viewer.scene)."""
    from hubscape.core.bundle import write_bundle
    from hubscape.viewer.scene.themes import get_theme

    names = list(MARKERS)
    arrays = {
        "items/0/positions": np.array([MARKERS[n][0] for n in names], np.float32),
        "items/0/colors": np.array([MARKERS[n][1] for n in names], np.float32),
        "items/0/sizes": np.full(3, 40.0, np.float32),
        "items/1/positions": np.array([[-4, 0.01, 2], [4, 0.01, 2], [4, 0.01, 4], [-4, 0.01, 4]], np.float32),
        "items/1/normals": np.tile(np.array([0, 1, 0], np.float32), (4, 1)),
        "items/1/indices": np.array([[0, 1, 2], [0, 2, 3]], np.uint32),
        "items/1/colors": np.tile(np.array([0.9, 0.6, 0.0, 1.0], np.float32), (4, 1)),
    }
    meta = {
        "world": "landscape",
        "title": "test scene",
        "theme": get_theme(theme).to_json(),
        "theme_name": theme,
        "camera": {"target": [0, 1, 0], "azimuth": 0, "elevation": 20, "distance": 14, "fov": 40},
        "grid": {"size": 20, "spacing": 1, "y": 0},
        "legend": None,
        "colorbar": None,
        "bounds": [[-5, 0, -5], [5, 5, 5]],
        "items": [
            {"kind": "points", "name": "markers", "pick": [{"marker": n} for n in names]},
            {
                "kind": "mesh",
                "name": "floor tile",
                "pick": [{"what": "tile"}],
                "wireframe": False,
                "opacity": 1.0,
                "emissive": 0.0,
            },
        ],
    }
    return write_bundle(path, "scene", arrays, meta)


def served(line: str) -> tuple[str, str]:
    """(the base URL, the session token) from the line ``hubscape serve`` prints first."""
    import urllib.parse

    parts = urllib.parse.urlsplit(line.split("serving ", 1)[1].split()[0])
    return f"{parts.scheme}://{parts.netloc}/", urllib.parse.parse_qs(parts.query)["token"][0]


def with_token(url: str, token: str) -> str:
    """A page address carrying the session token, as the printed URL does."""
    return url + ("&" if "?" in url else "?") + f"token={token}"


def api_get(url: str, token: str, timeout: float = 60):
    """urlopen() of an API call with the session token."""
    import urllib.request

    return urllib.request.urlopen(urllib.request.Request(url, headers={"X-Hubscape-Token": token}), timeout=timeout)


@pytest.fixture(scope="session")
def tokens():
    """The session-token helpers for tests that start their own ``hubscape serve``."""
    import types

    return types.SimpleNamespace(served=served, with_token=with_token, api_get=api_get)


class Server:
    def __init__(self, args: list[str], env: dict[str, str] | None = None):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hubscape.viewer", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = self.proc.stdout.readline()
        if "serving" not in line:
            self.proc.kill()
            raise RuntimeError(f"hubscape serve did not start: {line} {self.proc.stderr.read()}")
        self.url, self.token = served(line)
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])

    def page(self, query: str = "") -> str:
        """The app's address with ``query`` and the session token."""
        return with_token(self.url + query, self.token)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def scene_file(tmp_path_factory) -> Path:
    return write_test_scene(tmp_path_factory.mktemp("scenes") / "test-scene.safetensors")


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory) -> Path:
    """An offline HF_HOME whose hubscape tree cache holds microsoft/phi-2 (from the real CSV)."""
    from hubscape.analytics.growth.hub import TreeCache
    from hubscape.analytics.growth.tree import read_children_csv, save_tree

    home = tmp_path_factory.mktemp("hf_home")
    cache = TreeCache(home / "hubscape" / "trees")
    for tree in read_children_csv(CHILDREN_CSV_DIR / "hf_finetune_children_by_base.csv"):
        if tree.base.id == "microsoft/phi-2":
            save_tree(cache.path(tree.base.id), tree)
    return home


#: The gallery ids of the bundles the test server serves (after the test scene, bundle:0).
DEMO_BUNDLES = {
    "activations": "bundle:1",
    "landscape_backdoored": "bundle:2",
    "interpolation_triggered_data": "bundle:3",
}


@pytest.fixture(scope="session")
def server(scene_file, hf_home, backdoor_demo):
    """`hubscape serve --data <real children CSVs> <test scene> <backdoor demo bundles>` on a free
    port, 2 MiB uploads, offline from the Hub (HF_HUB_OFFLINE=1, a tree cache in a temporary HF_HOME)."""
    extra = []
    if os.environ.get("HUBSCAPE_PYODIDE_INDEX"):
        extra = ["--pyodide-index", os.environ["HUBSCAPE_PYODIDE_INDEX"]]
    demo = [str(backdoor_demo / f"{name}.safetensors") for name in DEMO_BUNDLES]
    srv = Server(
        ["--data", str(CHILDREN_CSV_DIR), "--max-upload-mb", "2", *extra, str(scene_file), *demo],
        env={"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"},
    )
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def playwright():
    # Module scope: the sync API keeps an event loop running in the main thread while it is
    # open, which would break asyncio.run() in any later test (e.g. the Jupyter canvas test).
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    # Playwright's launch() gives every browser a fresh temporary profile.
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=[*BASE_FLAGS, *WEBGPU_FLAGS])
    yield b
    b.close()


@pytest.fixture
def open_page(browser, server):
    """open_page(query) -> a page of the app, ready (hubscape.ready resolved)."""
    pages = []

    def _open(query: str = "", viewport: dict | None = None):
        page = browser.new_page(viewport=viewport or VIEWPORT)
        page.set_default_timeout(120_000)  # waits are for outcomes; 2 shared cores can take long
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(server.page(query))
        page.evaluate("window.hubscape.ready")
        page.evaluate("hubscape.renderNow()")
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


def screenshot_array(page) -> np.ndarray:
    """The page as an (h, w, 3) float array in [0, 1]."""
    import io

    from PIL import Image

    page.evaluate("hubscape.renderNow()")
    png = page.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64) / 255.0


@pytest.fixture
def markers():
    return MARKERS


@pytest.fixture
def shot():
    return screenshot_array


@pytest.fixture
def demo_items():
    """Gallery ids of the backdoor demo's bundles in the test server."""
    return dict(DEMO_BUNDLES)
