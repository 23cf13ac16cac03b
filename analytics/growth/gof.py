"""Goodness of fit of a WSB process to the arrivals it was fitted to: the time-rescaling test.

The time-rescaling theorem (Brown, Barbieri, Ventura, Kass & Frank, *The time-rescaling theorem
and its application to neural spike train data analysis*, Neural Computation 14, 2002; Ogata's
residual analysis, JASA 1988): a point process with conditional intensity lambda(t | H_t) becomes
a unit-rate Poisson process in the time given by its compensator
A(t) = integral_0^t lambda(u | H_u) du. So the rescaled gaps tau_k = A(t_k) - A(t_(k-1)) of the
fitted process are independent Exp(1) if the model is right, z_k = 1 - exp(-tau_k) is uniform,
and the Kolmogorov-Smirnov distance of the z_k from U(0, 1) is the test (Brown et al.'s KS plot).

The parameters are fitted to the same arrivals, and that makes the plain KS p-value far too
large (in simulation from the true process it rejected 0-1.5% at a nominal 5%). The fit sets
the scale of the rescaled gaps (the MLE makes A(T) = n), which is Lilliefors' case of an
exponential sample with an estimated mean; so the p-value is that of Stephens' modified
statistic D* = (D - 0.2/n)(sqrt(n) + 0.26 + 0.5/sqrt(n)) under his percentage points for that
case (M. A. Stephens, *EDF statistics for goodness of fit and some comparisons*, JASA 69, 1974),
interpolated with ln p linear in D*^2 (extrapolated the same way beyond 15% and 1%: at the
50% and 0.1% points of 100,000 simulated samples of n = 30 and 200 it gives 0.52-0.55 and
0.0011-0.0013). From the true process with fitted
parameters the test rejected 4.0-7.2% at 5% (250 paths of each of 4 truths; docs/growth.md).

WSB's intensity is lambda f(t) (N(t-) + m), so in the operational time s = lambda F(t)::

    A(t) = (N(t) + m) s(t) - sum_(t_i <= t) s(t_i),    tau_k = (m + k - 1) (s(t_k) - s(t_(k-1)))

A(t) is also what the model says about *this* path: N(t) - A(t) is a martingale (mean 0,
variance E A(t)), so A is the count the fitted process expects given the path's own history.
The mean curve c(t) = E[A(t)] averages over every path the process could have taken; with
reinforcement one path can sit far from it (phi-2's month-5 burst), which is why an mle fit's
``fitted`` curve and R^2 are of A, not of c (see docs/growth.md).

    >>> gof = time_rescaling(series.events, fit.params, m=30)
    >>> gof.p_value, gof.rejects
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hubscape.analytics.growth.model import operational_time
from hubscape.analytics.growth.series import placeholder_age

#: A fit whose time-rescaling test rejects at this level is flagged as a poor fit.
GOF_LEVEL = 0.05
#: Fewest rescaled gaps for which a test is reported.
MIN_GAPS = 5
#: Stephens (1974), exponential with estimated scale: upper-tail levels of D* and their points.
STEPHENS_LEVELS = (0.15, 0.10, 0.05, 0.025, 0.01)
STEPHENS_POINTS = (0.926, 0.990, 1.094, 1.190, 1.308)
#: A rescaled gap below this (the 5% quantile of Exp(1)) is "short"; 5% of them are, under the model.
SHORT_GAP = -math.log(0.95)


@dataclass(frozen=True)
class TimeRescaling:
    """The KS test of the rescaled gaps (Brown et al. 2002) of one fitted process."""

    statistic: float
    """KS distance of z = 1 - exp(-tau) from U(0, 1)."""
    p_value: float
    n: int
    """Rescaled gaps tested."""
    short_fraction: float = math.nan
    """Fraction of the gaps below SHORT_GAP (0.05 under the model): far more means arrivals in batches."""

    @property
    def rejects(self) -> bool:
        """True when the test rejects the fitted process at GOF_LEVEL."""
        return bool(math.isfinite(self.p_value) and self.p_value < GOF_LEVEL)

    def summary(self) -> dict[str, Any]:
        return {
            "test": "time-rescaling KS",
            "statistic": self.statistic,
            "p_value": self.p_value,
            "n": self.n,
            "short_fraction": self.short_fraction,
            "level": GOF_LEVEL,
            "rejects": self.rejects,
        }

    @classmethod
    def from_summary(cls, d: dict[str, Any] | None) -> TimeRescaling | None:
        if not d:
            return None
        nan = math.nan
        return cls(
            statistic=nan if d.get("statistic") is None else float(d["statistic"]),
            p_value=nan if d.get("p_value") is None else float(d["p_value"]),
            n=int(d.get("n") or 0),
            short_fraction=nan if d.get("short_fraction") is None else float(d["short_fraction"]),
        )


def compensator(t, events: np.ndarray, params, m: float) -> np.ndarray:
    """A(t) of the fitted process along the observed events: the conditional expected count."""
    t = np.asarray(t, dtype=float)
    events = np.sort(np.asarray(events, dtype=float))
    s_t = operational_time(t, *params)
    s_events = np.concatenate([[0.0], np.cumsum(operational_time(events, *params))])
    n = np.searchsorted(events, t, side="right")
    return (n + m) * s_t - s_events[n]


def rescaled_gaps(events: np.ndarray, params, m: float, placeholder: float | None = None) -> np.ndarray:
    """tau_k = (m + k - 1)(s(t_k) - s(t_(k-1))): Exp(1) and independent under the fitted process.

    Gaps that start or end at ``placeholder`` (the age given to children dated before the
    release, see :mod:`.series`: not a real arrival time) are left out.
    """
    events = np.sort(np.asarray(events, dtype=float))
    s = operational_time(events, *params)
    tau = (m + np.arange(events.size)) * np.diff(s, prepend=0.0)
    if placeholder is not None:
        fake = events == placeholder
        tau = tau[~(fake | np.concatenate([[False], fake[:-1]]))]
    return tau


def p_value(statistic: float, n: int) -> float:
    """P(D >= statistic) for the KS distance of n gaps whose scale was fitted (see the module doc)."""
    x = (statistic - 0.2 / n) * (math.sqrt(n) + 0.26 + 0.5 / math.sqrt(n))
    x2 = np.square(STEPHENS_POINTS)
    log_p = np.log(STEPHENS_LEVELS)
    k = 0 if x * x < x2[1] else (len(x2) - 2 if x * x > x2[-2] else int(np.searchsorted(x2, x * x)) - 1)
    slope = (log_p[k + 1] - log_p[k]) / (x2[k + 1] - x2[k])
    return float(min(1.0, math.exp(log_p[k] + slope * (x * x - x2[k]))))


def ks_uniform(z: np.ndarray) -> float:
    """The Kolmogorov-Smirnov distance of a sample from U(0, 1) (as scipy.stats.kstest computes it).

    Written out (two lines) so that a fit does not import scipy.stats, a second or two per process.
    """
    z = np.sort(z)
    i = np.arange(1, z.size + 1)
    return float(max(np.max(i / z.size - z), np.max(z - (i - 1) / z.size)))


def time_rescaling(events: np.ndarray, params, m: float, placeholder: float | None = None) -> TimeRescaling:
    """The time-rescaling KS test of the fitted process on ``events`` (NaN below MIN_GAPS gaps)."""
    if not np.all(np.isfinite(params)):
        return TimeRescaling(math.nan, math.nan, 0)
    tau = rescaled_gaps(events, params, m, placeholder)
    tau = tau[np.isfinite(tau)]
    if tau.size < MIN_GAPS:
        return TimeRescaling(math.nan, math.nan, int(tau.size))
    d = ks_uniform(-np.expm1(-tau))
    return TimeRescaling(d, p_value(d, tau.size), int(tau.size), float(np.mean(tau < SHORT_GAP)))


def series_test(series, params, m: float) -> TimeRescaling:
    """:func:`time_rescaling` on a GrowthSeries (its pre-release placeholders left out)."""
    placeholder = placeholder_age(series.observed_until) if series.n_before_release else None
    return time_rescaling(series.events, params, m, placeholder)
