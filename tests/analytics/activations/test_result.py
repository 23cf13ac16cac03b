"""ActivationResult as a result: one-line reprs, summary, report, HTML, bundle round trips,
and activation_maps (hs.activations) against the hooks it is built on."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hubscape.analytics.activations import activation_maps, analyze_images, capture
from hubscape.analytics.activations.result import ActivationResult
from hubscape.core.errors import BundleError, InputError


@pytest.fixture(scope="module")
def analysed(tiny_backdoor):
    t = tiny_backdoor
    return analyze_images(t.model, t.x, t.y, trigger=t.trigger, prune=["linf"], gradcam_samples=2)


def test_reprs_are_one_short_line(analysed):
    for obj in (analysed, analysed.layers["clean"]["relu2"], analysed.pruning[0], analysed.gradcam["clean"]):
        text = repr(obj)
        assert "\n" not in text and len(text) < 160, text
    assert "2 layers, 12 channels" in repr(analysed) and "clean/triggered" in repr(analysed)


def test_summary_is_json_and_matches_the_stats(analysed):
    s = json.loads(json.dumps(analysed.summary(), allow_nan=False))
    assert [layer["name"] for layer in s["layers"]] == ["relu1", "relu2"]
    relu2 = s["layers"][1]
    assert relu2["channels"] == 8
    assert relu2["triggered"]["linf"] == pytest.approx(analysed.layers["triggered"]["relu2"].linf.mean())
    gain = analysed.layers["triggered"]["relu2"].linf - analysed.layers["clean"]["relu2"].linf
    assert relu2["top_channels"] == np.argsort(-gain, kind="stable")[:5].tolist()
    assert s["metrics"]["attack_success_rate"] == pytest.approx(analysed.metrics["attack_success_rate"])


def test_report_and_html_name_every_layer(analysed):
    report, page = analysed.report(), analysed._repr_html_()
    assert report.splitlines()[0] == repr(analysed)
    assert "attack success rate" in report and "linf pruning" in report
    assert page.count("<tr>") == 1 + len(analysed.layer_names) and "relu1" in page and "relu2" in page


def test_bundle_round_trip_in_memory_and_on_disk(analysed, tmp_path):
    back = ActivationResult.from_bundle(analysed.to_bundle())
    again = ActivationResult.load(analysed.save(tmp_path / "acts.safetensors"))
    for other in (back, again):
        assert other.summary() == analysed.summary()
        np.testing.assert_array_equal(other.pruning[0].attack_success_rate, analysed.pruning[0].attack_success_rate)
    with pytest.raises(BundleError, match="expected an activations bundle"):
        ActivationResult.from_bundle(type(analysed.to_bundle())(kind="landscape", meta={}))


def test_activation_maps_equal_the_hooks_and_rank_the_trigger_channels(tiny_backdoor):
    t = tiny_backdoor
    x_trig = t.trigger.apply(t.x)
    result = activation_maps(t.model, {"clean": t.x, "triggered": x_trig}, layers=["relu1", "relu2"], batch_size=64)
    assert result.conditions == ["clean", "triggered"] and result.layer_names == ["relu1", "relu2"]
    assert result.data["n"] == {"clean": 200, "triggered": 200}
    direct = capture(t.model, [torch.as_tensor(x_trig, dtype=torch.float32)], ["relu2"], "triggered")
    np.testing.assert_allclose(result.layers["triggered"]["relu2"].linf, direct["relu2"].linf, rtol=1e-6)
    ratio = result.trigger_ratio("relu2")
    top = result.top_channels("relu2", k=1)[0]
    assert ratio[top] > 1.0  # the channel the trigger raises most is raised, not lowered
    # one bare input is the clean condition; the default layers are the conv activations
    alone = activation_maps(t.model, t.x)
    assert alone.conditions == ["clean"] and alone.layer_names == ["relu1", "relu2"]


@pytest.mark.parametrize(
    "inputs, kwargs, needle",
    [
        ({}, {}, "inputs is empty"),
        ({"clean": "x.npz"}, {}, "an input is an array"),
        (np.zeros((0, 1, 16, 16)), {}, "at least one sample"),
        (np.zeros((2, 1, 16, 16)), {"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_inputs_are_one_line_errors(tiny_backdoor, inputs, kwargs, needle):
    with pytest.raises(InputError, match=needle):
        activation_maps(tiny_backdoor.model, inputs, **kwargs)
