"""An empirical-Bayes Gamma prior on the fitness lambda, learned from all series of a run.

Shen, Wang, Song & Barabasi (AAAI 2014) put a conjugate Gamma(a, b) prior on lambda of the
reinforced Poisson process and take the posterior mode (their RPP with prior): a series with
little data borrows strength from the population instead of running to the bound. Here
(a, b) are fitted to the run's own series by type-II maximum likelihood: with lambda
integrated out in closed form, the marginal likelihood of one series' event ages is::

    p(events | mu, sigma, a, b) = prod_i f(t_i) (m + i - 1) * b^a Gamma(a + n) / (Gamma(a) (b + X)^(a + n))

(X the exposure of :class:`~.likelihood.EventLikelihood`). Each round maximizes it over every
series' (mu, sigma) with (a, b) fixed, then over (a, b) with the exposures fixed.

    >>> prior = fit_gamma_prior(series, m=30)
    >>> prior.shape, prior.rate, prior.mean, prior.n_series
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

from hubscape.analytics.growth.bounds import parameter_bounds, start_grid
from hubscape.analytics.growth.likelihood import EventLikelihood
from hubscape.analytics.growth.threads import one_blas_thread

#: Fewest fittable series for an empirical-Bayes prior (fewer cannot tell a population).
MIN_SERIES = 5
#: Fewest dated children for a series to inform the prior.
MIN_EVENTS = 5


@dataclass(frozen=True)
class GammaPrior:
    """Gamma(shape, rate) on lambda, and where it came from."""

    shape: float
    rate: float
    source: str = "user"
    """"user" or "empirical Bayes" (fitted across the series of a run)."""
    n_series: int = 0

    @property
    def mean(self) -> float:
        return self.shape / self.rate

    def as_tuple(self) -> tuple[float, float]:
        return (self.shape, self.rate)

    def summary(self) -> dict:
        out = {"shape": self.shape, "rate": self.rate, "source": self.source}
        if self.source != "user":
            out["n_series"] = self.n_series
        return out


def _marginal(a: float, b: float, n, X):
    """ln of the lambda-marginal factor b^a Gamma(a + n) / (Gamma(a) (b + X)^(a + n))."""
    return a * math.log(b) - gammaln(a) + gammaln(a + n) - (a + n) * np.log(b + X)


@one_blas_thread
def fit_gamma_prior(series: Sequence, m: float, rounds: int = 6, min_series: int = MIN_SERIES) -> GammaPrior | None:
    """The empirical-Bayes Gamma prior of ``series`` (GrowthSeries), or None with too few.

    Series with fewer than MIN_EVENTS dated children are left out; None when fewer than
    ``min_series`` remain.
    """
    usable = [s for s in series if s.n_events >= MIN_EVENTS]
    if len(usable) < min_series:
        return None
    likes = [EventLikelihood(s.events, s.observed_until, m) for s in usable]
    bounds = [parameter_bounds(s.observed_until) for s in usable]
    grids = [start_grid(s.observed_until) for s in usable]
    n = np.array([like.n for like in likes], dtype=float)
    a, b = 1.0, 0.5
    x = [None] * len(usable)
    for _ in range(rounds):
        X = np.empty(len(usable))
        for i, (like, bnd) in enumerate(zip(likes, bounds)):

            def neg(p, like=like):
                if not p[1] > 0:
                    return 1e300, np.zeros(2)
                log_f, g_log_f, X_, g_X = like.parts(p[0], p[1])
                value = log_f + float(_marginal(a, b, like.n, X_))
                grad = g_log_f - (a + like.n) / (b + X_) * g_X
                return (-value, -grad) if np.isfinite(value) else (1e300, np.zeros(2))

            start = x[i] if x[i] is not None else grids[i][int(np.argmin([neg(g)[0] for g in grids[i]]))]
            res = minimize(neg, start, jac=True, method="L-BFGS-B", bounds=bnd[:2])
            x[i] = res.x
            X[i] = like.exposure(*res.x)

        def neg_ab(q):
            return -float(np.sum(_marginal(math.exp(q[0]), math.exp(q[1]), n, X)))

        res = minimize(
            neg_ab,
            [math.log(a), math.log(b)],
            method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 2000},
        )
        a_new, b_new = (float(v) for v in np.exp(np.clip(res.x, -20, 20)))
        done = abs(a_new - a) < 1e-4 * a and abs(b_new - b) < 1e-4 * b
        a, b = a_new, b_new
        if done:
            break
    return GammaPrior(shape=a, rate=b, source="empirical Bayes", n_series=len(usable))
