"""Growth results survive a growth bundle exactly."""

import dataclasses
import math

import numpy as np
import pytest

from hubscape.analytics.growth.analysis import analyze
from hubscape.analytics.growth.growth_bundle import read_growth_bundle, write_growth_bundle
from hubscape.analytics.growth.series import build_series
from hubscape.analytics.growth.sources import load_series
from hubscape.analytics.growth.tree import read_children_csv
from hubscape.core.bundle import read_bundle
from hubscape.core.errors import BundleError

MODELS = (
    "meta-llama/Llama-2-7b-chat-hf",
    "microsoft/phi-2",
    "bigscience/bloom",
    "sentence-transformers/distiluse-base-multilingual-cased-v1",
    "deepseek-ai/DeepSeek-R1",
)


def assert_same(a, b, where="result"):
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            if not f.compare:  # not saved (FitResult.draws, the bootstrap refits)
                continue
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} != {b!r}"


def test_round_trip_is_lossless(tmp_path, children_csv):
    trees = {t.base.id: t for t in read_children_csv(children_csv)}
    results = [
        analyze(build_series(trees[name]), methods=("lsq", "mle"), horizon=6, prior=(2.0, 1.0), backtest_k=12)
        for name in MODELS
    ]
    assert set(results[0].backtests) == {"lsq", "mle"} and not results[4].backtests  # DeepSeek-R1: 3 months
    path = write_growth_bundle(tmp_path / "fits.safetensors", results, horizon=6)
    back = read_growth_bundle(path)
    assert [r.model for r in back] == list(MODELS)
    for a, b in zip(results, back):
        assert_same(a, b, a.model)
    raw = read_bundle(path, kind="growth")
    assert raw.meta["unit"] == "month" and raw.meta["methods"] == ["lsq", "mle"]
    assert raw.meta["models"][0]["fits"]["lsq"]["c_inf"]["value"] is None  # not identifiable -> null
    assert raw.arrays["models/1/lsq/params"].shape == (3,) and raw.arrays["models/1/lsq/cov"].shape == (3, 3)
    assert raw.arrays["models/0/lsq/forecast_lo"].shape == (6,)
    # a bundle is also a SOURCE: its series come back as stored, or recounted per week
    assert load_series([path])[1].count.tolist() == results[1].series.count.tolist()
    weekly = load_series([path], unit="week")[1]
    assert weekly.unit == "week" and weekly.count[-1] == results[1].series.count[-1]


def test_wrong_or_broken_bundles_are_one_line_errors(tmp_path):
    with pytest.raises(BundleError):
        read_growth_bundle(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a bundle at all")
    with pytest.raises(BundleError):
        read_growth_bundle(bad)
    with pytest.raises(BundleError):
        write_growth_bundle(tmp_path / "empty.safetensors", [], horizon=3)
    assert not (tmp_path / "empty.safetensors").exists()
