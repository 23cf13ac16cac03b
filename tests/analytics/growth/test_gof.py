"""Goodness of fit by time rescaling: the compensator, the p-value, rejection rates in simulation.

The numbers behind docs/growth.md ("Goodness of fit") come from bench/growth_study.py gof;
these are smaller, seeded versions of them.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import kstest

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.anomalies import is_poor_fit
from hubscape.analytics.growth.gof import (
    STEPHENS_LEVELS,
    STEPHENS_POINTS,
    compensator,
    ks_uniform,
    p_value,
    rescaled_gaps,
    time_rescaling,
)
from hubscape.analytics.growth.mle import fit_mle
from hubscape.analytics.growth.series import series_from_events
from hubscape.analytics.growth.sources import load_series


def test_compensator_is_the_integral_of_the_intensity():
    """A(t) against quad of lambda f(u) (N(u-) + m) between the events (an independent reference)."""
    params, m = (1.2, 0.7, 2.5), 30.0
    events = wsb.simulate_events(*params, m=m, until=10.0, rng=3)
    mu, sigma, lam = params

    def intensity(u, n):
        return lam * math.exp(-0.5 * ((math.log(u) - mu) / sigma) ** 2) / (sigma * u * math.sqrt(2 * math.pi)) * (n + m)

    t = np.array([0.5, 2.0, 3.3, 7.0, 10.0])
    edges = np.concatenate([[1e-12], events])
    expected = []
    for ti in t:
        total = 0.0
        for k in range(edges.size):
            lo, hi = edges[k], min(edges[k + 1] if k + 1 < edges.size else math.inf, ti)
            if hi > lo:
                total += quad(intensity, lo, hi, args=(k,), epsabs=1e-12)[0]
        expected.append(total)
    np.testing.assert_allclose(compensator(t, events, params, m), expected, rtol=1e-7)
    # its increments between events are the rescaled gaps
    gaps = rescaled_gaps(events, params, m)
    np.testing.assert_allclose(np.cumsum(gaps), compensator(events, events, params, m), rtol=1e-10)


def test_the_mle_compensator_ends_at_the_count():
    """lambda = n / X makes A(T) = n: the fitted curve ends where the path does."""
    s = series_from_events("sim", wsb.simulate_events(1.5, 0.7, 3.0, until=20.0, rng=1), 20.0)
    fit = fit_mle(s, intervals=False)
    assert fit.fitted_curve == "compensator"
    assert fit.fitted[-1] == pytest.approx(s.count[-1], rel=1e-6)
    np.testing.assert_allclose(fit.fitted, compensator(s.t, s.events, fit.params, 30.0))


def test_ks_distance_is_scipys():
    rng = np.random.default_rng(4)
    for n in (5, 17, 300):
        z = rng.uniform(size=n) ** 1.3
        assert ks_uniform(z) == pytest.approx(kstest(z, "uniform").statistic, rel=1e-12)


def test_p_value_follows_stephens_table_and_lilliefors_simulation():
    for level, point in zip(STEPHENS_LEVELS, STEPHENS_POINTS, strict=True):
        n = 400
        d = point / (math.sqrt(n) + 0.26 + 0.5 / math.sqrt(n)) + 0.2 / n
        assert p_value(d, n) == pytest.approx(level, rel=1e-9)
    # exponential samples with a fitted scale (Lilliefors' case), n = 30: 5% rejected at 5%
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(20000, 30))
    x /= x.mean(axis=1, keepdims=True)
    z = np.sort(-np.expm1(-x), axis=1)
    i = np.arange(1, 31)
    d = np.maximum((i / 30 - z).max(axis=1), (z - (i - 1) / 30).max(axis=1))
    rejected = np.mean([p_value(v, 30) < 0.05 for v in d])
    assert 0.04 <= rejected <= 0.06, rejected


def _two_waves(seed):
    rng = np.random.default_rng(seed)
    first = wsb.simulate_events(0.5, 0.5, 2.0, until=36.0, rng=rng)
    second = 12.0 + wsb.simulate_events(0.5, 0.5, 2.0, until=24.0, rng=rng)
    return np.sort(np.concatenate([first, second]))


def _batched(seed, mean_batch=2.0):
    """WSB arrivals, each a batch of Geometric(1/mean) children within the same hour."""
    rng = np.random.default_rng(seed)
    starts = wsb.simulate_events(1.5, 0.7, 2.0, until=36.0, rng=rng)
    sizes = rng.geometric(1 / mean_batch, starts.size)
    return np.sort(np.repeat(starts, sizes) + rng.uniform(0, 1 / (24 * 30.44), sizes.sum()))


def test_true_paths_pass_at_the_nominal_rate_and_misspecified_ones_fail():
    """120 paths of a small tree (truth D of the studies, 24 months): 5% rejected +- noise."""
    rejected = []
    for seed in range(120):
        s = series_from_events("sim", wsb.simulate_events(1.0, 0.5, 1.0, until=24.0, rng=seed), 24.0)
        fit = fit_mle(s, intervals=False)
        rejected.append(is_poor_fit(fit))
    assert 0.01 <= np.mean(rejected) <= 0.10, np.mean(rejected)  # bench: 4.0-7.2% per truth (250 paths each)
    for make in (_two_waves, _batched):
        for seed in range(5):
            s = series_from_events("bad", make(seed), 36.0)
            fit = fit_mle(s, intervals=False)
            assert fit.gof.rejects and is_poor_fit(fit), (make.__name__, seed, fit.gof)
            if make is _batched:  # batches show as far too many short rescaled gaps
                assert fit.gof.short_fraction > 0.25 and fit.r2 > 0.99


def test_real_curves_follow_their_counts_but_not_the_process(children_csv):
    """phi-2 and SD-2.1: the fitted curve tracks the counts; their arrivals come in batches."""
    series = {s.model: s for s in load_series(children_csv)}
    for name in ("microsoft/phi-2", "stabilityai/stable-diffusion-2-1"):
        fit = fit_mle(series[name], intervals=False)
        assert fit.r2 >= 0.9  # the mean curve c(t) gave phi-2 0.02
        assert fit.gof.rejects and fit.gof.short_fraction > 0.25 and fit.gof.n == series[name].n_events
    v3 = fit_mle(series["deepseek-ai/DeepSeek-V3"], intervals=False)
    assert not v3.gof.rejects and v3.gof.p_value > 0.5  # single arrivals: the process fits


def test_placeholder_ages_are_left_out_of_the_test():
    events = np.concatenate([[0.5, 0.5, 0.5], wsb.simulate_events(1.0, 0.6, 1.5, until=12.0, rng=2)])
    events.sort()
    params = (1.0, 0.6, 1.5)
    kept = time_rescaling(events, params, 30.0, placeholder=0.5)
    assert kept.n == events.size - 4  # the three placeholders and the gap after the last one
    assert time_rescaling(events, params, 30.0).n == events.size
    assert math.isnan(time_rescaling(events[:3], params, 30.0).p_value)  # too few gaps: no test
