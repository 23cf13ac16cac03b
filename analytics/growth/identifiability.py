"""Is a WSB fit identifiable? One verdict, from one function, for every entry point.

Before the inflection of the curve a larger fitness lambda with a later ageing time mu fits
the data just as well, so lambda, mu and the saturation count c_inf = m(e^lambda - 1) are not
bounded by the data. :func:`judge` is the only place that decides it; ``fit_lsq``,
``fit_mle``, the batch fitter, ``analyze``, the CLI and the server all go through it, so a
series gets the same verdict wherever it is fitted. It records every reason found on the
FitResult (``identifiable`` is True only when there is none):

- from the fit: no fit at all (too few points or children), an optimizer that did not
  converge, an estimate on (or within 0.1% of) a bound of the parameter box;
- from the data alone, whatever the fit's curvature says: fewer than ``MIN_EVENTS`` dated
  children (a 3-parameter curve through a handful of events fits them exactly, with
  spuriously tiny standard errors), or a listing truncated by a page cap (the curve flattens
  at the cap, not at saturation);
- a flat profile: under the exact likelihood of the cumulative counts
  (:class:`~.likelihood.CountLikelihood`, the same for every estimator), fixing c_inf at
  twice its best value and refitting mu and sigma costs less than the 90% chi-square(1)
  quantile, i.e. the data cannot tell c_inf from 2 c_inf.

The last test is why least squares no longer calls early curves identifiable: its own
residual-variance test treats the cumulative counts as independent, and they are not (on 20
synthetic paths observed before the inflection, the old least-squares check passed 7; this
one passes 1).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from hubscape.analytics.growth.results import PARAM_NAMES, FitResult

#: 90% quantile of chi-square with one degree of freedom.
CHI2_90 = 2.705543454095404
#: Factor on c_inf used for the profile check.
PROFILE_FACTOR = 2.0
#: Fewest dated children for which a saturation level is reported (Poisson noise on the
#: count alone is ~1/sqrt(n): 22% at 20).
MIN_EVENTS = 20


def at_bound(values: np.ndarray, bounds: np.ndarray, rtol: float = 1e-3) -> list[str]:
    """Reasons naming each parameter that sits on (within rtol of the width of) a bound."""
    reasons = []
    for name, v, (lo, hi) in zip(PARAM_NAMES, values, bounds, strict=True):
        tol = rtol * (hi - lo)
        if v <= lo + tol:
            reasons.append(f"{name} at its lower bound {lo:g}")
        elif v >= hi - tol:
            reasons.append(f"{name} at its upper bound {hi:g}")
    return reasons


def data_reasons(n_events: int, truncated: bool) -> list[str]:
    """Reasons, from the data alone, why no fit of this series can identify c_inf."""
    reasons = []
    if n_events < MIN_EVENTS:
        reasons.append(
            f"only {n_events} dated children: too few to tell saturation from counting noise "
            f"(needs at least {MIN_EVENTS})"
        )
    if truncated:
        reasons.append("the listing looks truncated by a page cap: the curve may flatten at the cap, not at saturation")
    return reasons


def count_profile(
    t: np.ndarray, count: np.ndarray, m: float, observed_until: float, start=None
) -> tuple[np.ndarray, float]:
    """(best parameters, chi-square change at PROFILE_FACTOR x c_inf) under the count likelihood.

    The change is 0 when the doubled c_inf lies beyond the lambda bound (nothing rules it out).
    ``start`` (a fit's parameters) is tried besides the best point of the starting grid.
    """
    from hubscape.analytics.growth import model as wsb
    from hubscape.analytics.growth.bounds import parameter_bounds, start_grid
    from hubscape.analytics.growth.likelihood import CountLikelihood

    like = CountLikelihood(t, count, m)
    bounds = parameter_bounds(observed_until)
    grid = start_grid(observed_until)
    lam0 = np.clip(wsb.lambda_through(count[-1], t[-1], grid[:, 0], grid[:, 1], m), *bounds[2])
    ll = like.log_likelihood(grid[:, 0], grid[:, 1], lam0)
    k = int(np.argmax(ll))
    starts = [np.array([grid[k, 0], grid[k, 1], lam0[k]])]
    if start is not None and np.all(np.isfinite(start)):
        starts.append(np.clip(np.asarray(start, dtype=float), bounds[:, 0], bounds[:, 1]))

    def neg(x):
        value = like.log_likelihood(*x)
        return -value if np.isfinite(value) else 1e300

    with np.errstate(invalid="ignore", over="ignore"):
        best = min((minimize(neg, x, method="L-BFGS-B", bounds=bounds) for x in starts), key=lambda r: r.fun)
        lam2 = math.log1p(PROFILE_FACTOR * math.expm1(best.x[2]))
        if lam2 >= bounds[2][1]:
            return best.x, 0.0
        fixed = minimize(lambda x: neg((x[0], x[1], lam2)), best.x[:2], method="L-BFGS-B", bounds=bounds[:2])
    return best.x, max(2.0 * float(fixed.fun - best.fun), 0.0)


def judge(
    fit: FitResult,
    t: np.ndarray,
    count: np.ndarray,
    observed_until: float,
    n_events: int,
    truncated: bool = False,
) -> FitResult:
    """Fill ``fit.identifiable`` and ``fit.reasons`` from the fit and its data; returns ``fit``.

    ``t`` and ``count`` are the cumulative series the fit was made on, ``n_events`` its dated
    children and ``truncated`` whether the listing hit a page cap. Reasons already on an
    unfitted result (why it was not fitted) are kept first.
    """
    from hubscape.analytics.growth.bounds import parameter_bounds

    reasons: list[str] = []
    fitted = bool(np.all(np.isfinite(fit.params)))
    if not fitted:
        reasons += fit.reasons or ["not fitted"]
    else:
        if not fit.success:
            reasons.append(f"the optimizer did not converge ({fit.message})")
        reasons += at_bound(fit.params, parameter_bounds(observed_until))
    reasons += [r for r in data_reasons(n_events, truncated) if r not in reasons]
    if fitted and not reasons:
        _, delta = count_profile(
            np.asarray(t, float), np.asarray(count, float), fit.m, observed_until, start=fit.params
        )
        if delta < CHI2_90:
            reasons.append(
                f"flat profile: c_inf = {PROFILE_FACTOR:g} x its best value fits the counts almost as well "
                f"(chi2 change {delta:.2f} < {CHI2_90:.2f}); the curve has not begun to saturate"
            )
    fit.reasons = reasons
    fit.identifiable = not reasons
    return fit


def judge_series(fit: FitResult, series) -> FitResult:
    """:func:`judge` with the data of a GrowthSeries."""
    return judge(fit, series.t, series.count, series.observed_until, series.n_events, series.truncated)
