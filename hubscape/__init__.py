"""hubscape: a 3D visual-analytics workbench for Hugging Face models.

The notebook API lives here (see docs/api.md); its names are imported on first use, so
``import hubscape`` stays fast and works in Pyodide, where torch and pygfx do not exist.
"""

from __future__ import annotations

import importlib

#: Public name -> "module:attribute" (or "module" for a namespace), imported on first access.
_LAZY = {
    "HubscapeError": "hubscape.core.errors:HubscapeError",
    "InputError": "hubscape.core.errors:InputError",
    "BundleError": "hubscape.core.errors:BundleError",
    "HubError": "hubscape.core.errors:HubError",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        target = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hubscape' has no attribute {name!r}") from None
    module, _, attr = target.partition(":")
    value = importlib.import_module(module)
    value = getattr(value, attr) if attr else value
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
