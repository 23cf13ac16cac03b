"""Desktop rendering of a Scene with pygfx/wgpu (window and offscreen)."""

import os
import tempfile


def _ensure_runtime_dir() -> None:
    """Give Mesa a valid XDG_RUNTIME_DIR (a private 0700 folder) when the session has none,
    so that every render does not print "error: XDG_RUNTIME_DIR is invalid" (headless
    machines, CI, containers). Runs before pygfx/wgpu load Mesa."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and os.path.isdir(current) and os.access(current, os.W_OK):
        return
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    path = os.path.join(tempfile.gettempdir(), f"hubscape-runtime-{user}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError:
        return
    os.environ["XDG_RUNTIME_DIR"] = path


_ensure_runtime_dir()
