"""Maximum-likelihood fit of the WSB model to the children's creation times.

WSB's growth is a reinforced Poisson process: after ``N(t)`` children, the next arrives at
rate ``lambda * f(t) * (N(t) + m)`` with ``f`` the lognormal density of ageing,
``f(t) = phi(z) / (sigma t)``, ``z = (ln t - mu) / sigma``. Its mean is exactly
c(t) = m (exp(lambda F(t)) - 1) with F = Phi(z). For event ages t_1 <= ... <= t_n observed
until T the log-likelihood is::

    l = sum_i [ln lambda + ln f(t_i) + ln(m + i - 1)] - lambda * X,
    X = integral_0^T f(t) (N(t) + m) dt = (n + m) F(T) - sum_i F(t_i)

so for fixed (mu, sigma) the MLE of lambda is closed form, ``lambda = n / X``, and with a
Gamma(shape a, rate b) prior on lambda (Shen et al., AAAI 2014) the posterior is
Gamma(a + n, b + X) with mode ``lambda = (n + a - 1) / (X + b)``. What is left is a 2-D
maximization of the profile over (mu, sigma), started from the best point of a grid.

    >>> fit = fit_mle(series, m=30, prior=(2.0, 0.5))
    >>> fit.params, fit.stderr, fit.log_likelihood
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.bounds import MIN_POINTS, parameter_bounds, start_grid
from hubscape.analytics.growth.gof import compensator, series_test
from hubscape.analytics.growth.identifiability import judge_series
from hubscape.analytics.growth.intervals import profile_interval
from hubscape.analytics.growth.likelihood import CountLikelihood, EventLikelihood
from hubscape.analytics.growth.lsq import quality, unfitted
from hubscape.analytics.growth.results import FitResult
from hubscape.analytics.growth.series import GrowthSeries
from hubscape.analytics.growth.threads import one_blas_thread
from hubscape.core.errors import InputError

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _hessian(f, x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    k = x.size
    h = 1e-4 * (1.0 + np.abs(x))
    H = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


def _prior(prior) -> tuple[tuple[float, float] | None, dict[str, Any] | None]:
    """(shape, rate) and its record from a (shape, rate) pair or a :class:`~.prior.GammaPrior`."""
    if prior is None:
        return None, None
    if hasattr(prior, "as_tuple"):
        a, b = prior.as_tuple()
        record = prior.summary()
    else:
        a, b = (float(v) for v in prior)
        record = {"shape": a, "rate": b, "source": "user"}
    if not (a > 0 and b > 0):
        raise InputError(f"the Gamma prior on lambda needs shape > 0 and rate > 0, got shape {a:g}, rate {b:g}")
    return (a, b), record


@one_blas_thread
def fit_mle(series: GrowthSeries, m: float = wsb.DEFAULT_M, prior=None, intervals: bool = True) -> FitResult:
    """Maximum-likelihood (or, with ``prior``, MAP) WSB fit of the event ages.

    ``prior`` is a Gamma prior on lambda: ``(shape, rate)`` or a :class:`~.prior.GammaPrior`
    (e.g. the empirical-Bayes one of a run). lambda is profiled out in closed form; (mu, sigma)
    are found by L-BFGS-B within the same bounds as the least-squares fit; the covariance is
    the inverse observed information. ``fitted`` and R^2 are of the compensator (the count the
    fitted process expects given this path's history, :mod:`.gof`), and ``gof`` is its
    time-rescaling test. ``intervals`` adds the 90% profile-likelihood (with a prior:
    profile-posterior) interval of lambda, widened by the dispersion of the counts.
    """
    prior, prior_record = _prior(prior)
    if series.n_events < MIN_POINTS:
        return judge_series(
            unfitted(
                series,
                "mle",
                m,
                f"not fitted: {series.n_events} dated {'child' if series.n_events == 1 else 'children'}; "
                f"a 3-parameter fit needs at least {MIN_POINTS}",
            ),
            series,
        )
    like = EventLikelihood(series.events, series.observed_until, m, prior)
    bounds = parameter_bounds(series.observed_until)
    lam_lo, lam_hi = bounds[2]

    def lam_at(mu: float, sigma: float) -> float:
        return float(np.clip(like.best_lambda(mu, sigma), lam_lo, lam_hi))

    def neg_profile(x: np.ndarray) -> float:
        mu, sigma = x
        value = like.log_posterior(mu, sigma, lam_at(mu, sigma))
        return -value if np.isfinite(value) else 1e300

    grid = start_grid(series.observed_until)
    start = grid[int(np.argmin([neg_profile(g) for g in grid]))]
    opt = minimize(neg_profile, start, method="L-BFGS-B", bounds=bounds[:2])
    mu, sigma = opt.x
    lam = lam_at(mu, sigma)
    params = np.array([mu, sigma, lam])

    cov = np.full((3, 3), np.nan)
    H = _hessian(lambda x: like.log_posterior(*x), params)
    if np.all(np.isfinite(H)):
        try:
            inv = np.linalg.inv(-H)
            if np.all(np.diag(inv) > 0):
                cov = inv
        except np.linalg.LinAlgError:
            pass
    # the curve to compare with the counts: the count expected given this path's own history
    fitted = compensator(series.t, series.events, params, m)
    q = quality(series.t, series.count, fitted)
    ll = like.log_likelihood(*params)
    n = like.n
    fit = FitResult(
        method="mle",
        m=m,
        params=params,
        cov=cov,
        fitted=fitted,
        r2=q["r2"],
        rmse=q["rmse"],
        aic=2 * 3 - 2 * ll,
        bic=3 * math.log(n) - 2 * ll,
        log_likelihood=ll,
        success=bool(opt.success),
        c_inf_lower_bound=float(series.count[-1]),
        prior=prior_record,
        message=str(opt.message),
        dispersion=CountLikelihood(series.t, series.count, m).dispersion(params),
        gof=series_test(series, params, m),
        fitted_curve="compensator",
    )
    if intervals:
        se_log = fit.stderr[2] / lam if np.isfinite(fit.stderr[2]) else math.nan
        step = min(max(1.2 * 1.645 * se_log, 0.02), 1.0) if np.isfinite(se_log) else 0.05
        fit.lam_interval = profile_interval(like, params, bounds, dispersion=fit.dispersion, step=step)
        kind = "profile likelihood" if prior is None else "profile posterior (Gamma prior)"
        fit.interval_method = (
            kind if fit.dispersion <= 1.0 else f"{kind}, scaled by the dispersion {fit.dispersion:.2g}"
        )
    return judge_series(fit, series)
