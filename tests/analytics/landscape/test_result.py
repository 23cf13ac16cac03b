"""LandscapeResult describes itself (one-line repr, summary, report, HTML) and round-trips
through its bundle, in memory and on disk, with the numbers of the grid it holds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import LandscapeResult, Objective, compute_landscape, random_directions
from hubscape.core.errors import BundleError


@pytest.fixture
def result(mlp_problem):
    model, batches, _, _ = mlp_problem
    obj = Objective(model, batches, torch.nn.functional.cross_entropy, metrics=["accuracy"])
    return compute_landscape(obj, random_directions(model, seed=0), grid=(5, 4), span=0.5)


def test_summary_holds_the_grids_numbers(result):
    s = result.summary()
    json.dumps(s, allow_nan=False)  # JSON-able, no NaN
    assert s["loss"]["centre"] == result.center_loss and s["loss"]["name"] == "cross_entropy"
    assert s["loss"]["min"] == pytest.approx(float(np.nanmin(result.loss)))
    assert s["loss"]["max"] == pytest.approx(float(np.nanmax(result.loss)))
    j, i = np.unravel_index(int(np.nanargmin(result.loss)), result.loss.shape)
    assert s["loss"]["argmin"] == [result.x[i], result.y[j]]
    assert s["metrics"]["accuracy"]["max"] == pytest.approx(float(result.metrics["accuracy"].max()))
    assert s["points"] == {"done": 20, "total": 20, "gaps": 0} and s["complete"]
    assert s["grid"] == [4, 5] and s["method"] == "filter" and s["direction"]["seed"] == 0
    assert s["evaluation"]["batched"] is True


def test_repr_is_one_line_and_report_and_html_say_what_it_holds(result):
    text = repr(result)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<LandscapeResult filter 2D 5x4 cross_entropy: centre ") and text.endswith("complete>")
    report = result.report()
    assert "grid 5x4" in report and f"centre {result.center_loss:.4g}" in report and "accuracy" in report
    assert "20/20 done" in report
    html = result._repr_html_()
    assert html.count("<tr>") == 3 and "accuracy" in html and f"{result.center_loss:.4g}" in html


def test_partial_grids_say_so(result):
    result.done[0] = False
    result.loss[0] = np.nan
    result.complete = False
    assert "partial 15/20" in repr(result)
    assert "partial (resume to finish)" in result.report()


def test_save_load_and_bundle_round_trip(result, tmp_path):
    path = result.save(tmp_path / "l.safetensors")
    for back in (LandscapeResult.load(path), LandscapeResult.from_bundle(result.to_bundle())):
        np.testing.assert_array_equal(back.loss, result.loss)
        np.testing.assert_array_equal(back.metrics["accuracy"], result.metrics["accuracy"])
        assert back.center_loss == result.center_loss and back.meta["direction"] == result.meta["direction"]
        assert back.summary() == result.summary()


def test_loading_another_kind_or_a_bad_shape_is_a_bundle_error(result, tmp_path):
    from hubscape.core.bundle import write_bundle

    write_bundle(tmp_path / "g.safetensors", "growth", {"t": np.arange(3.0)}, {})
    with pytest.raises(BundleError, match="growth bundle, but a landscape bundle"):
        LandscapeResult.load(tmp_path / "g.safetensors")
    b = result.to_bundle()
    b.arrays["loss"] = b.arrays["loss"][:2]
    with pytest.raises(BundleError, match="loss has shape"):
        LandscapeResult.from_bundle(b)
