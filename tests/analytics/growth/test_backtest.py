"""Backtests against the baselines: the scores, the JSON keys and the CLI command."""

import json
import math

import numpy as np
import pytest

from hubscape.analytics.growth import api
from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.backtesting import BacktestResult, last_value, linear, run_backtest
from hubscape.analytics.growth.series import series_from_events
from hubscape.core.errors import InputError
from hubscape.viewer.cli import main


def population(n=8, seed=5):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lam, mu, sigma = rng.gamma(4.0, 1 / 1.5), rng.uniform(1.0, 2.5), rng.uniform(0.5, 1.0)
        out.append(series_from_events(f"pop/{i}", wsb.simulate_events(mu, sigma, lam, until=24.0, rng=rng), 24.0))
    return out


def test_baselines():
    t_past = np.arange(1.0, 9.0)
    count = np.array([2.0, 5, 9, 14, 20, 27, 35, 44])
    future = np.array([11.0, 14.0])
    # the last three periods grew by 24 (20 -> 44): 8 per period from period 8 on
    assert linear(t_past, count, future).tolist() == [44 + 8 * 3, 44 + 8 * 6]
    assert last_value(44.0, future).tolist() == [44.0, 44.0]


def test_scores_are_the_rows_summarized():
    bt = run_backtest(population(), cutoffs=[12], horizons=[3, 6], methods=("lsq", "mle"))
    summary = json.loads(json.dumps(bt.summary(), allow_nan=True))
    by = {(s["method"], s["horizon"]): s for s in summary["methods"]}
    assert set(by) == {(m, h) for m in ("lsq", "mle", "last value", "linear") for h in (3, 6)}
    for (method, h), s in by.items():
        rows = [r for r in bt.rows if r["method"] == method and r["horizon"] == h]
        assert s["n_series"] == len(rows) == 8
        ape = [abs(r["predicted"] - r["observed"]) / r["observed"] for r in rows]
        assert s["median_ape"] == pytest.approx(float(np.median(ape)))
        if method in ("lsq", "mle"):
            inside = [r["lower_90"] <= r["observed"] <= r["upper_90"] for r in rows]
            assert s["coverage_90"] == pytest.approx(np.mean(inside)) and 0 <= s["coverage_50"] <= s["coverage_90"]
            lin = {r["model"]: r for r in bt.rows if r["method"] == "linear" and r["horizon"] == h}
            wins = [
                abs(r["predicted"] - r["observed"]) < abs(lin[r["model"]]["predicted"] - r["observed"]) for r in rows
            ]
            assert s["beats_linear"] == pytest.approx(np.mean(wins))
        else:
            assert math.isnan(s["coverage_90"])
    for r in bt.rows:
        assert {"model", "cutoff", "horizon", "method", "observed", "predicted", "lower_90", "upper_90"} <= r.keys()
        assert r["cutoff"] == 12 and r["count_at_cutoff"] <= r["observed"]
    # on paths of the process itself the model's forecasts beat the linear extrapolation at +6
    assert by[("mle", 6)]["median_ape"] < by[("linear", 6)]["median_ape"]
    assert "median APE" in bt.report() and repr(bt).startswith("<BacktestResult: 8 forecasts")
    assert "<table>" in bt._repr_html_()


def test_empirical_bayes_method_and_save_load(tmp_path):
    series = population(n=6)
    bt = api.backtest(series, cutoffs=[12], horizons=[6], methods="mle+eb")
    assert bt.priors[12]["source"] == "empirical Bayes" and bt.priors[12]["n_series"] == 6
    path = bt.save(tmp_path / "bt.json")
    back = BacktestResult.load(path)
    assert back.summary()["methods"] == pytest.approx(bt.summary()["methods"], nan_ok=True)
    with pytest.raises(InputError, match="no series is observed beyond"):
        api.backtest(series, cutoffs=[30])
    with pytest.raises(InputError, match="unknown fit method"):
        api.backtest(series, methods="nls")


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_backtest_json(capsys, tmp_path, children_csv):
    out_file = tmp_path / "bt.json"
    code, out, err = run(
        capsys,
        "growth",
        "backtest",
        str(children_csv),
        "--cutoffs",
        "9,12",
        "--horizons",
        "3,6",
        "--methods",
        "mle,lsq",
        "--json",
        "--out",
        str(out_file),
    )
    assert code == 0, err
    doc = json.loads(out)
    for s in doc["methods"]:
        assert {"method", "horizon", "median_ape", "coverage_50", "coverage_90", "n_series"} <= s.keys()
    assert {s["method"] for s in doc["methods"]} == {"mle", "lsq", "last value", "linear"}
    models = {r["model"] for r in doc["rows"]}
    assert {"microsoft/phi-2", "stabilityai/stable-diffusion-2-1", "meta-llama/Llama-2-7b-chat-hf"} <= models
    assert {r["cutoff"] for r in doc["rows"]} == {9, 12}
    assert json.loads(out_file.read_text())["rows"] == doc["rows"]
    code, out, err = run(capsys, "growth", "backtest", str(children_csv), "--cutoff", "48")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no series is observed beyond" in err
    code, out, err = run(capsys, "growth", "backtest", str(children_csv), "--horizons", "3,x")
    assert code == 2 and len(err.strip().splitlines()) == 1
