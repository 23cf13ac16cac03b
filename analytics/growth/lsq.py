"""Least-squares fit of the WSB curve to a cumulative series, with lmfit.

The parameters are bounded (:func:`~.bounds.parameter_bounds`), and the start is the best
point of a small (mu, sigma) grid with lambda chosen so that the curve passes through the last
count (:func:`~.bounds.grid_start`): on real Hub curves a single fixed start often lands in a
flat region. lmfit's standard errors (``stderr``) treat the residuals of a cumulative curve as
independent, which they are not: in simulation they are 87-384x too small and their 90%
intervals held the true lambda in 0-8% of paths. The interval reported (``lam_interval``) is
therefore a parametric bootstrap of the reinforced Poisson process (90-94% coverage, see
docs/growth.md); identifiability is judged by :mod:`~hubscape.analytics.growth.identifiability`.

    >>> fit = fit_lsq(series, m=30)
    >>> fit.params, fit.stderr, fit.r2, fit.identifiable, fit.reasons
"""

from __future__ import annotations

import math

import numpy as np

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.bounds import grid_start, parameter_bounds, unfit_reason
from hubscape.analytics.growth.gof import series_test
from hubscape.analytics.growth.identifiability import judge_series
from hubscape.analytics.growth.intervals import bootstrap_interval
from hubscape.analytics.growth.likelihood import CountLikelihood
from hubscape.analytics.growth.results import FitResult
from hubscape.analytics.growth.series import GrowthSeries
from hubscape.analytics.growth.threads import one_blas_thread

#: Bootstrap paths per least-squares fit (the 90% interval's tails rest on ~10 refits each).
N_BOOT = 200


def _wsb(t, mu, sigma, lam, m):
    return wsb.cumulative(t, mu, sigma, lam, m)


def make_model():
    """The lmfit Model of c(t) with independent variables t and m."""
    from lmfit import Model

    return Model(_wsb, independent_vars=["t", "m"], nan_policy="raise")


def make_params(start: np.ndarray, bounds: np.ndarray):
    """lmfit Parameters mu, sigma, lam at ``start`` within ``bounds``."""
    from lmfit import Parameters

    params = Parameters()
    for name, value, (lo, hi) in zip(("mu", "sigma", "lam"), start, bounds):
        params.add(name, value=float(np.clip(value, lo, hi)), min=float(lo), max=float(hi))
    return params


def unfitted(series: GrowthSeries, method: str, m: float, why: str) -> FitResult:
    """A FitResult that says why no fit was made (too few points or events)."""
    nan3 = np.full(3, np.nan)
    return FitResult(
        method=method,
        m=m,
        params=nan3,
        cov=np.full((3, 3), np.nan),
        fitted=np.full(series.t.shape, np.nan),
        success=False,
        identifiable=False,
        reasons=[why],
        c_inf_lower_bound=float(series.count[-1]),
        message=why,
    )


def quality(t: np.ndarray, count: np.ndarray, fitted: np.ndarray, k: int = 3) -> dict[str, float]:
    """R^2, RMSE and Gaussian AIC/BIC (lmfit's definitions) of a fitted curve."""
    n = t.size
    resid = count - fitted
    sse = float(np.sum(resid**2))
    sst = float(np.sum((count - count.mean()) ** 2))
    r2 = 1.0 - sse / sst if sst > 0 else math.nan
    base = n * math.log(max(sse, 1e-300) / n)
    return {"r2": r2, "rmse": math.sqrt(sse / n), "aic": base + 2 * k, "bic": base + math.log(n) * k}


@one_blas_thread
def fit_lsq(
    series: GrowthSeries, m: float = wsb.DEFAULT_M, intervals: bool = True, n_boot: int = N_BOOT, seed: int = 0
) -> FitResult:
    """Least-squares WSB fit of ``series.count`` at ``series.t`` with lmfit.

    ``intervals`` adds the parametric-bootstrap 90% interval of lambda (``n_boot`` paths of
    the fitted process, seeded by ``seed``, refitted at once by the batch fitter); its refits
    are kept as ``draws`` for the forecast. Identifiability is judged by
    :func:`~.identifiability.judge` like every other fit.
    """
    t, count = series.t, series.count
    why = unfit_reason(series.n_events, t.size, series.observed_until, series.unit)
    if why is not None:
        return judge_series(unfitted(series, "lsq", m, why), series)
    bounds = parameter_bounds(series.observed_until)
    lmodel = make_model()
    params = make_params(grid_start(t, count, m, series.observed_until), bounds)
    try:
        result = lmodel.fit(count, params, t=t, m=m)
    except (ValueError, np.linalg.LinAlgError) as exc:  # lmfit refuses non-finite model values
        return judge_series(unfitted(series, "lsq", m, f"not fitted: the optimizer failed ({exc})"), series)
    values = np.array([result.params[n].value for n in ("mu", "sigma", "lam")])
    cov = np.full((3, 3), np.nan)
    if result.covar is not None and list(result.var_names) == ["mu", "sigma", "lam"]:
        cov = np.array(result.covar, dtype=float)
    fitted = wsb.cumulative(t, *values, m=m)
    fit = FitResult(
        method="lsq",
        m=m,
        params=values,
        cov=cov,
        fitted=fitted,
        success=bool(result.success),
        c_inf_lower_bound=float(count[-1]),
        message=str(result.message),
        dispersion=CountLikelihood(t, count, m).dispersion(values),
        gof=series_test(series, values, m),
        **quality(t, count, fitted),
    )
    if intervals:
        draws = bootstrap_refits(fit, series, n_boot, np.random.default_rng(seed))
        fit.draws = draws
        fit.lam_interval = bootstrap_interval(draws[:, 2], upper_bound=bounds[2][1])
        fit.interval_method = f"parametric bootstrap ({draws.shape[0]} of {n_boot} refits)"
    return judge_series(fit, series)


def bootstrap_refits(fit: FitResult, series: GrowthSeries, n: int, rng) -> np.ndarray:
    """(k, 3) least-squares refits of ``n`` paths simulated from the fitted process.

    The paths carry the fit's dispersion, so a burstier series gets a wider spread.
    """
    from hubscape.analytics.growth.batch import fit_batch

    counts = wsb.simulate_counts(series.t, *fit.params, m=fit.m, size=n, rng=rng, dispersion=fit.dispersion)
    refit = fit_batch([series.t] * n, list(counts), m=fit.m, observed_until=[series.observed_until] * n)
    return refit.params[np.all(np.isfinite(refit.params), axis=1)]
