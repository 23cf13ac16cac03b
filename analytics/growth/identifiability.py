"""Is a WSB fit identifiable? Curves that have not begun to saturate are not.

Before the inflection of the curve, a larger fitness lambda with a later ageing time mu fits
the data just as well, so lambda, mu and the saturation count c_inf = m(e^lambda - 1) are not
bounded by the data. :func:`assess` looks for that from four sides and records every reason
found on the FitResult (``identifiable`` is True only when none is found):

- an estimate on (or within 0.1% of) a bound: the optimum lies outside the allowed box;
- standard errors that cannot be estimated, or a relative standard error of lambda above
  ``MAX_REL_STDERR_LAMBDA`` or of exp(mu) above a factor ``e**MAX_STDERR_MU``;
- a correlation |corr(mu, lambda)| above ``MAX_CORR``;
- a flat profile: fixing c_inf at twice its estimate (and refitting the rest) worsens the
  fit by less than the 90% chi-square(1) quantile, i.e. the data cannot tell c_inf from 2 c_inf.

:func:`data_reasons` adds what the data itself rules out, whatever the fit's curvature says:
a listing truncated by a page cap (the curve flattens at the cap, not at saturation) and too
few dated children to tell saturation from counting noise (a 3-parameter curve through a
handful of events fits them exactly, with spuriously tiny standard errors).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from hubscape.analytics.growth.results import PARAM_NAMES, FitResult

MAX_REL_STDERR_LAMBDA = 0.5
MAX_STDERR_MU = 1.0
MAX_CORR = 0.99
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
    for name, v, (lo, hi) in zip(PARAM_NAMES, values, bounds):
        tol = rtol * (hi - lo)
        if v <= lo + tol:
            reasons.append(f"{name} at its lower bound {lo:g}")
        elif v >= hi - tol:
            reasons.append(f"{name} at its upper bound {hi:g}")
    return reasons


def assess(
    fit: FitResult,
    bounds: np.ndarray,
    profile: Callable[[float], float] | None = None,
    best_objective: float = math.nan,
    objective_scale: float = 1.0,
) -> FitResult:
    """Fill ``fit.identifiable`` and ``fit.reasons``; returns ``fit``.

    ``profile(lam)`` is the optimal objective with lambda fixed (the other parameters
    refitted), on a scale where ``(profile(lam) - best_objective) / objective_scale`` is a
    chi-square(1) statistic: the residual sum of squares over the residual variance for least
    squares, minus twice the log-likelihood for maximum likelihood.
    """
    reasons: list[str] = []
    if not fit.success:
        reasons.append(f"the optimizer did not converge ({fit.message})")
    reasons += at_bound(fit.params, bounds)
    se = fit.stderr
    if not np.all(np.isfinite(se)):
        reasons.append("standard errors cannot be estimated (singular curvature)")
    else:
        if se[2] > MAX_REL_STDERR_LAMBDA * fit.lam:
            reasons.append(f"lambda uncertain: stderr {se[2]:.3g} is {se[2] / fit.lam:.0%} of {fit.lam:.3g}")
        if se[0] > MAX_STDERR_MU:
            factor = math.exp(min(se[0], 700.0))
            reasons.append(
                f"mu uncertain: stderr {se[0]:.3g} (the ageing time e^mu is unknown to a factor {factor:.3g})"
            )
        corr = fit.correlation[0, 2]
        if abs(corr) > MAX_CORR:
            reasons.append(f"mu and lambda are confounded: corr(mu, lambda) = {corr:.3f}")
    if profile is not None and np.isfinite(best_objective) and objective_scale > 0 and np.isfinite(fit.lam):
        lam2 = math.log1p(PROFILE_FACTOR * math.expm1(fit.lam))
        if lam2 < bounds[2][1]:
            delta = (profile(lam2) - best_objective) / objective_scale
            if delta < CHI2_90:
                reasons.append(
                    f"flat profile: c_inf = {PROFILE_FACTOR:g} x {fit.c_inf_estimate:.4g} fits almost "
                    f"as well (chi2 change {delta:.2f} < {CHI2_90:.2f}); the curve has not begun to saturate"
                )
    fit.reasons = reasons
    fit.identifiable = not reasons
    return fit


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


def add_data_reasons(fit: FitResult, n_events: int, truncated: bool) -> FitResult:
    """Extend ``fit.reasons`` with :func:`data_reasons` and update ``fit.identifiable``."""
    extra = [r for r in data_reasons(n_events, truncated) if r not in fit.reasons]
    fit.reasons = [*fit.reasons, *extra]
    fit.identifiable = not fit.reasons
    return fit
