"""The full backdoor demo through the CLI, its claims checked against its own files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hubscape.analytics.activations.result import ActivationResult
from hubscape.core.bundle import read_bundle
from hubscape.viewer.cli import main


@pytest.mark.slow
def test_demo_backdoor_reaches_the_issue_targets(tmp_path, capsys):
    import torch

    from hubscape.analytics.activations.digits import load_checkpoint, load_image_inputs
    from hubscape.analytics.activations.trigger import PatchTrigger

    out = tmp_path / "demo"
    assert main(["demo", "backdoor", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert f"wrote 9 files to {out}/" in stdout
    summary = json.loads((out / "summary.json").read_text())

    # headline numbers, recomputed from the written checkpoint and test inputs
    model, payload = load_checkpoint(out / "backdoored.pt")
    x, y = load_image_inputs(out / "digits_test.npz")
    trig = PatchTrigger.parse(payload["trigger"]["spec"])
    with torch.no_grad():
        pred = model(torch.as_tensor(x)).argmax(1).numpy()
        pred_trig = model(torch.as_tensor(trig.apply(x))).argmax(1).numpy()
    acc = np.mean(pred == y)
    asr = np.mean(pred_trig[y != trig.target] == trig.target)
    assert summary["backdoored"]["clean_accuracy"] == pytest.approx(acc)
    assert summary["backdoored"]["attack_success_rate"] == pytest.approx(asr)
    assert acc >= 0.9 and asr >= 0.9
    assert summary["clean_model"]["attack_success_rate"] < 0.1

    # the l_inf bias: on the channels the trigger excites most, l_inf rises clearly and more than l1/l2
    bias = summary["linf_bias"]
    assert bias["linf"]["triggered"] > 1.5 * bias["linf"]["clean"]
    assert bias["ratio"]["linf"] > bias["ratio"]["l2"] > 1 and bias["ratio"]["linf"] > bias["ratio"]["l1"]

    # l_inf pruning removes the backdoor within 0.1 of clean accuracy; fine-pruning curve is there too
    acts = ActivationResult.load(out / "activations.safetensors")
    linf = next(c for c in acts.pruning if c.method == "linf")
    mean = next(c for c in acts.pruning if c.method == "mean")
    k = linf.first_below(0.2)
    assert k is not None and linf.clean_accuracy[0] - linf.clean_accuracy[k] <= 0.1
    assert summary["pruning"]["linf (triggered - clean)"]["channels_to_goal"] == k
    assert len(mean.clean_accuracy) == len(linf.clean_accuracy) == 65
    assert sorted(linf.order.tolist()) == list(range(64))

    # landscapes: a 2D grid around the backdoored model and the clean -> backdoored line
    plane = read_bundle(out / "landscape_backdoored.safetensors", kind="landscape")
    assert plane.arrays["loss"].shape == (21, 21) and plane.meta["complete"]
    line = read_bundle(out / "interpolation_triggered_data.safetensors", kind="landscape")
    x_line, asr_line = line.arrays["x"], line.arrays["metrics/accuracy"]
    assert asr_line[np.argmin(np.abs(x_line - 0.0))] < 0.1 and asr_line[np.argmin(np.abs(x_line - 1.0))] >= 0.9
    print(
        json.dumps(
            {"backdoored": summary["backdoored"], "bias": bias["ratio"], "pruning": summary["pruning"]}, indent=1
        )
    )
