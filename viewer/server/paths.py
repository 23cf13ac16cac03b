"""Where the server finds what it serves: the shaders, the Pyodide core and the source tree.

Pyodide's core (``pyodide.mjs``, ``pyodide.asm.wasm``, ``python_stdlib.zip``, the lock file)
comes from the npm package ``pyodide``. It is looked for, in order, in the ``--pyodide-dir``
option, the ``HUBSCAPE_PYODIDE_DIR`` environment variable, and ``node_modules/pyodide`` of the
source checkout (``npm ci`` puts it there). When it is missing the page says so and the
server kernel does all the work.
"""

from __future__ import annotations

import os
from pathlib import Path

from hubscape.core.env import env_path

#: Files the Pyodide core needs; a folder without them is not a Pyodide distribution.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")


def shaders_root() -> Path:
    from importlib.resources import files

    return Path(str(files("hubscape.shaders")))


def source_tree() -> Path | None:
    """The checkout hubscape runs from (the folder with pyproject.toml), or None if installed."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "hubscape"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def find_pyodide(option: str | os.PathLike | None = None) -> tuple[Path | None, str]:
    """(folder with Pyodide's core, "") or (None, why it is unavailable)."""
    candidates: list[tuple[Path, str]] = []
    if option:
        candidates.append((Path(option), "--pyodide-dir"))
    elif env_path("HUBSCAPE_PYODIDE_DIR"):
        candidates.append((env_path("HUBSCAPE_PYODIDE_DIR"), "HUBSCAPE_PYODIDE_DIR"))
    else:
        tree = source_tree()
        if tree is not None:
            candidates.append((tree / "node_modules" / "pyodide", "the checkout's node_modules"))
    for folder, origin in candidates:
        missing = [name for name in PYODIDE_FILES if not (folder / name).is_file()]
        if not missing:
            return folder.resolve(), ""
        return None, (
            f"Pyodide's core is not in {folder} (from {origin}; missing "
            f"{', '.join(missing)}); run 'npm ci' in the checkout or pass --pyodide-dir"
        )
    return None, (
        "Pyodide's core was not found: pass --pyodide-dir or set HUBSCAPE_PYODIDE_DIR "
        "to a folder holding the npm package 'pyodide'"
    )


def pyodide_version(folder: Path) -> str | None:
    """The version of the Pyodide distribution in ``folder`` (from its package.json)."""
    import json

    try:
        return json.loads((folder / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


def public_index(version: str) -> str:
    """Pyodide's public package index (numpy, scipy, ...) for ``version``."""
    return f"https://cdn.jsdelivr.net/pyodide/v{version}/full/"
