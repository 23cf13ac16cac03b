"""Anomalies in growth: periods with abrupt jumps, and series the WSB process fits poorly.

A jump is judged on the new children per period (the increments of the cumulative count)
against their neighbours, robustly: the median and MAD of the increments within
``window`` periods on either side (the period itself left out). A period is anomalous when
its increment exceeds that median by ``threshold`` robust standard deviations, where the
deviation is at least the Poisson scale sqrt(median) + 1 (so a quiet series does not flag a
single extra child), and by at least ``min_jump`` children. A surge of fine-tunes after a
popular derivative or a Hub feature shows up this way; so does a crawl artefact.

    >>> jump_periods(series)          # Llama-2-7b-chat-hf, monthly: 298 -> 408 in month 19
    [19]
"""

from __future__ import annotations

import numpy as np

from hubscape.analytics.growth.results import FitResult
from hubscape.analytics.growth.series import GrowthSeries

#: A fit without a goodness-of-fit test (e.g. read from an old bundle) is poor below this R^2.
POOR_FIT_R2 = 0.9


def increments(series: GrowthSeries) -> np.ndarray:
    """New children in each period of the series (the first is the count at t[0])."""
    return np.diff(series.count, prepend=0.0)


def jump_periods(series: GrowthSeries, window: int = 3, threshold: float = 5.0, min_jump: float = 10.0) -> list[int]:
    """1-based periods whose increment is an abrupt jump over its neighbours'."""
    d = increments(series)
    n = d.size
    periods = series.periods
    out = []
    for k in range(1, n):  # the first period has no history to jump from
        neighbours = np.concatenate([d[max(0, k - window) : k], d[k + 1 : k + 1 + window]])
        if neighbours.size < 2:
            continue
        med = float(np.median(neighbours))
        mad = float(np.median(np.abs(neighbours - med)))
        scale = max(1.4826 * mad, np.sqrt(max(med, 0.0)) + 1.0)
        if d[k] - med >= max(threshold * scale, min_jump):
            out.append(int(periods[k]))
    return out


def is_poor_fit(fit: FitResult, min_r2: float = POOR_FIT_R2) -> bool:
    """True if the fitted process fails its time-rescaling test (:mod:`.gof`, at GOF_LEVEL).

    Not R^2 of the mean curve: with reinforcement one path can sit far from c(t) and still be
    a typical path of the process (docs/growth.md). Only a fit without a test falls back to
    R^2 < ``min_r2``.
    """
    if fit.gof is not None and np.isfinite(fit.gof.p_value):
        return fit.gof.rejects
    return bool(fit.gof is None and np.isfinite(fit.r2) and fit.r2 < min_r2)
