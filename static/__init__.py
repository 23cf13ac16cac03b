"""The browser app (HTML and ES modules, no build step), shipped as package data."""

from importlib.resources import files
from pathlib import Path


def static_root() -> Path:
    """The folder the server serves the browser app from."""
    return Path(str(files(__name__)))
