"""Make the shared shaders/ sources includable from pygfx shader templates.

pygfx resolves ``{$ include 'context.name.wgsl' $}`` through registered loaders; this one
serves ``hubscape.<file>`` from the ``hubscape.shaders`` package, so the desktop renderer
includes exactly the text the browser engine fetches.
"""

from __future__ import annotations

from hubscape.shaders import shader_source

_registered = False


def ensure_wgsl_loader() -> None:
    """Register the ``hubscape`` include context with pygfx (idempotent)."""
    global _registered
    if _registered:
        return
    from pygfx.renderers.wgpu import register_wgsl_loader

    register_wgsl_loader("hubscape", shader_source)
    _registered = True
