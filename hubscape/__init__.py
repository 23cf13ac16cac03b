"""hubscape: a 3D visual-analytics workbench for Hugging Face models.

The notebook API (docs/api.md), one import for the three worlds::

    import hubscape as hs

    fits = hs.growth.fit("children.csv")                         # growth of model trees
    land = hs.landscape(model, [(x, y)], loss_fn, grid=(21, 21))  # a loss landscape
    acts = hs.activations(model, {"clean": x, "triggered": xt})   # activation maps
    cuff = hs.safety.run_gradient_cuff(model, tok, queries)       # LLM safety (hs.safety.*)
    hs.show(acts)                                                 # 3D, inline in Jupyter
    hs.export(fits, "growth.pdf", theme="paper")                  # a figure for the paper
    hs.load("acts.safetensors")                                   # any bundle, typed

Names are imported on first use, so ``import hubscape`` stays fast and works in Pyodide,
where torch and pygfx do not exist.
"""

import importlib

#: Public name -> "module:attribute" (or "module" for a namespace), imported on first access.
_LAZY = {
    "growth": "hubscape.analytics.growth",
    "landscape": "hubscape.analytics.landscape.api:landscape",
    "activations": "hubscape.analytics.activations.maps:activation_maps",
    "safety": "hubscape.analytics.safety",
    "scene": "hubscape.api:scene",
    "show": "hubscape.api:show",
    "export": "hubscape.api:export",
    "load": "hubscape.api:load",
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
    return list(__all__)
