"""Forecasts as predictive distributions of the count, conditional on what was observed.

Under the WSB process (see :mod:`.likelihood`) the count at t > T given N(T) children at the
snapshot T is negative binomial in the operational time, with mean::

    E[N(t) | N(T)] = (N(T) + m) exp(lambda (F(t) - F(T))) - m,   F = Phi((ln . - mu) / sigma)

the conditional forecast of Shen et al. (AAAI 2014): it starts from the count already seen,
however the mean curve c(t) missed the last point. The predictive distribution mixes that
negative binomial over the uncertainty of the parameters:

- parameter draws: for least squares the parametric-bootstrap refits of the fit
  (``FitResult.draws``); for maximum likelihood (and MAP) draws from the posterior, by
  importance sampling from a Student-t around the estimate (a flat prior on (mu, sigma,
  lambda), or the fit's Gamma prior on lambda);
- arrivals: for each draw, the children to come are negative binomial period by period, with
  the variance scaled by the fit's dispersion (1 for data from the process itself; real trees
  are burstier, see :meth:`~.likelihood.CountLikelihood.dispersion`).

The bands are the central 50% and 90% of that mixture and the point forecast is its median,
so point and bands are one distribution (the conditional mean at the estimate, the point
before, could sit below the 50% band where the posterior leans toward more growth: phi-2).
A fit that is not identifiable gets no point forecast (``point`` is NaN): only its bands, and
the count so far as a lower bound.

    >>> fc = forecast(fit, series, horizon=12)
    >>> fc.t, fc.point, fc.lo, fc.hi, fc.lo50, fc.hi50
    >>> bt = backtest(series, k=12)          # fit months 1-12, score the forecast of the rest
    >>> bt.mape, bt.rmse

For many series, cutoffs and horizons side by side with baselines see :mod:`.backtesting`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.special import ndtr

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.bounds import parameter_bounds
from hubscape.analytics.growth.likelihood import EventLikelihood
from hubscape.analytics.growth.results import Backtest, FitResult, Forecast
from hubscape.analytics.growth.series import GrowthSeries, _cumulate
from hubscape.core.errors import InputError

#: Parameter draws (and so predictive samples) per forecast.
N_DRAWS = 2000
#: Degrees of freedom of the importance-sampling proposal (heavier tails than the posterior).
PROPOSAL_DF = 4.0
#: The proposal's covariance is the inverse information times this.
PROPOSAL_SCALE = 2.0
#: Standard deviations of the proposal in (mu, ln sigma, ln lambda) without an information matrix.
BROAD_SCALE = np.array([1.0, 0.5, 1.0])


def forecast_times(series: GrowthSeries, horizon: int) -> np.ndarray:
    """The ends of the ``horizon`` periods after the last complete one."""
    last = math.floor(series.observed_until + 1e-9)
    return np.arange(last + 1, last + horizon + 1, dtype=float)


def conditional_mean(t, T: float, n_T: float, mu, sigma, lam, m: float = wsb.DEFAULT_M):
    """E[N(t) | N(T) = n_T] = (n_T + m) exp(lambda (F(t) - F(T))) - m for t >= T."""
    gain = ndtr((np.log(np.maximum(t, T)) - mu) / sigma) - ndtr((math.log(T) - mu) / sigma)
    with np.errstate(over="ignore"):
        return (n_T + m) * np.exp(lam * gain) - m


def posterior_draws(fit: FitResult, series: GrowthSeries, n: int, rng) -> np.ndarray | None:
    """(n, 3) draws of (mu, sigma, lambda) from the fit's (quasi-)posterior; None without one.

    Importance sampling: a multivariate t in (mu, ln sigma, ln lambda) centred on the estimate
    with the inverse information (times PROPOSAL_SCALE) as its scale, or a broad fixed scale
    (BROAD_SCALE) where the information cannot be inverted (a fit on a bound); weights are the
    event likelihood (tempered by the dispersion) times the prior over the proposal density.
    """
    p = fit.params
    if not np.all(np.isfinite(p)):
        return None
    chol = _proposal_scale(fit)
    centre = np.array([p[0], math.log(p[1]), math.log(p[2])])
    k = 4 * n
    z = rng.standard_normal((k, 3))
    w = np.sqrt(rng.chisquare(PROPOSAL_DF, k) / PROPOSAL_DF)
    u = centre + (z @ chol.T) / w[:, None]
    bounds = parameter_bounds(series.observed_until)
    draws = np.column_stack([u[:, 0], np.exp(u[:, 1]), np.exp(u[:, 2])])
    inside = np.all((draws >= bounds[:, 0]) & (draws <= bounds[:, 1]), axis=1)
    draws, u = draws[inside], u[inside]
    if draws.shape[0] < n // 4:
        return None
    d = np.linalg.solve(chol, (u - centre).T).T
    log_q = -0.5 * (PROPOSAL_DF + 3.0) * np.log1p(np.sum(d * d, axis=1) / PROPOSAL_DF)
    prior = None if fit.prior is None else (fit.prior["shape"], fit.prior["rate"])
    like = EventLikelihood(series.events, series.observed_until, fit.m, prior)
    log_p = like.log_likelihood(*draws.T) / max(fit.dispersion, 1.0) + like.log_prior(draws[:, 2])
    log_w = log_p + u[:, 1] + u[:, 2] - log_q  # densities in (mu, sigma, lambda): flat there (or the prior)
    log_w = np.where(np.isfinite(log_w), log_w, -np.inf)
    if not np.any(np.isfinite(log_w)):
        return None
    weights = np.exp(log_w - log_w.max())
    weights /= weights.sum()
    return draws[rng.choice(draws.shape[0], size=n, p=weights)]


def _proposal_scale(fit: FitResult) -> np.ndarray:
    """The Cholesky factor of the proposal's scale in (mu, ln sigma, ln lambda)."""
    p = fit.params
    if np.all(np.isfinite(fit.cov)):
        jac = np.diag([1.0, 1.0 / p[1], 1.0 / p[2]])
        scale = jac @ fit.cov @ jac * PROPOSAL_SCALE * max(fit.dispersion, 1.0)
        try:
            return np.linalg.cholesky(scale + 1e-12 * np.eye(3))
        except np.linalg.LinAlgError:
            pass
    return np.diag(BROAD_SCALE)


def predictive_samples(
    draws: np.ndarray, T: float, n_T: float, t: np.ndarray, m: float, dispersion: float, rng
) -> np.ndarray:
    """(draws, len(t)) counts at ``t`` given ``n_T`` at ``T``: one future path per draw."""
    s = wsb.operational_time(np.concatenate([[T], t]), draws[:, :1], draws[:, 1:2], draws[:, 2:3])
    n = np.full(draws.shape[0], float(n_T))
    out = np.empty((draws.shape[0], t.size))
    for k in range(t.size):
        n = n + wsb.negbin_growth(n, s[:, k + 1] - s[:, k], m, dispersion, rng)
        out[:, k] = n
    return out


def forecast(
    fit: FitResult, series: GrowthSeries, horizon: int = 12, n_draws: int = N_DRAWS, seed: int = 0
) -> Forecast:
    """The predictive distribution of the count over the next ``horizon`` periods."""
    if horizon < 1:
        raise InputError(f"the forecast horizon must be at least 1 period, got {horizon}")
    t = forecast_times(series, horizon)
    return forecast_at(fit, series, t, n_draws=n_draws, seed=seed)


def forecast_at(fit: FitResult, series: GrowthSeries, t: np.ndarray, n_draws: int = N_DRAWS, seed: int = 0) -> Forecast:
    """:func:`forecast` at given times ``t`` (> the snapshot).

    The point forecast is the median of the same predictive draws the bands are quantiles of,
    so it always lies within its own 50% band (NaN where the fit is not identifiable).
    """
    nan = np.full(t.shape, np.nan)
    n_T, T = float(series.count[-1]), series.observed_until
    if not np.all(np.isfinite(fit.params)):
        return Forecast(
            t=t,
            point=nan,
            lo=nan.copy(),
            hi=nan.copy(),
            lower_bound=n_T,
            note=fit.reasons[0] if fit.reasons else "not fitted",
        )
    rng = np.random.default_rng(seed)
    if fit.method == "lsq":
        draws = fit.draws
        if draws is not None and draws.shape[0]:
            draws = draws[rng.integers(0, draws.shape[0], n_draws)]
    else:
        draws = posterior_draws(fit, series, n_draws, rng)
    notes = [] if fit.identifiable else ["not identifiable: no point forecast, only the band"]
    if draws is None or not len(draws):  # the arrivals' randomness alone, at the estimate
        draws = np.tile(fit.params, (n_draws, 1))
        notes.append("the band leaves out the parameters' uncertainty: it could not be estimated")
    samples = predictive_samples(draws, T, n_T, t, fit.m, fit.dispersion, rng)
    lo, lo50, median, hi50, hi = np.quantile(samples, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    return Forecast(
        t=t,
        point=median if fit.identifiable else nan,
        lo=lo,
        hi=hi,
        lo50=lo50,
        hi50=hi50,
        median=median,
        lower_bound=n_T,
        dispersion=fit.dispersion,
        note="; ".join(notes),
    )


def truncate(series: GrowthSeries, k: float) -> GrowthSeries:
    """The series as it was at the end of period ``k`` (children after it removed)."""
    events = series.events[series.events <= k]
    t, count = _cumulate(events, float(k))
    return replace(series, t=t, count=count, events=events, observed_until=float(k), notes=list(series.notes))


def point_or_median(fc: Forecast) -> np.ndarray:
    """The point forecast where there is one, else the median of the predictive distribution.

    The two are the same numbers (the point is the median); the name says what a backtest
    scores where a user is shown no point.
    """
    return np.where(np.isfinite(fc.point), fc.point, fc.median)


def backtest(series: GrowthSeries, k: int, m: float = wsb.DEFAULT_M, fitter=None) -> Backtest:
    """Fit the first ``k`` periods with ``fitter`` (default least squares) and score the rest.

    The prediction is the point forecast, or the predictive median where the fit of the first
    k periods is not identifiable (then ``identifiable`` is False). MAPE is over the held-out
    periods with a nonzero count; RMSE over all held-out periods.
    """
    if fitter is None:
        from hubscape.analytics.growth.lsq import fit_lsq as fitter
    if not 1 <= k < series.observed_until - 1:
        raise InputError(
            f"{series.model}: a backtest needs 1 <= k < {math.floor(series.observed_until)} "
            f"(the observed {series.unit}s minus one), got k={k}"
        )
    past = truncate(series, k)
    fit = fitter(past, m=m)
    held = series.t > k
    t, observed = series.t[held], series.count[held]
    predicted = point_or_median(forecast_at(fit, past, t))
    err = predicted - observed
    nz = observed > 0
    mape = float(np.mean(np.abs(err[nz]) / observed[nz])) if nz.any() else math.nan
    return Backtest(
        k=k,
        t=t,
        observed=observed,
        predicted=predicted,
        mape=mape,
        rmse=float(np.sqrt(np.mean(err**2))),
        identifiable=fit.identifiable,
    )
