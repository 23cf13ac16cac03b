"""`hubscape build-site`: a static site that runs with no hubscape server behind it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory, scene_file):
    out = tmp_path_factory.mktemp("site") / "site"
    done = subprocess.run(
        [sys.executable, "-m", "hubscape.viewer", "build-site", str(out), str(scene_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # Any static file server will do; this one knows nothing of hubscape.
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..."
    url = line.split("(", 1)[1].split(")", 1)[0]
    yield out, url
    proc.terminate()
    proc.wait(10)


def test_site_holds_app_pyodide_wheel_and_scenes(site):
    out, _ = site
    items = json.loads((out / "gallery.json").read_text())["items"]
    assert {i["world"] for i in items} == {"growth", "landscape", "activations"}
    for item in items:
        for theme in ("tron", "paper"):
            assert (out / item["files"][theme]).stat().st_size > 1000
    assert (out / "pyodide" / "pyodide.asm.wasm").is_file() and list((out / "wheels").glob("hubscape-*.whl"))
    assert (out / "shaders" / "grid.wgsl").is_file() and (out / "shaders" / "grid.glsl").is_file()
    assert json.loads((out / "site.json").read_text())["kernel"] == "pyodide"


def test_static_site_renders_without_a_reachable_pyodide_index_and_boots_pyodide(browser, site, shot):
    _, url = site
    page = browser.new_page(viewport={"width": 800, "height": 520})
    try:
        page.goto(url + "?item=demo:landscape&hud=0")
        page.evaluate("hubscape.ready")
        # Pyodide's package index is out of reach here (no network): the kernel is not offered, and
        # the page says why; the prebuilt scenes still render and switch theme.
        assert page.evaluate("hubscape.kernels") == []
        assert "cannot be reached" in page.inner_text("#kernel-note")
        assert page.evaluate("hubscape.scene.world") == "landscape"
        assert (shot(page).max(axis=2) > 0.15).mean() > 0.03
        page.evaluate("hubscape.setTheme('paper')")
        assert page.evaluate("hubscape.theme") == "paper" and page.evaluate("hubscape.error") is None
        report = page.evaluate("hubscape.pyodide().boot()")
        assert report["modules"]["hubscape.core.errors"] == "ok"
    finally:
        page.close()
