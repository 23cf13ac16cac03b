"""Confidence intervals of lambda (and so of c_inf = m(e^lambda - 1)) whose coverage is measured.

- Maximum likelihood (and MAP with a Gamma prior): the profile-likelihood interval, the
  lambdas whose profile (mu and sigma refitted) is within chi2_1(level) / 2 of the best, scaled
  by the dispersion for data burstier than the process (a quasi-likelihood interval).
- Least squares: a parametric bootstrap of the reinforced Poisson process: paths simulated from
  the fitted process (:func:`model.simulate_counts`) are refitted all at once by the batch
  fitter, and the interval is the central ``level`` of their lambdas. lmfit's own standard
  errors treat the residuals of a cumulative curve as independent and are far too small (see
  docs/growth.md for the coverage of each).

An upper end that reaches the lambda bound is reported as infinite: the data do not bound
the saturation count.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import ndtri

#: Confidence level of every reported interval.
LEVEL = 0.9


def profile_interval(
    like, params: np.ndarray, bounds: np.ndarray, level: float = LEVEL, dispersion: float = 1.0, step: float = 0.05
) -> tuple[float, float]:
    """(lo, hi) of lambda where 2 (best - profile(lambda)) / dispersion <= chi2_1(level).

    ``like`` is an :class:`~.likelihood.EventLikelihood` (its prior, if any, included: then the
    interval is of the posterior) maximized at ``params``; hi is inf when the profile stays
    within the threshold up to the lambda bound. ``step`` (in ln lambda) is the first try on
    each side, doubled until the profile crosses; a standard error of ln lambda makes a good one.
    """
    crit = float(ndtri(0.5 + level / 2.0)) ** 2 * max(float(dispersion), 1.0)  # chi2_1 quantile
    best = float(like.log_posterior(*params))
    warm = [np.asarray(params[:2], dtype=float)]

    def profile(lam: float) -> float:
        def neg(x):
            value, grad = like.value_and_grad(x[0], x[1], lam)
            return (-value, -grad) if np.isfinite(value) else (1e300, np.zeros(2))

        res = minimize(neg, warm[0], jac=True, method="L-BFGS-B", bounds=bounds[:2])
        warm[0] = res.x
        return -float(res.fun) + float(like.log_prior(lam))

    def excess(log_lam: float) -> float:
        return 2.0 * (best - profile(math.exp(log_lam))) - crit

    ends = []
    for direction, edge in ((-1.0, math.log(bounds[2][0])), (1.0, math.log(bounds[2][1]))):
        warm[0] = np.asarray(params[:2], dtype=float)
        inner, step_k, found = math.log(params[2]), step, None
        while found is None:
            outer = inner + direction * step_k
            at_edge = (outer <= edge) if direction < 0 else (outer >= edge)
            outer = edge if at_edge else outer
            if excess(outer) > 0:
                found = brentq(excess, min(inner, outer), max(inner, outer), xtol=1e-3)
            elif at_edge:
                break
            else:
                inner, step_k = outer, step_k * 2.0
        if found is None:
            ends.append(bounds[2][0] if direction < 0 else math.inf)
        else:
            ends.append(math.exp(found))
    return ends[0], ends[1]


def bootstrap_interval(lams: np.ndarray, level: float = LEVEL, upper_bound: float = math.inf) -> tuple[float, float]:
    """The central ``level`` of bootstrap refits' lambdas; hi is inf if it reaches the bound."""
    lams = np.asarray(lams, dtype=float)
    lams = lams[np.isfinite(lams)]
    if lams.size < 20:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(lams, [tail, 1.0 - tail])
    return float(lo), (math.inf if hi >= upper_bound * (1 - 1e-3) else float(hi))
