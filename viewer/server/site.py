"""``hubscape build-site``: the browser app as static files, with the Pyodide kernel.

The site holds the app (static/), the shared shaders, Pyodide's core, hubscape's wheel, and
the gallery: every item's scene pre-built in both themes (``scenes/``), plus the demo's
children CSV so that growth refits run in the browser. ``site.json`` tells the page there is
no server. The site is written to a temporary folder first and moved into place at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from hubscape.core.errors import InputError

from .kernel import ServerKernel, demo_children_csv
from .paths import PYODIDE_FILES, find_pyodide, public_index, pyodide_version, shaders_root
from .wheel import ensure_wheel

THEMES = ("tron", "paper")


def build_site(
    outdir: str | os.PathLike,
    bundles: list[Path] | None = None,
    pyodide_dir: Path | None = None,
    pyodide_index: str | None = None,
) -> Path:
    """Write the static site to ``outdir`` (replacing an earlier site there) and return it."""
    from rich.progress import Progress

    from hubscape.static import static_root

    out = Path(outdir)
    if out.exists() and not (out / "site.json").is_file() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not a hubscape site; give a new or empty folder")
    py_dir, reason = find_pyodide(pyodide_dir)
    if py_dir is None:
        raise InputError(reason)
    wheel, reason = ensure_wheel()
    if wheel is None:
        raise InputError(reason)
    kernel = ServerKernel(bundles=bundles or [])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        shutil.copytree(static_root(), tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        (tmp / "shaders").mkdir()
        for src in sorted(shaders_root().iterdir()):
            if src.suffix in (".wgsl", ".glsl"):
                shutil.copy2(src, tmp / "shaders" / src.name)
        (tmp / "pyodide").mkdir()
        for name in (*PYODIDE_FILES, "package.json"):
            shutil.copy2(py_dir / name, tmp / "pyodide" / name)
        (tmp / "wheels").mkdir()
        shutil.copy2(wheel, tmp / "wheels" / wheel.name)
        (tmp / "scenes").mkdir()
        (tmp / "data").mkdir()
        (tmp / "data" / "demo-children.csv").write_text(demo_children_csv(), encoding="utf-8")
        items = []
        gallery = kernel.gallery()
        with Progress(transient=True) as progress:
            task = progress.add_task("building scenes", total=len(gallery) * len(THEMES))
            for i, item in enumerate(gallery):
                files = {}
                for theme in THEMES:
                    name = f"scenes/{i}-{item['world']}.{theme}.safetensors"
                    (tmp / name).write_bytes(kernel.scene_bytes(item["id"], theme))
                    files[theme] = name
                    progress.advance(task)
                entry = {**item, "files": files}
                if item["id"] == "demo:growth":
                    entry["csv_url"] = "data/demo-children.csv"
                items.append(entry)
        (tmp / "gallery.json").write_text(json.dumps({"items": items}, indent=1), encoding="utf-8")
        version = pyodide_version(py_dir)
        site = {
            "kernel": "pyodide",
            "pyodide": {
                "url": "pyodide/",
                "wheel": f"wheels/{wheel.name}",
                "version": version,
                "index_url": pyodide_index or public_index(version),
            },
        }
        (tmp / "site.json").write_text(json.dumps(site, indent=1), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
