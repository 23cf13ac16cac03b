"""WGSL shader sources shared by the desktop renderer (pygfx) and the browser engine."""

from importlib.resources import files


def shader_source(name: str) -> str:
    """The text of ``shaders/<name>`` (e.g. ``shader_source("ribbon.wgsl")``)."""
    return files(__name__).joinpath(name).read_text(encoding="utf-8")
