"""hubscape's own wheel for the Pyodide kernel, built once per source state and cached.

``pip wheel --no-deps --no-build-isolation`` of the checkout (about 1.5 s), so the browser
installs exactly the code the server runs. The cache key is a hash of every tracked source
file's path, size and mtime; a rebuilt wheel replaces the old one atomically. An installed
(non-checkout) hubscape has no source tree to build from: then the page says why the Pyodide
kernel cannot load hubscape.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from hubscape.core.env import cache_home

from .paths import source_tree

_SOURCE_DIRS = ("hubscape", "core", "analytics", "viewer", "shaders", "static")
_lock = threading.Lock()


def cache_root() -> Path:
    return cache_home() / "hubscape" / "wheels"


def source_digest(tree: Path) -> str:
    """Hash of the package sources (names, sizes, mtimes) and pyproject.toml."""
    h = hashlib.sha256()
    files = [tree / "pyproject.toml"]
    for folder in _SOURCE_DIRS:
        files += sorted(p for p in (tree / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        st = path.stat()
        h.update(f"{path.relative_to(tree)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _clean_copy(tree: Path, dest: Path) -> Path:
    """The package's sources (no caches, no build output) copied to ``dest``."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(tree / name, dest / name)
    for folder in _SOURCE_DIRS:
        shutil.copytree(tree / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def ensure_wheel(cache: Path | None = None) -> tuple[Path | None, str]:
    """(path of hubscape's wheel, "") or (None, why there is none)."""
    tree = source_tree()
    if tree is None:
        return None, "hubscape is not running from a source checkout, so its wheel cannot be built here"
    with _lock:
        folder = (cache or cache_root()) / source_digest(tree)
        found = sorted(folder.glob("hubscape-*.whl")) if folder.is_dir() else []
        if found:
            return found[-1], ""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
        try:
            # Build from a clean copy: an in-tree build reuses build/lib, whose stale modules
            # (moved or deleted since) would ship in the wheel.
            source = _clean_copy(tree, tmp / "src")
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
                + ["--disable-pip-version-check", str(source), "-w", str(tmp)],
                capture_output=True,
                text=True,
                cwd=tmp,
            )
            built = sorted(tmp.glob("hubscape-*.whl"))
            if proc.returncode != 0 or not built:
                errors = [line for line in proc.stderr.splitlines() if "error" in line.lower()]
                last = (errors or proc.stderr.strip().splitlines() or ["no wheel produced"])[-1].strip()
                return None, f"building hubscape's wheel failed: {last}"
            try:
                os.replace(tmp, folder)
            except OSError:  # another process built the same wheel first
                pass
            return sorted(folder.glob("hubscape-*.whl"))[-1], ""
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
