"""Batch fitting agrees with lmfit; forecasts, backtests and anomaly flags."""

import math

import numpy as np
import pytest

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.anomalies import is_poor_fit, jump_periods
from hubscape.analytics.growth.batch import AGREEMENT_RTOL, fit_batch
from hubscape.analytics.growth.forecast import backtest, conditional_mean, forecast, forecast_at
from hubscape.analytics.growth.lsq import fit_lsq
from hubscape.analytics.growth.mle import fit_mle
from hubscape.analytics.growth.series import build_series, series_from_events
from hubscape.analytics.growth.tree import read_children_csv
from hubscape.core.errors import InputError


@pytest.fixture
def real_series(children_csv):
    return [build_series(t) for t in read_children_csv(children_csv)]


def test_batch_matches_lmfit_on_real_identifiable_series(real_series):
    batch = fit_batch(
        [s.t for s in real_series],
        [s.count for s in real_series],
        m=30.0,
        observed_until=[s.observed_until for s in real_series],
        n_events=[s.n_events for s in real_series],
        truncated=[s.truncated for s in real_series],
    )
    # one verdict: the batch fitter judges every series as fit_lsq does
    assert batch.identifiable.tolist() == [fit_lsq(s, intervals=False).identifiable for s in real_series]
    compared = 0
    for i, s in enumerate(real_series):
        ref = fit_lsq(s, m=30.0, intervals=False)
        if not np.all(np.isfinite(ref.params)):
            assert np.all(np.isnan(batch.params[i]))  # too short for both
            continue
        if ref.identifiable:
            compared += 1
            assert batch.identifiable[i]
            assert batch.params[i] == pytest.approx(ref.params, rel=AGREEMENT_RTOL)
            assert np.sqrt(np.diag(batch.cov[i])) == pytest.approx(ref.stderr, rel=0.01)
            assert batch.r2[i] == pytest.approx(ref.r2, abs=1e-6)
            assert batch.fit_result(i).identifiable
    assert compared >= 2  # phi-2, stable-diffusion-2-1


def test_batch_matches_lmfit_on_synthetic_series():
    rng = np.random.default_rng(7)
    ts, counts, series = [], [], []
    for k in range(30):
        mu, sigma, lam = rng.uniform(1.0, 2.3), rng.uniform(0.4, 1.0), rng.uniform(1.0, 3.5)
        n = int(rng.integers(30, 49))
        t = np.arange(1.0, n + 1.0)
        c = wsb.cumulative(t, mu, sigma, lam) + rng.normal(0, 0.5, n)
        s = series_from_events(f"s{k}", np.linspace(0.5, n - 1, 40), float(n))
        s.t, s.count = t, c
        ts.append(t), counts.append(c), series.append(s)
    batch = fit_batch(ts, counts)
    for i, s in enumerate(series):
        ref = fit_lsq(s, intervals=False)
        if ref.identifiable:
            assert batch.params[i] == pytest.approx(ref.params, rel=AGREEMENT_RTOL)


def test_conditional_forecast_starts_at_the_data_and_equals_c_on_the_mean_path():
    t = np.array([10.0, 15.0, 30.0])
    p = (1.8, 0.7, 2.2)
    T = 8.0
    assert conditional_mean(t, T, float(wsb.cumulative(T, *p)), *p) == pytest.approx(wsb.cumulative(t, *p))
    assert conditional_mean(np.array([T]), T, 123.0, *p)[0] == pytest.approx(123.0)


@pytest.mark.parametrize("fitter", [fit_lsq, fit_mle])
def test_forecast_bands_are_nested_and_never_fall(real_series, fitter):
    """... and the point forecast lies in its own 50% band (phi-2's conditional mean, the old point, did not)."""
    s = next(x for x in real_series if x.model == "stabilityai/stable-diffusion-2-1")
    fit = fitter(s)
    fc = forecast(fit, s, horizon=6)
    assert fc.t.tolist() == [29, 30, 31, 32, 33, 34]
    assert fit.identifiable and np.all(np.isfinite(fc.point))
    assert np.all(fc.lo <= fc.lo50) and np.all(fc.lo50 <= fc.median) and np.all(fc.median <= fc.hi50)
    assert np.all(fc.hi50 <= fc.hi) and np.all(np.diff(fc.hi) >= 0) and np.all(np.diff(fc.point) >= 0)
    assert np.all(fc.lo >= s.count[-1]) and np.all(fc.point >= s.count[-1]) and fc.lower_bound == s.count[-1]
    np.testing.assert_array_equal(fc.point, fc.median)  # the point is the predictive median: inside its 50% band
    with pytest.raises(InputError):
        forecast(fit, s, horizon=0)


def test_backtest_of_a_clean_curve_is_accurate():
    truth = (1.8, 0.8, 2.5)
    s = series_from_events("sim", wsb.simulate_events(*truth, m=400.0, until=30.0, rng=1), 30.0)
    bt = backtest(s, k=18, m=400.0)
    assert bt.t.tolist() == list(range(19, 31)) and bt.mape < 0.05
    assert bt.rmse == pytest.approx(float(np.sqrt(np.mean((bt.predicted - bt.observed) ** 2))))
    with pytest.raises(InputError):
        backtest(s, k=40)


def test_month_19_jump_of_llama_chat_is_flagged(real_series):
    s = next(x for x in real_series if x.model == "meta-llama/Llama-2-7b-chat-hf")
    assert 19 in jump_periods(s)


def test_smooth_curves_have_no_jumps_and_an_injected_one_is_found():
    t = np.arange(1.0, 31.0)
    s = series_from_events("smooth", [1.0], 30.0)
    s.t, s.count = t, np.round(wsb.cumulative(t, 2.0, 0.8, 3.0))
    assert jump_periods(s) == []
    s.count = s.count + np.where(t >= 12, 80.0, 0.0)
    assert jump_periods(s) == [12]


def test_poor_fit_is_flagged_by_r2():
    s = series_from_events("steps", [1.0], 30.0)
    s.t = np.arange(1.0, 31.0)
    s.count = np.tile([5.0, 50.0], 15)  # no growth curve at all
    s.events = np.linspace(0.5, 29, 50)
    fit = fit_lsq(s, intervals=False)
    assert is_poor_fit(fit) and not math.isnan(fit.r2)


def test_phi2_point_forecast_lies_in_its_band(real_series):
    """phi-2 at month 28 (mle): the old point, E[N(t) | N(T)] at the estimate, was 301 below a 50% band of [323, 440]."""
    s = next(x for x in real_series if x.model == "microsoft/phi-2")
    fit = fit_mle(s)
    fc = forecast_at(fit, s, np.array([28.0]))
    assert fc.lo50[0] <= fc.point[0] <= fc.hi50[0]
    old = conditional_mean(np.array([28.0]), s.observed_until, float(s.count[-1]), *fit.params, m=fit.m)[0]
    assert old < fc.lo50[0]  # why the point changed: the posterior leans toward more growth
