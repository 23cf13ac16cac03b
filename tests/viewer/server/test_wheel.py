"""hubscape's wheel for the Pyodide kernel: built from the checkout, cached per source state."""

from __future__ import annotations

import subprocess
import sys
import zipfile


def test_wheel_is_built_once_and_holds_the_pure_python_package(tmp_path, monkeypatch):
    from hubscape.viewer.server import wheel
    from hubscape.viewer.server.wheel import ensure_wheel

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # Fix the source state (other work may edit the checkout while this test runs).
    monkeypatch.setattr(wheel, "source_digest", lambda tree: "state-1")
    first, reason = ensure_wheel()
    assert first is not None, reason
    assert first.is_relative_to(tmp_path)
    names = zipfile.ZipFile(first).namelist()
    for module in (
        "hubscape/__init__.py",
        "hubscape/core/errors.py",
        "hubscape/viewer/sources/page_requests.py",
        "hubscape/viewer/scene/builders.py",
        "hubscape/shaders/grid.wgsl",
    ):
        assert module in names
    mtime = first.stat().st_mtime_ns
    again, _ = ensure_wheel()
    assert again == first and again.stat().st_mtime_ns == mtime  # cached, not rebuilt
    monkeypatch.setattr(wheel, "source_digest", lambda tree: "state-2")
    changed, _ = ensure_wheel()
    assert changed.parent.name == "state-2" and changed.is_file()  # new sources: a new wheel


def test_build_site_refuses_a_folder_that_is_not_a_site(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    out = subprocess.run(
        [sys.executable, "-m", "hubscape.viewer", "build-site", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "not a hubscape site" in out.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"
