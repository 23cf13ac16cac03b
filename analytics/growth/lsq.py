"""Least-squares fit of the WSB curve to a cumulative series, with lmfit.

The parameters are bounded (:func:`parameter_bounds`), and the start is the best point of a
small (mu, sigma) grid with lambda chosen so that the curve passes through the last count
(:func:`grid_start`): on real Hub curves a single fixed start often lands in a flat region.
lmfit's report gives standard errors and correlations (scaled by the residual variance);
identifiability is then judged by :mod:`~hubscape.analytics.growth.identifiability`.

    >>> fit = fit_lsq(series, m=30)
    >>> fit.params, fit.stderr, fit.r2, fit.identifiable, fit.reasons
"""

from __future__ import annotations

import math

import numpy as np

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.identifiability import assess
from hubscape.analytics.growth.results import FitResult
from hubscape.analytics.growth.series import GrowthSeries

#: Starting grid: mu offsets from ln(T) and sigmas.
MU_OFFSETS = np.linspace(-2.5, 1.5, 9)
SIGMAS = np.array([0.3, 0.6, 1.0, 1.5, 2.5])

#: Fewer points than this leave nothing to judge a 3-parameter curve by.
MIN_POINTS = 5


def parameter_bounds(observed_until) -> np.ndarray:
    """(3, 2) lower/upper bounds of (mu, sigma, lambda) for a series observed until T.

    mu spans from a fraction of the first period to e^4 (~55) times the observed span; sigma
    and lambda cover every curve seen on the Hub with room to spare (lambda = 15 means a
    saturation count of 30 e^15, ~10^8, for m = 30). An estimate on a bound is reported as not
    identifiable, never silently kept. An array of T gives shape T.shape + (3, 2).
    """
    T = np.asarray(observed_until, dtype=float)
    out = np.empty(T.shape + (3, 2))
    out[..., 0, 0], out[..., 0, 1] = -2.0, np.log(np.maximum(T, 1.0)) + 4.0
    out[..., 1, :] = (0.05, 5.0)
    out[..., 2, :] = (1e-3, 15.0)
    return out


def start_grid(observed_until) -> np.ndarray:
    """(G, 2) grid of (mu, sigma) starting points (T.shape + (G, 2) for an array of T)."""
    T = np.asarray(observed_until, dtype=float)
    bounds = parameter_bounds(T)
    mus = np.log(np.maximum(T, 1.0))[..., None] + MU_OFFSETS
    mus = np.clip(mus, bounds[..., 0, 0, None], bounds[..., 0, 1, None])
    out = np.empty(T.shape + (MU_OFFSETS.size, SIGMAS.size, 2))
    out[..., 0] = mus[..., :, None]
    out[..., 1] = SIGMAS
    return out.reshape(T.shape + (-1, 2))


def grid_start(t: np.ndarray, count: np.ndarray, m: float, observed_until: float) -> np.ndarray:
    """The best (lowest squared error) grid start (mu, sigma, lambda) for one series."""
    grid = start_grid(observed_until)
    bounds = parameter_bounds(observed_until)
    lam = np.clip(wsb.lambda_through(count[-1], t[-1], grid[:, 0], grid[:, 1], m), *bounds[2])
    curves = wsb.cumulative(t[None, :], grid[:, :1], grid[:, 1:], lam[:, None], m)
    best = int(np.argmin(np.sum((curves - count) ** 2, axis=1)))
    return np.array([grid[best, 0], grid[best, 1], lam[best]])


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


def fit_lsq(series: GrowthSeries, m: float = wsb.DEFAULT_M, profile: bool = True) -> FitResult:
    """Least-squares WSB fit of ``series.count`` at ``series.t`` with lmfit.

    ``profile`` also checks the least-squares profile of lambda (one constrained refit), the
    most direct test of whether the data bound the saturation count.
    """
    t, count = series.t, series.count
    if series.n_events < MIN_POINTS:
        return unfitted(
            series,
            "lsq",
            m,
            f"not fitted: {series.n_events} dated children; a 3-parameter curve needs at least {MIN_POINTS}",
        )
    if t.size < MIN_POINTS:
        return unfitted(
            series,
            "lsq",
            m,
            f"not fitted: {series.observed_until:.2g} {series.unit}s observed; a 3-parameter "
            f"curve needs at least {MIN_POINTS} points (try a shorter --unit)",
        )
    bounds = parameter_bounds(series.observed_until)
    lmodel = make_model()
    params = make_params(grid_start(t, count, m, series.observed_until), bounds)
    try:
        result = lmodel.fit(count, params, t=t, m=m)
    except (ValueError, np.linalg.LinAlgError) as exc:  # lmfit refuses non-finite model values
        return unfitted(series, "lsq", m, f"not fitted: the optimizer failed ({exc})")
    values = np.array([result.params[n].value for n in ("mu", "sigma", "lam")])
    cov = np.full((3, 3), np.nan)
    if result.covar is not None and list(result.var_names) == ["mu", "sigma", "lam"]:
        cov = np.array(result.covar, dtype=float)
    fitted = wsb.cumulative(t, *values, m=m)
    q = quality(t, count, fitted)

    profile_fn = None
    if profile:

        def profile_fn(lam: float) -> float:
            fixed = make_params(values, bounds)
            fixed["lam"].set(value=lam, vary=False)
            return float(np.sum(lmodel.fit(count, fixed, t=t, m=m).residual ** 2))

    fit = FitResult(
        method="lsq",
        m=m,
        params=values,
        cov=cov,
        fitted=fitted,
        success=bool(result.success),
        c_inf_lower_bound=float(count[-1]),
        message=str(result.message),
        **q,
    )
    dof = max(t.size - 3, 1)
    scale = float(np.sum((count - fitted) ** 2)) / dof
    assess(fit, bounds, profile=profile_fn, best_objective=scale * dof, objective_scale=scale)
    return fit
