"""The library entry points of growth analysis: fit a run of models, backtest the forecasts.

The CLI (``hubscape growth fit | report | backtest``), the server and notebooks all call these;
each takes one source or several (a children CSV, a tree file or folder, a growth bundle, or
GrowthSeries / ModelTree objects) and does the loading, validation and fitting::

    >>> from hubscape.analytics.growth import api
    >>> results = api.fit("hf_finetune_children_by_base.csv", methods=("lsq", "mle"), m=30, unit="month")
    >>> results                     # <GrowthResults: 21 models per month; ...>
    >>> print(results.report())     # the growth table, per method
    >>> results[0].summary()["fits"]["mle"]["c_inf"]
    >>> results.save("fits.safetensors")

    >>> bt = api.backtest("hf_finetune_children_by_base.csv", cutoffs=[6, 12], horizons=[3, 6, 12])
    >>> print(bt.report())          # median APE and band coverage per method and horizon, vs baselines
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.analysis import DEFAULT_METHOD, METHODS, analyze
from hubscape.analytics.growth.backtesting import METHODS as BACKTEST_METHODS
from hubscape.analytics.growth.backtesting import BacktestResult, run_backtest
from hubscape.analytics.growth.prior import GammaPrior, fit_gamma_prior
from hubscape.analytics.growth.results import GrowthResults
from hubscape.analytics.growth.series import GrowthSeries
from hubscape.analytics.growth.sources import load_series
from hubscape.analytics.growth.threads import one_blas_thread
from hubscape.core.errors import InputError

#: ``prior`` choices besides a (shape, rate) pair or a GammaPrior.
PRIOR_CHOICES = ("auto", "eb", "none")


def resolve_prior(prior, series: list[GrowthSeries], methods: tuple[str, ...], m: float) -> GammaPrior | None:
    """The Gamma prior on lambda for "mle" from a ``prior`` choice (see :func:`fit`)."""
    if prior is None or (isinstance(prior, str) and prior == "none"):
        return None
    if isinstance(prior, GammaPrior):
        return prior
    if isinstance(prior, str):
        if prior not in PRIOR_CHOICES:
            raise InputError(f"unknown prior {prior!r}; expected {', '.join(PRIOR_CHOICES)} or (shape, rate)")
        if "mle" not in methods:
            if prior == "eb":
                raise InputError("an empirical-Bayes prior on lambda applies to the mle method only")
            return None
        found = fit_gamma_prior(series, m=m)
        if found is None and prior == "eb":
            raise InputError("an empirical-Bayes prior needs at least 5 series with 5 or more dated children each")
        return found
    try:
        shape, rate = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise InputError(f"a prior on lambda is (shape, rate), 'auto', 'eb' or 'none'; got {prior!r}") from None
    if not (shape > 0 and rate > 0):
        raise InputError(f"the Gamma prior on lambda needs shape > 0 and rate > 0, got shape {shape:g}, rate {rate:g}")
    if "mle" not in methods:
        raise InputError("a prior on lambda applies to the mle method only")
    return GammaPrior(shape=shape, rate=rate, source="user")


def _methods(methods: str | Iterable[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    unknown = [name for name in methods if name not in allowed]
    if unknown or not methods:
        raise InputError(f"unknown fit method {', '.join(unknown) or '(none)'}; expected {', '.join(allowed)}")
    return methods


@one_blas_thread
def fit(
    sources,
    methods: str | Iterable[str] = DEFAULT_METHOD,
    m: float = wsb.DEFAULT_M,
    unit: str = "month",
    horizon: int = 12,
    relations: str | Iterable[str] | None = None,
    prior="auto",
    release_dates: Mapping[str, str] | Iterable[str] | None = None,
    floor_rule: bool = True,
    backtest_k: int | None = None,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> GrowthResults:
    """Fit every model of ``sources`` with ``methods`` and forecast ``horizon`` periods.

    ``prior`` is the Gamma prior on lambda for "mle": "auto" (default) fits an empirical-Bayes
    prior across the run's series when there are at least 5 with 5 or more children (Shen et al.
    2014; it won the backtest, see docs/growth.md), "eb" insists on one, "none" or None fits
    without, and (shape, rate) sets it. ``release_dates`` ({model: date} or ["model=date"]) and
    ``floor_rule`` decide release dates (see :mod:`.series`); ``progress(model, i, n)`` is
    called before each model.

        >>> results = fit("children.csv")                        # mle with the run's prior
        >>> results = fit(["a.csv", "trees/"], methods=("lsq", "mle"), prior="none", unit="week")
    """
    methods = _methods(methods, METHODS)
    if not m > 0:
        raise InputError(f"m must be positive, got {m:g}")
    if int(horizon) != horizon or horizon < 1:
        raise InputError(f"the forecast horizon must be a whole number of periods >= 1, got {horizon}")
    series = load_series(sources, unit=unit, relations=relations, release_dates=release_dates, floor_rule=floor_rule)
    chosen = resolve_prior(prior, list(series), methods, m)
    out = GrowthResults(
        skipped=series.skipped, prior=chosen if chosen is not None and chosen.source != "user" else None
    )
    for i, s in enumerate(series):
        if progress is not None:
            progress(s.model, i, len(series))
        out.append(
            analyze(s, methods=methods, m=m, horizon=int(horizon), prior=chosen, backtest_k=backtest_k, seed=seed)
        )
    return out


@one_blas_thread
def backtest(
    sources,
    cutoffs: Iterable[int] | None = None,
    horizons: Iterable[int] = (3, 6, 12),
    methods: str | Iterable[str] = BACKTEST_METHODS,
    m: float = wsb.DEFAULT_M,
    unit: str = "month",
    relations: str | Iterable[str] | None = None,
    release_dates: Mapping[str, str] | Iterable[str] | None = None,
    floor_rule: bool = True,
    seed: int = 0,
    progress: Callable[[str, int], None] | None = None,
) -> BacktestResult:
    """Backtest ``methods`` against the baselines on every model of ``sources`` (see :mod:`.backtesting`).

    >>> bt = backtest("children.csv", cutoffs=[6, 9, 12], horizons=[3, 6, 12])
    >>> bt.summary()["methods"]     # per method and horizon: median_ape, coverage_50, coverage_90, ...
    """
    methods = _methods(methods, BACKTEST_METHODS)
    if not m > 0:
        raise InputError(f"m must be positive, got {m:g}")
    series = load_series(sources, unit=unit, relations=relations, release_dates=release_dates, floor_rule=floor_rule)
    result = run_backtest(
        list(series), cutoffs=cutoffs, horizons=horizons, methods=methods, m=m, seed=seed, progress=progress
    )
    result.skipped = list(series.skipped)
    return result
