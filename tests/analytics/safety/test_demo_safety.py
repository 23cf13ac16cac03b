"""``hubscape demo safety`` end to end on a tiny GGUF Llama (the real path, small sizes): every
file, every summary key the issue names, and numbers that agree with the bundles they came from."""

from __future__ import annotations

import json

import numpy as np

from hubscape.analytics.landscape import load_landscape
from hubscape.analytics.safety.demo import DemoConfig, SafetyDemo, leave_one_out_fpr, run_safety_demo
from hubscape.analytics.safety.finetune import FinetuneSettings
from hubscape.analytics.safety.gradient_cuff import GradientCuffResult
from hubscape.analytics.safety.refusal_landscape import load_refusal_landscapes
from hubscape.viewer.cli import main


def _tiny(model: str) -> DemoConfig:
    ft = FinetuneSettings(top_layers=2, steps=2, lr=1e-3, batch_size=4)
    return DemoConfig(
        model=model,
        n_test=4,
        eval_tokens=3,
        benign_answer_tokens=3,
        safety=ft,
        attack=ft,
        attack_examples=3,
        interpolation_points=3,
        random_points=3,
        random_grid=(3, 3),
        gc_queries=2,
        gc_n=2,
        gc_p=2,
        gc_tokens=2,
        target_fpr=0.5,
        refusal_grid=(3, 3),
        refusal_n=2,
        save_checkpoints=False,
    )


def test_the_demo_writes_its_bundles_and_a_consistent_summary(tiny_gguf, tmp_path):
    path, _ = tiny_gguf
    lines: list[str] = []
    demo = run_safety_demo(tmp_path / "demo", _tiny(str(path)), report=lines.append)
    s = json.loads(demo.files["summary_json"].read_text())
    for key in (
        "refusal_rate_aligned",
        "refusal_rate_attacked",
        "visage_aligned",
        "gradient_cuff_tpr",
        "gradient_cuff_fpr",
        "refusal_rate_base",
        "interpolation_asr",
        "basin_width_aligned",
    ):
        assert key in s, key
    for key in (
        "refusal_rate_base",
        "refusal_rate_aligned",
        "refusal_rate_attacked",
        "gradient_cuff_tpr",
        "gradient_cuff_fpr",
    ):
        assert 0.0 <= s[key] <= 1.0
    interp = load_landscape(demo.files["interpolation"])
    assert s["interpolation_asr"] == interp.loss.tolist() and interp.markers["attacked"] == (1.0,)
    one = load_landscape(demo.files["landscape_1d"])
    assert s["visage_aligned"] == one.meta["visage"]["visage"] and 0.0 <= s["visage_aligned"] <= 100.0
    assert load_landscape(demo.files["landscape_2d"]).loss.shape == (3, 3)
    gc = GradientCuffResult.load(demo.files["gradient_cuff_aligned"])
    assert s["gradient_cuff_tpr"] == gc.rates()["detection_rate"] and gc.threshold_choice["target_fpr"] == 0.5
    assert s["gradient_cuff_threshold_choice"]["aligned"] == gc.threshold_choice
    unreachable = json.loads(json.dumps(s))
    unreachable["gradient_cuff_threshold_choice"]["aligned"].update(reached=False, stage1_benign_rejections=2)
    assert "aligned: the target FPR is out of reach, stage 1 alone rejects 2 of" in SafetyDemo(unreachable, {}).report()
    assert s["gradient_cuff_fpr_loo"] == leave_one_out_fpr(gc, 0.5)
    refusal = load_refusal_landscapes(demo.files["refusal_landscapes"])
    assert refusal.labels == ["benign", "malicious"] and refusal.phi.shape == (2, 3, 3)
    assert s["model"]["gguf_sha256"] and s["seconds"]["total"] > 0
    assert 100 < s["peak_rss_mib"] < 64 * 1024  # this process, in MiB: a tiny model still loads torch
    assert "refusal rate on held-out harmful prompts" in demo.report()
    # every stage of the clock is reported as it finishes, in order (a log shows where a run is)
    done = [line.split(":")[0] for line in lines if ": done in " in line]
    assert done == list(s["seconds"])[: len(done)] and len(done) == len(s["seconds"]) - 1  # "total" is not a stage


def test_leave_one_out_fpr_does_not_reuse_a_query_for_its_own_threshold():
    labels = ["malicious", "benign", "benign", "benign"]
    res = GradientCuffResult(
        ["m", "a", "b", "c"],
        labels,
        np.array([0.9, 1.0, 1.0, 1.0]),
        np.array([90.0, 10.0, 20.0, 30.0]),
        {"threshold": 100.0},
    )
    # target 1/2: each left-out query's threshold comes from the other two, one of which may be
    # rejected, so t is the smaller of them: a (10) passes t = 20; b (20) and c (30) exceed t = 10
    assert leave_one_out_fpr(res, 0.5) == 2 / 3
    assert res.with_threshold_for_fpr(0.5).rates()["false_positive_rate"] == 1 / 3  # in-sample: t = 20


def test_the_demo_command_rejects_a_file_as_folder(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["demo", "safety", "--out", str(tmp_path / "f")]) == 2
    assert "not a folder" in capsys.readouterr().err
