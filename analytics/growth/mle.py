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

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, ndtr

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.identifiability import assess
from hubscape.analytics.growth.lsq import MIN_POINTS, parameter_bounds, quality, start_grid, unfitted
from hubscape.analytics.growth.results import FitResult
from hubscape.analytics.growth.series import GrowthSeries
from hubscape.core.errors import InputError

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class EventLikelihood:
    """The log-likelihood of event ages under the WSB process, and its closed-form lambda."""

    def __init__(self, events: np.ndarray, observed_until: float, m: float, prior: tuple[float, float] | None = None):
        self.events = np.sort(np.asarray(events, dtype=float))
        self.log_t = np.log(self.events)
        self.n = self.events.size
        self.T = float(observed_until)
        self.m = float(m)
        self.prior = prior
        # sum_i ln(m + i - 1), i = 1..n: the reinforcement term, free of parameters
        self.reinforcement = float(gammaln(self.m + self.n) - gammaln(self.m))

    def exposure(self, mu: float, sigma: float) -> float:
        """X(mu, sigma) = (n + m) F(T) - sum_i F(t_i)."""
        F_T = ndtr((math.log(self.T) - mu) / sigma)
        return (self.n + self.m) * F_T - float(np.sum(ndtr((self.log_t - mu) / sigma)))

    def best_lambda(self, mu: float, sigma: float) -> float:
        """The lambda maximizing the likelihood (or the posterior, with a prior) at (mu, sigma)."""
        X = self.exposure(mu, sigma)
        if self.prior is None:
            return self.n / X if X > 0 else math.inf
        a, b = self.prior
        return max(self.n + a - 1.0, 0.0) / (X + b)

    def log_likelihood(self, mu: float, sigma: float, lam: float) -> float:
        """l(mu, sigma, lambda) (without the prior)."""
        if not (lam > 0 and sigma > 0):
            return -math.inf
        z = (self.log_t - mu) / sigma
        log_f = -0.5 * z * z - _LOG_SQRT_2PI - math.log(sigma) - self.log_t
        return self.n * math.log(lam) + float(np.sum(log_f)) + self.reinforcement - lam * self.exposure(mu, sigma)

    def log_posterior(self, mu: float, sigma: float, lam: float) -> float:
        """l plus the log density of the Gamma prior on lambda (l itself without a prior)."""
        out = self.log_likelihood(mu, sigma, lam)
        if self.prior is not None and lam > 0:
            a, b = self.prior
            out += a * math.log(b) - gammaln(a) + (a - 1.0) * math.log(lam) - b * lam
        return out


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


def fit_mle(
    series: GrowthSeries, m: float = wsb.DEFAULT_M, prior: tuple[float, float] | None = None, profile: bool = True
) -> FitResult:
    """Maximum-likelihood (or, with ``prior=(shape, rate)``, MAP) WSB fit of the event ages.

    lambda is profiled out in closed form; (mu, sigma) are found by L-BFGS-B within the same
    bounds as the least-squares fit; the covariance is the inverse observed information.
    """
    if prior is not None:
        a, b = prior
        if not (a > 0 and b > 0):
            raise InputError(f"the Gamma prior on lambda needs shape > 0 and rate > 0, got shape {a:g}, rate {b:g}")
    if series.n_events < MIN_POINTS:
        return unfitted(
            series,
            "mle",
            m,
            f"not fitted: {series.n_events} dated children; a 3-parameter fit needs at least {MIN_POINTS}",
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
    fitted = wsb.cumulative(series.t, *params, m=m)
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
        prior=None if prior is None else {"shape": float(prior[0]), "rate": float(prior[1])},
        message=str(opt.message),
    )

    profile_fn = None
    if profile:

        def profile_fn(lam_fixed: float) -> float:
            res = minimize(
                lambda x: -like.log_posterior(x[0], x[1], lam_fixed), params[:2], method="L-BFGS-B", bounds=bounds[:2]
            )
            return 2.0 * float(res.fun)

    assess(fit, bounds, profile=profile_fn, best_objective=-2.0 * like.log_posterior(*params), objective_scale=1.0)
    return fit
