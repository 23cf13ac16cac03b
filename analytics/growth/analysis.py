"""One call from a growth series to everything hubscape reports about it.

>>> result = analyze(series, methods=("lsq", "mle"), m=30, horizon=12)
>>> result.fits["lsq"].identifiable, result.anomalous_periods, result.forecasts["lsq"].hi
"""

from __future__ import annotations

from functools import partial

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.anomalies import is_poor_fit, jump_periods
from hubscape.analytics.growth.forecast import backtest, forecast
from hubscape.analytics.growth.lsq import fit_lsq
from hubscape.analytics.growth.methods import DEFAULT_METHOD, METHODS
from hubscape.analytics.growth.mle import fit_mle
from hubscape.analytics.growth.results import GrowthResult
from hubscape.analytics.growth.series import GrowthSeries
from hubscape.core.errors import InputError


def analyze(
    series: GrowthSeries,
    methods: str | tuple[str, ...] = DEFAULT_METHOD,
    m: float = wsb.DEFAULT_M,
    horizon: int = 12,
    prior=None,
    backtest_k: int | None = None,
    seed: int = 0,
) -> GrowthResult:
    """Fit ``series`` with each method, forecast ``horizon`` periods, and flag anomalies.

    ``methods`` is one method name or several. ``prior`` is a Gamma prior on lambda for the
    "mle" method: (shape, rate) or a :class:`~.prior.GammaPrior`. ``poor_fit`` judges the
    first method's fit. With ``backtest_k`` each method is also refitted on the first k periods
    and scored on the rest (skipped, with a note, for a series too short). ``seed`` seeds the
    bootstrap and the forecast's draws, so a result is reproducible.
    """
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods:
        raise InputError(f"unknown fit method {', '.join(unknown) or '(none)'}; expected {' or '.join(METHODS)}")
    if not m > 0:
        raise InputError(f"m must be positive, got {m:g}")
    result = GrowthResult(series=series, anomalous_periods=jump_periods(series))
    for name in methods:
        fit = fit_lsq(series, m=m, seed=seed) if name == "lsq" else fit_mle(series, m=m, prior=prior)
        result.fits[name] = fit
        result.forecasts[name] = forecast(fit, series, horizon=horizon, seed=seed)
        if backtest_k is not None and backtest_k < series.observed_until - 1:
            fitter = fit_lsq if name == "lsq" else partial(fit_mle, prior=prior)
            result.backtests[name] = backtest(series, backtest_k, m=m, fitter=fitter)
    if backtest_k is not None and not result.backtests:
        series.notes.append(
            f"no backtest: {series.observed_until:.3g} {series.unit}s observed, "
            f"too few to fit {backtest_k} and score the rest"
        )
    result.poor_fit = is_poor_fit(result.fits[methods[0]])
    return result
