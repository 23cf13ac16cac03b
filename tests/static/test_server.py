"""`hubscape serve` safety and errors: path traversal, upload limits, malformed bundles and
CSVs (a 4xx with one line from the API, and a visible message in the page), and the README's
main job with no arguments."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import urllib.request

import pytest

pytestmark = pytest.mark.browser


def _request(server, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"X-Hubscape-Token": server.token, **(headers or {})})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/shaders/../../pyproject.toml",
        "/pyodide/../../../etc/passwd",
        "/js/..%2f..%2fpyproject.toml",
    ],
)
def test_path_traversal_is_refused(server, path):
    status, body = _request(server, "GET", path)
    assert status == 403 and b"traversal" in body
    assert b"[project]" not in body


def test_files_and_clean_404s(server):
    assert _request(server, "GET", "/")[0] == 200
    assert _request(server, "GET", "/shaders/ribbon.wgsl")[1].startswith(b"// Light-cycle")
    status, body = _request(server, "GET", "/no/such/file.js")
    assert status == 404 and json.loads(body)["error"].startswith("not found")
    assert _request(server, "GET", "/__init__.py")[0] == 404  # package files are not served
    assert _request(server, "GET", "/api/nothing")[0] == 404
    assert _request(server, "GET", "/api/scene?id=nope")[0] == 400


def test_oversized_upload_is_413(server):
    big = b"\0" * (3 * 1024 * 1024)  # the fixture's limit is 2 MiB
    status, body = _request(server, "POST", "/api/scene", body=big)
    assert status == 413 and "limit" in json.loads(body)["error"]


@pytest.mark.parametrize(
    "body, needle",
    [
        (b"not a bundle at all", "not a hubscape bundle"),
        (
            len(b'{"__metadata__": {"format": "pt"}}').to_bytes(8, "little") + b'{"__metadata__": {"format": "pt"}}',
            "without hubscape metadata",
        ),
    ],
)
def test_malformed_bundle_is_a_4xx_with_one_line(server, body, needle):
    status, data = _request(server, "POST", "/api/scene?name=bad.safetensors", body=body)
    doc = json.loads(data)
    assert 400 <= status < 500 and needle in doc["error"] and "\n" not in doc["error"]


def test_malformed_csv_is_a_4xx_with_one_line(server):
    req = {"csv": {"name": "bad.csv", "text": "a,b\n1,2\n"}, "method": "lsq"}
    status, data = _request(
        server, "POST", "/api/growth/fit", body=json.dumps(req).encode(), headers={"Content-Type": "application/json"}
    )
    doc = json.loads(data)
    assert status == 400 and "bad.csv" in doc["error"] and "\n" not in doc["error"]
    status, data = _request(server, "POST", "/api/growth/fit", body=b"{not json")
    assert status == 400


@pytest.mark.parametrize(
    "name, data, needle",
    [
        ("broken.safetensors", b"garbage bytes", "not a hubscape bundle"),
        ("broken.csv", b"a,b\n1,2\n", "broken.csv"),
    ],
)
def test_malformed_file_shows_a_clear_error_in_the_page(open_page, shot, name, data, needle):
    page = open_page("?item=demo:landscape")
    page.evaluate("([n, d]) => hubscape.openFile(n, new Uint8Array(d))", [name, list(data)])
    banner = page.locator("#error")
    assert banner.is_visible() and needle in banner.inner_text()
    # The previous scene stays on screen: not a blank page.
    assert page.evaluate("hubscape.scene.world") == "landscape"
    assert (shot(page).max(axis=2) > 0.15).mean() > 0.03


def test_serve_with_no_arguments_is_the_gallery_of_three_worlds(tokens):
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubscape.viewer", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("hubscape: serving http://127.0.0.1:")
        url, token = tokens.served(line)
        with urllib.request.urlopen(url, timeout=30) as res:
            assert b'<script type="module" src="js/app.js">' in res.read()
        with tokens.api_get(url + "api/gallery", token) as res:
            items = json.load(res)["items"]
        assert {i["world"] for i in items} == {"growth", "landscape", "activations"}
        with tokens.api_get(url + "api/scene?id=demo:landscape", token) as res:
            assert res.read(8) and res.status == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_bad_serve_arguments_are_one_line_exit_2(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "hubscape.viewer", "serve", "--port", "0", str(tmp_path / "none.safetensors")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_page_says_why_pyodide_is_unavailable(browser, tmp_path, tokens):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubscape.viewer",
            "serve",
            "--port",
            "0",
            "--pyodide-dir",
            str(tmp_path / "no-pyodide"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url, token = tokens.served(proc.stdout.readline())
        with tokens.api_get(url + "api/info", token) as res:
            info = json.load(res)["pyodide"]
        assert info["available"] is False and "no-pyodide" in info["reason"]
        page = browser.new_page()
        page.goto(tokens.with_token(url + "?item=demo:landscape", token))
        page.evaluate("hubscape.ready")
        assert page.evaluate("hubscape.kernels") == ["server"]
        note = page.inner_text("#kernel-note")
        assert "active: server kernel" in note and "Pyodide: Pyodide's core is not in" in note
        page.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_data_folder_bundles_join_the_gallery(tmp_path, scene_file):
    import shutil

    from hubscape.viewer.server.kernel import ServerKernel

    (tmp_path / "run").mkdir()
    shutil.copy(scene_file, tmp_path / "run" / "scene.safetensors")
    (tmp_path / "run" / "junk.safetensors").write_bytes(b"not a bundle")
    items = ServerKernel(data_dir=tmp_path).gallery()
    found = [i for i in items if i["source"] == "bundle"]
    assert [(i["title"], i["world"]) for i in found] == [("scene.safetensors", "landscape")]


def test_a_csv_with_more_models_than_shown_says_so_in_the_page(browser, tmp_path, tokens):
    """Issue 8: `serve --data` showed 8 models silently. Beyond 64 the page shows the largest trees
    and says how many of how many (here 66 small trees, too small to fit, so it stays quick)."""
    import csv
    import datetime as dt

    release, snapshot = dt.datetime(2023, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    with (tmp_path / "kids.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["base_model", "base_created_at", "child_model", "child_created_at", "snapshot"])
        for b in range(66):
            for c in range(1 if b < 2 else 2 + b % 4):  # m00 and m01 are the smallest
                born = release + dt.timedelta(days=10 + 30 * c)
                w.writerow(
                    [f"org/m{b:02d}", release.isoformat(), f"kid/{b}-{c}", born.isoformat(), snapshot.isoformat()]
                )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubscape.viewer", "serve", "--port", "0", "--data", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url, token = tokens.served(proc.stdout.readline())
        page = browser.new_page()
        page.goto(tokens.with_token(url + "?item=csv:0", token))
        page.evaluate("hubscape.ready")
        assert page.evaluate("hubscape.error") is None
        assert "showing the 64 largest of 66 model trees in kids.csv" in page.inner_text("#fit-result")
        shown = page.evaluate("hubscape.legend")
        assert len(shown) == 64 and not {"org/m00", "org/m01"} & set(shown)
        page.close()
    finally:
        proc.terminate()
        proc.wait(10)
