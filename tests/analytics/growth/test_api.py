"""The library entry point and the verbs every growth result has (repr, summary, report, HTML, save/load)."""

import json

import numpy as np
import pytest

from hubscape.analytics.growth import api
from hubscape.analytics.growth.results import GrowthResult, GrowthResults
from hubscape.core.bundle import to_jsonable
from hubscape.core.errors import InputError

MODELS = ("microsoft/phi-2", "google/gemma-7b", "bigscience/bloom", "stabilityai/stable-diffusion-2-1")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    import csv
    from pathlib import Path

    source = Path(__file__).resolve().parents[3].parent / "shared/data/hf-model-trees/hf_finetune_children_by_base.csv"
    rows = list(csv.DictReader(open(source, newline="")))
    path = tmp_path_factory.mktemp("api") / "four.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["base_model"] in MODELS)
    return api.fit(str(path), methods=("lsq", "mle"), horizon=6)


def test_fit_returns_a_list_of_results_with_one_line_reprs(results):
    assert isinstance(results, GrowthResults) and isinstance(results, list) and len(results) == 4
    assert {r.model for r in results} == set(MODELS)
    text = repr(results)
    assert "\n" not in text and text.startswith("<GrowthResults: 4 models per month")
    for r in results:
        one = repr(r)
        assert "\n" not in one and len(one) < 300 and r.model in one
    phi = next(r for r in results if r.model == "microsoft/phi-2")
    assert "mle c_inf" in repr(phi)


def test_summary_is_strict_json_and_the_one_serializer(results, tmp_path):
    doc = to_jsonable(results.summary())
    json.dumps(doc, allow_nan=False)
    phi = next(d for d in doc["models"] if d["model"] == "microsoft/phi-2")
    assert phi["fits"]["mle"]["status"] == "identifiable" and phi["fits"]["mle"]["identifiable"] is True
    bloom = next(d for d in doc["models"] if d["model"] == "bigscience/bloom")
    assert bloom["fits"]["lsq"]["status"].startswith("not fitted: ")
    # the bundle's metadata is the same summary
    from hubscape.core.bundle import read_bundle

    path = results.save(tmp_path / "four.safetensors")
    meta = read_bundle(path, kind="growth").meta
    entry = next(m for m in meta["models"] if m["model"] == "microsoft/phi-2")
    assert {k: v for k, v in entry["fits"]["mle"].items() if k not in ("forecast", "forecast_level")} == phi["fits"][
        "mle"
    ]
    assert read_bundle(path).schema == 2


def test_report_html_and_save_load(results, tmp_path):
    text = results.report()
    assert "WSB fits (lsq" in text and "WSB fits (mle" in text and "google/gemma-7b" in text
    assert "Not identifiable" in text and "+6 months (90%)" in text
    html = results._repr_html_()
    assert html.count("<table>") == 2 and "microsoft/phi-2" in html
    one = results[0]
    assert one.model in one.report() and "release" in one.report() and "<table>" in one._repr_html_()
    back = GrowthResults.load(results.save(tmp_path / "all.safetensors"))
    assert [r.model for r in back] == [r.model for r in results]
    single = GrowthResult.load(one.save(tmp_path / "one.safetensors"))
    assert single.model == one.model
    np.testing.assert_array_equal(single.forecasts["mle"].hi, one.forecasts["mle"].hi)
    np.testing.assert_array_equal(single.fits["lsq"].params, one.fits["lsq"].params)
    assert single.fits["mle"].lam_interval == one.fits["mle"].lam_interval


def test_fit_validates_like_the_cli(children_csv):
    with pytest.raises(InputError, match="unknown fit method"):
        api.fit(children_csv, methods="nls")
    with pytest.raises(InputError, match="horizon"):
        api.fit(children_csv, horizon=0)
    with pytest.raises(InputError, match="mle method only"):
        api.fit(children_csv, methods="lsq", prior=(2.0, 1.0))
    with pytest.raises(InputError, match="unknown prior"):
        api.fit(children_csv, prior="flat")


def test_default_fit_uses_the_runs_empirical_bayes_prior(children_csv):
    results = api.fit(children_csv, horizon=3)
    assert results.methods == ["mle"] and results.prior is not None
    assert results.prior.source == "empirical Bayes" and results.prior.n_series >= 5
    assert all(r.fits["mle"].prior == results.prior.summary() for r in results if np.isfinite(r.fits["mle"].lam))
    none = api.fit(children_csv, horizon=3, prior="none")
    assert none.prior is None and all(r.fits["mle"].prior is None for r in none)
