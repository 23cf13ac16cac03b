"""The analytics requests both kernels answer (viewer.server.requests), in CPython: the CSV text
a page sends gives the same fit as the file; bad requests are one-line InputErrors."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from hubscape.core.bundle import decode_bundle
from hubscape.core.errors import InputError
from hubscape.viewer.sources.page_requests import fit_growth_request, parse_fit_options


def test_csv_text_and_csv_file_give_the_same_fit(children_csv):
    models = ["microsoft/phi-2"]
    by_file = fit_growth_request({"models": models, "method": "mle", "m": 30}, csv_path=children_csv)
    text = children_csv.read_text(encoding="utf-8")
    by_text = fit_growth_request(
        {"models": models, "method": "mle", "m": 30, "csv": {"name": "kids.csv", "text": text}}
    )
    assert by_text["fits"][0]["params"] == by_file["fits"][0]["params"]
    assert "microsoft/phi-2" in by_text["models"] and len(by_text["models"]) > 10
    scene = decode_bundle(base64.b64decode(by_text["scene"]), kind="scene")
    assert scene.meta["world"] == "growth" and scene.meta["theme_name"] == "tron"
    assert np.isfinite(by_text["fits"][0]["params"]).all()


@pytest.mark.parametrize(
    "doc, needle",
    [
        ({"m": -1}, "m must be positive"),
        ({"m": "x"}, "m must be a number"),
        ({"method": "magic"}, "method must be lsq or mle"),
        ({"models": "a,b"}, "models must be a list"),
        ({"theme": "neon"}, "theme must be tron or paper"),
    ],
)
def test_bad_options_are_input_errors(doc, needle):
    with pytest.raises(InputError, match=needle):
        parse_fit_options(doc)


def test_unknown_model_and_bad_csv_are_input_errors(children_csv):
    with pytest.raises(InputError, match="no/such-model not in"):
        fit_growth_request({"models": ["no/such-model"]}, csv_path=children_csv)
    with pytest.raises(InputError, match="kids.csv"):
        fit_growth_request({"csv": {"name": "kids.csv", "text": "x,y\n1,2\n"}})
    with pytest.raises(InputError, match="empty"):
        fit_growth_request({"csv": {"name": "kids.csv", "text": "  "}})
    with pytest.raises(InputError, match="needs a children CSV"):
        fit_growth_request({})


def test_the_page_fits_as_the_cli_does(capsys, children_csv):
    """No method given: mle with the CSV's empirical-Bayes prior, the numbers of `hubscape growth fit --json`."""
    import json

    from hubscape.viewer.cli import main

    models = ["mistralai/Mistral-Small-24B-Base-2501", "bigscience/bloom", "microsoft/phi-2"]
    page = fit_growth_request({"models": models}, csv_path=children_csv)
    assert main(["growth", "fit", str(children_csv), "--json"]) == 0
    cli = {d["model"]: d["fits"]["mle"] for d in json.loads(capsys.readouterr().out)}
    assert page["method"] == "mle" and page["prior"]["source"] == "empirical Bayes"
    assert page["prior"]["n_series"] == 17  # fitted across the whole CSV, not the three chosen models
    for entry in page["fits"]:
        assert entry["fit"] == cli[entry["model"]]  # the same summary(), schema 2
        assert entry["params"] == [cli[entry["model"]][k]["value"] for k in ("mu", "sigma", "lambda")]
    lines = {s["model"]: s["line"] for s in page["summary"]}
    assert (
        lines["bigscience/bloom"]
        == "bigscience/bloom: not fitted: 2 dated children; a 3-parameter fit needs at least 5"
    )
    scene = decode_bundle(base64.b64decode(page["scene"]), kind="scene")
    assert scene.meta["world"] == "growth"
