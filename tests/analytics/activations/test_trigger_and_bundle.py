"""Patch triggers, checkpoints and the activations bundle round trip."""

from __future__ import annotations

import numpy as np
import pytest

from hubscape.analytics.activations.images import analyze_images
from hubscape.analytics.activations.result import ActivationResult
from hubscape.analytics.activations.trigger import PatchTrigger
from hubscape.core.bundle import read_bundle
from hubscape.core.errors import InputError


def test_patch_trigger_parse_and_apply():
    trig = PatchTrigger.parse("size=2, corner=tl, pattern=solid, value=0.5, target=3")
    assert trig == PatchTrigger(size=2, corner="tl", pattern="solid", value=0.5, target=3)
    assert PatchTrigger.parse(trig.spec()) == trig
    x = np.zeros((2, 1, 6, 6), np.float32)
    out = trig.apply(x)
    assert out[:, 0, :2, :2].tolist() == [[[0.5, 0.5], [0.5, 0.5]]] * 2
    assert out.sum() == pytest.approx(2 * 4 * 0.5) and x.sum() == 0
    checker = PatchTrigger(size=3, corner="br").apply(np.zeros((1, 1, 5, 5)))
    assert checker[0, 0, 2:, 2:].tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    assert checker[0, 0, :2].sum() == 0 and checker[0, 0, :, :2].sum() == 0


@pytest.mark.parametrize(
    "spec, message",
    [
        ("size=3,colour=red", "keys size, corner"),
        ("size=three", "size must be a int"),
        ("corner=middle", "corner must be one of"),
        ("size=0", "at least 1 pixel"),
        ("br", "key=value"),
    ],
)
def test_bad_trigger_specs(spec, message):
    with pytest.raises(InputError, match=message):
        PatchTrigger.parse(spec)


def test_trigger_larger_than_the_image():
    with pytest.raises(InputError, match="does not fit a 4x4 image"):
        PatchTrigger(size=5).apply(np.zeros((1, 1, 4, 4)))


def test_bundle_round_trip_and_documented_keys(tiny_backdoor, tmp_path):
    t = tiny_backdoor
    result = analyze_images(t.model, t.x, t.y, trigger=t.trigger, prune=["linf", "mean"], gradcam_samples=4)
    path = result.save(tmp_path / "a.safetensors")
    raw = read_bundle(path, kind="activations")
    assert raw.meta["conditions"] == ["clean", "triggered"]
    assert [li["name"] for li in raw.meta["layers"]] == ["relu1", "relu2"]
    assert raw.meta["layers"][1] == {"name": "relu2", "type": "conv", "shape": [8, 8, 8], "channels": 8}
    assert raw.meta["pruning"]["methods"] == ["linf", "mean"]
    assert raw.meta["trigger"]["target_label"] == 0
    for key, shape in {
        "layers/1/triggered/linf": (8,),
        "layers/0/clean/l2_samples": (200, 4),
        "layers/1/clean/mean_map": (8, 8, 8),
        "gradcam/triggered/maps": (4, 16, 16),
        "gradcam/clean/inputs": (4, 16, 16),
        "pruning/linf/pruned": (9,),
        "pruning/mean/attack_success_rate": (9,),
        "pruning/linf/order": (8,),
    }.items():
        assert raw.arrays[key].shape == shape, key
    assert raw.arrays["pruning/linf/order"].dtype == np.int64
    back = ActivationResult.load(path)
    assert back.conditions == result.conditions and back.layer_names == result.layer_names
    for cond in result.conditions:
        for name in result.layer_names:
            for norm in ("l1", "l2", "linf"):
                np.testing.assert_array_equal(
                    back.layers[cond][name].samples[norm], result.layers[cond][name].samples[norm]
                )
    np.testing.assert_array_equal(back.pruning[1].clean_accuracy, result.pruning[1].clean_accuracy)
    assert back.pruning[0].rank_by == "difference" and back.pruning[1].rank_by == "clean"
    np.testing.assert_array_equal(back.gradcam["triggered"].maps, result.gradcam["triggered"].maps)
    assert back.metrics["attack_success_rate"] == pytest.approx(result.metrics["attack_success_rate"])


def test_summary_numbers_are_consistent(tiny_backdoor):
    t = tiny_backdoor
    result = analyze_images(t.model, t.x, t.y, trigger=t.trigger, prune=["linf"], gradcam_samples=0)
    s = result.metrics
    curve = result.pruning[0]
    assert s["clean_accuracy"] == curve.clean_accuracy[0]
    assert s["attack_success_rate"] == curve.attack_success_rate[0]
    bias = s["linf_bias"]
    clean, trig = result.layers["clean"]["relu2"], result.layers["triggered"]["relu2"]
    top = np.argsort(-(trig.linf - clean.linf), kind="stable")[:5]
    assert bias["channels"] == top.tolist()
    assert bias["linf"]["triggered"] == pytest.approx(trig.linf[top].mean())
    assert result.gradcam == {}
