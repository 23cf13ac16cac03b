"""The WSB curve against independent values, finite differences and a numeric argmax."""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from hubscape.analytics.growth import model as wsb


def test_reference_values():
    # independent: 30 * (exp(Phi(0)) - 1) = 30 * (e^0.5 - 1)
    assert wsb.cumulative(1.0, 0.0, 1.0, 1.0, 30.0) == pytest.approx(19.46163812, abs=1e-8)
    assert 30 * (math.exp(0.5) - 1) == pytest.approx(19.46163812, abs=1e-8)
    assert wsb.c_inf(2.0, 30.0) == pytest.approx(191.671683, abs=1e-6)
    # at t = e^mu the count is m (e^(lambda/2) - 1) for any sigma
    assert wsb.cumulative(math.exp(1.3), 1.3, 0.4, 3.0, 7.0) == pytest.approx(7.0 * math.expm1(1.5), rel=1e-12)


def test_against_scipy_lognormal():
    t = np.linspace(0.1, 40, 50)
    mu, sigma, lam, m = 2.0, 0.8, 2.5, 30.0
    F = stats.lognorm(s=sigma, scale=math.exp(mu)).cdf(t)
    assert np.allclose(wsb.cumulative(t, mu, sigma, lam, m), m * (np.exp(lam * F) - 1), rtol=1e-10)


def test_rate_is_derivative_and_integrates_to_count():
    t = np.linspace(0.5, 30, 40)
    args = (1.7, 0.6, 3.2, 30.0)
    h = 1e-5
    fd = (wsb.cumulative(t + h, *args) - wsb.cumulative(t - h, *args)) / (2 * h)
    assert np.allclose(wsb.rate(t, *args), fd, rtol=1e-6)
    total, _ = integrate.quad(lambda x: float(wsb.rate(x, *args)), 0, 12.0, limit=200)
    assert total == pytest.approx(float(wsb.cumulative(12.0, *args)), rel=1e-7)


@pytest.mark.parametrize("mu,sigma,lam", [(1.5, 0.8, 3.0), (0.0, 1.0, 1.0), (2.5, 0.3, 0.2), (1.0, 2.0, 12.0)])
def test_peak_time_matches_numeric_argmax(mu, sigma, lam):
    t = np.exp(np.linspace(mu - 6 * sigma, mu + 6 * sigma, 400_001))
    numeric = t[np.argmax(wsb.rate(t, mu, sigma, lam))]
    assert wsb.peak_time(mu, sigma, lam) == pytest.approx(numeric, rel=1e-4)


def test_jacobian_matches_finite_differences():
    t = np.array([0.7, 2.0, 5.0, 20.0])
    p = np.array([1.4, 0.9, 2.6])
    J = wsb.jacobian(t, *p, m=30.0)
    for k in range(3):
        h = np.zeros(3)
        h[k] = 1e-6
        fd = (wsb.cumulative(t, *(p + h), m=30.0) - wsb.cumulative(t, *(p - h), m=30.0)) / 2e-6
        assert np.allclose(J[:, k], fd, rtol=1e-6, atol=1e-8)


def test_stable_at_zero_and_for_large_lambda():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = np.array([0.0, 1e-300, 1e-10, 1.0])
        assert wsb.cumulative(t, 1.0, 0.5, 2.0)[0] == 0.0
        assert np.all(np.isfinite(wsb.cumulative(t, 1.0, 0.5, 2.0)))
        assert wsb.rate(t, 1.0, 0.5, 2.0)[0] == 0.0
        assert np.all(wsb.rate(t[:3], 1.0, 0.5, 2.0) < 1e-100)
        assert wsb.cumulative(1e-12, 0.0, 1.0, 1.0) < 1e-40
        # lambda where m e^lambda overflows a double: log space stays finite and exact
        log_c = wsb.log_cumulative(np.array([1.0, 10.0]), 1.0, 1.0, 2000.0)
        z = (np.log([1.0, 10.0]) - 1.0) / 1.0
        assert np.allclose(log_c, math.log(30.0) + 2000.0 * stats.norm.cdf(z), rtol=1e-12)
        assert np.isfinite(wsb.log_rate(5.0, 1.0, 1.0, 2000.0))
    # tiny lambda: expm1 keeps precision where exp(x) - 1 would not
    assert wsb.cumulative(math.exp(1.0), 1.0, 1.0, 1e-12, 30.0) == pytest.approx(30.0 * 0.5e-12, rel=1e-9)


def test_lambda_through_inverts_the_curve():
    lam = wsb.lambda_through(wsb.cumulative(9.0, 2.0, 0.7, 1.9), 9.0, 2.0, 0.7)
    assert lam == pytest.approx(1.9, rel=1e-12)


def test_simulated_process_has_mean_c():
    rng = np.random.default_rng(5)
    args = (1.6, 0.7, 1.5)
    t = np.array([2.0, 5.0, 12.0])
    counts = np.array(
        [np.searchsorted(wsb.simulate_events(*args, m=30.0, until=12.0, rng=rng), t, side="right") for _ in range(2000)]
    )
    expected = wsb.cumulative(t, *args, m=30.0)
    se = counts.std(axis=0) / math.sqrt(len(counts))
    assert np.all(np.abs(counts.mean(axis=0) - expected) < 4 * se)
