"""Growth of a base model's model tree on the Hub, and Wang-Song-Barabasi fits of it.

The facade, imported lazily (``import hubscape.analytics.growth`` stays cheap; it is
``hs.growth`` in the notebook API)::

    >>> from hubscape.analytics import growth
    >>> results = growth.fit("hf_finetune_children_by_base.csv", methods=("lsq", "mle"), m=30, unit="month")
    >>> results[0].fits["mle"].lam_interval, results[0].fits["mle"].status, results.report()
    >>> results.save("fits.safetensors"); growth.GrowthResults.load("fits.safetensors")
    >>> bt = growth.backtest("hf_finetune_children_by_base.csv", cutoffs=[6, 12], horizons=[3, 6, 12])

The pieces: ``load_series`` (one source or several), ``analyze`` (one series), ``fit_lsq`` /
``fit_mle`` / ``fit_batch``, ``forecast``, ``fit_gamma_prior``; docs/growth.md says what every
number means and how well it held up.
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
    "fit": "api",
    "backtest": "api",
    "BacktestResult": "backtesting",
    "fit_gamma_prior": "prior",
    "GammaPrior": "prior",
    "jump_periods": "anomalies",
    "FitResult": "results",
    "GrowthResult": "results",
    "GrowthResults": "results",
    "Forecast": "results",
    "read_growth_bundle": "growth_bundle",
    "write_growth_bundle": "growth_bundle",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
