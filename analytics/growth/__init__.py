"""Growth of a base model's model tree on the Hub, and Wang-Song-Barabasi fits of it.

The facade, imported lazily (``import hubscape.analytics.growth`` stays cheap)::

    >>> from hubscape.analytics import growth
    >>> series = growth.load_series(["hf_finetune_children_by_base.csv"], unit="month")
    >>> result = growth.analyze(series[0], methods=("lsq", "mle"), m=30, horizon=12)
    >>> result.fits["lsq"].params, result.fits["lsq"].identifiable, result.anomalous_periods
    >>> growth.write_growth_bundle("fits.safetensors", [result], horizon=12)
"""

from importlib import import_module

_EXPORTS = {
    "analyze": "analysis",
    "build_series": "series",
    "series_from_events": "series",
    "GrowthSeries": "series",
    "load_series": "sources",
    "fit_lsq": "lsq",
    "fit_mle": "mle",
    "fit_batch": "batch",
    "forecast": "forecast",
    "backtest": "forecast",
    "jump_periods": "anomalies",
    "FitResult": "results",
    "GrowthResult": "results",
    "Forecast": "results",
    "read_growth_bundle": "growth_bundle",
    "write_growth_bundle": "growth_bundle",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
