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
