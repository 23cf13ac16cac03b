"""``hubscape landscape``: real runs and one-line errors with exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import Objective, load_landscape
from hubscape.viewer.cli import main


def make_mlp(hidden=12):
    return torch.nn.Sequential(torch.nn.Linear(6, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 3))


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    model = make_mlp()
    torch.save(model, tmp_path / "model.pt")
    for i in range(3):
        torch.save(make_mlp().state_dict(), tmp_path / f"ckpt{i}.pt")
    torch.save(make_mlp(hidden=10).state_dict(), tmp_path / "wide.pt")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1).astype(np.int64)
    np.savez(tmp_path / "xy.npz", X=X, y=y)
    return tmp_path, model, torch.from_numpy(X), torch.from_numpy(y)


def run(args, capsys):
    rc = main(args)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.mark.parametrize(
    "extra",
    [
        ["--directions", "filter", "--grid", "5x4"],
        ["--directions", "random", "--grid", "5x4", "--span", "0.05", "--normalization", "none"],
        ["--directions", "interpolate", "--other", "{d}/ckpt0.pt", "--grid", "9", "--span", "0:1"],
        ["--directions", "plane", "--other", "{d}/ckpt0.pt", "--other", "{d}/ckpt1.pt", "--grid", "4x4"],
        [
            "--directions",
            "pca",
            "--other",
            "{d}/ckpt0.pt",
            "--other",
            "{d}/ckpt1.pt",
            "--other",
            "{d}/ckpt2.pt",
            "--grid",
            "4x4",
        ],
        ["--directions", "hessian", "--grid", "3x3", "--span", "0.5", "--hessian-iters", "200"],
    ],
)
def test_landscape_of_a_torch_module(files, capsys, extra):
    d, model, X, y = files
    out = d / "out.safetensors"
    args = [
        "landscape",
        str(d / "model.pt"),
        "--data",
        str(d / "xy.npz"),
        "--out",
        str(out),
        "--no-progress",
        "--metric",
        "accuracy",
        *[a.format(d=d) for a in extra],
    ]
    rc, stdout, err = run(args, capsys)
    assert rc == 0, err
    assert str(out) in stdout
    res = load_landscape(out)
    assert res.complete and np.isfinite(res.loss).all()
    with torch.no_grad():
        plain = float(torch.nn.functional.cross_entropy(model(X), y))
    assert res.center_loss == pytest.approx(plain, abs=1e-6)
    assert res.meta["loss"] == "cross_entropy" and "accuracy" in res.metrics
    if "interpolate" in extra:
        end = make_mlp()
        end.load_state_dict(torch.load(d / "ckpt0.pt"))
        with torch.no_grad():
            assert res.loss[-1] == pytest.approx(float(torch.nn.functional.cross_entropy(end(X), y)), abs=1e-5)
        assert res.markers[str(d / "ckpt0.pt")] == (1.0,)
    if "pca" in extra:
        assert res.trajectory_xy.shape == (4, 2) and res.trajectory_loss.shape == (4,)
        assert sum(res.meta["direction"]["explained_variance"]) <= 1 + 1e-9


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--directions", "interpolate", "--other", "{d}/wide.pt", "--grid", "5"],
            "tensor '0.weight' has shape (12, 6) in MODEL but (10, 6) in",
        ),
        (["--directions", "interpolate", "--grid", "5"], "takes exactly one --other"),
        (["--directions", "interpolate", "--other", "{d}/missing.pt", "--grid", "5"], "no such checkpoint"),
        (["--grid", "5x"], "--grid"),
        (["--span", "wide"], "--span"),
        (["--chunk", "0"], "--chunk"),
        (["--metric", "f1"], "unknown metric"),
        (["--normalization", "filter", "--ignore", "0.*,2.*"], "leaves no parameter"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_bundle(files, capsys, extra, message):
    d, *_ = files
    out = d / "out.safetensors"
    args = [
        "landscape",
        str(d / "model.pt"),
        "--data",
        str(d / "xy.npz"),
        "--out",
        str(out),
        "--no-progress",
        *[a.format(d=d) for a in extra],
    ]
    rc, _, err = run(args, capsys)
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_unknown_model_and_bad_data(files, capsys, tmp_path):
    d, *_ = files
    for model, data, message in [
        (str(tmp_path / "nope.pt"), str(d / "xy.npz"), "no such model file or folder"),
        ("./not/here", str(d / "xy.npz"), "no such model file or folder"),
        (str(d / "model.pt"), str(d / "missing.npz"), "expected an existing .npz"),
        (str(d / "ckpt0.pt"), str(d / "xy.npz"), "not a torch module"),
    ]:
        rc, _, err = run(["landscape", model, "--data", data, "--out", str(d / "o.safetensors")], capsys)
        assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (d / "o.safetensors").exists()


def test_offline_hub_id_is_a_clear_error(files):
    d, *_ = files
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(d / "hf")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hubscape.viewer",
            "landscape",
            "someone/some-model",
            "--data",
            str(d / "xy.npz"),
            "--out",
            str(d / "o.safetensors"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("hubscape:")]
    assert len(lines) == 1 and "Hub" in lines[0] and "HF_HUB_OFFLINE" in lines[0]
    assert "Traceback" not in proc.stderr and not (d / "o.safetensors").exists()


def test_out_of_memory_exits_2_with_chunk_advice(files, capsys, monkeypatch):
    d, *_ = files

    def oom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(Objective, "_terms", oom)
    out = d / "out.safetensors"
    rc, _, err = run(
        [
            "landscape",
            str(d / "model.pt"),
            "--data",
            str(d / "xy.npz"),
            "--grid",
            "6x6",
            "--chunk",
            "8",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert rc == 2 and "out of memory" in err and "--chunk 2" in err
    assert not out.exists()


def test_partial_bundle_needs_resume(files, capsys, monkeypatch):
    d, *_ = files
    from hubscape.analytics.landscape.evaluators import Batched as S  # the default path for this MLP

    real, calls = S.__call__, {"n": 0}

    def dies_late(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(S, "__call__", dies_late)
    out = d / "out.safetensors"
    base = [
        "landscape",
        str(d / "model.pt"),
        "--data",
        str(d / "xy.npz"),
        "--grid",
        "4x4",
        "--chunk",
        "4",
        "--out",
        str(out),
        "--no-progress",
    ]
    rc, _, err = run(base, capsys)
    assert rc == 130 and not load_landscape(out).complete
    monkeypatch.setattr(S, "__call__", real)
    rc, _, err = run(base, capsys)
    assert rc == 2 and "--resume" in err
    rc, _, err = run([*base, "--resume"], capsys)
    assert rc == 0 and load_landscape(out).complete


def test_device(files, capsys):
    d, *_ = files
    rc, _, err = run(
        [
            "landscape",
            str(d / "model.pt"),
            "--data",
            str(d / "xy.npz"),
            "--grid",
            "3x3",
            "--device",
            "cuda",
            "--out",
            str(d / "o.safetensors"),
            "--no-progress",
        ],
        capsys,
    )
    if torch.cuda.is_available():
        assert rc == 0
    else:
        assert rc == 2 and "no CUDA GPU" in err and not (d / "o.safetensors").exists()


@pytest.fixture
def tiny_lm_dir(tmp_path, make_tiny_lm, tiny_tok):
    path = tmp_path / "tiny-gpt2"
    make_tiny_lm().save_pretrained(path)
    tiny_tok.save_pretrained(path)
    (tmp_path / "texts.txt").write_text("how to bake a cake\nyou are nice\nhere is the answer\n")
    return path


def test_causal_lm_folder_uses_the_lm_cross_entropy(tiny_lm_dir, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tiny_lm_dir.parent / "lm.safetensors"
    rc, _, err = run(
        [
            "landscape",
            str(tiny_lm_dir),
            "--data",
            str(tiny_lm_dir.parent / "texts.txt"),
            "--grid",
            "3x3",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert rc == 0, err
    res = load_landscape(out)
    assert res.meta["loss"] == "lm_cross_entropy" and res.meta["model"]["kind"] == "causal_lm"
    lm, tok = AutoModelForCausalLM.from_pretrained(tiny_lm_dir), AutoTokenizer.from_pretrained(tiny_lm_dir)
    enc = tok(["how to bake a cake", "you are nice", "here is the answer"], padding=True, return_tensors="pt")
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    with torch.no_grad():
        ref = float(lm(**enc, labels=labels).loss)  # transformers' own shifted LM loss
    assert res.center_loss == pytest.approx(ref, abs=1e-5)


def test_interpolation_between_two_hf_folders_and_a_mismatched_one(tiny_lm_dir, make_tiny_lm, tiny_tok, capsys):
    from transformers import GPT2Config, GPT2LMHeadModel

    tuned = tiny_lm_dir.parent / "tuned"
    make_tiny_lm(seed=1).save_pretrained(tuned)
    tiny_tok.save_pretrained(tuned)
    wide = tiny_lm_dir.parent / "wide"
    GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=48, n_head=2, n_positions=64, vocab_size=25)).save_pretrained(wide)
    tiny_tok.save_pretrained(wide)
    texts = str(tiny_lm_dir.parent / "texts.txt")
    out = tiny_lm_dir.parent / "line.safetensors"
    rc, _, err = run(
        [
            "landscape",
            str(tiny_lm_dir),
            "--data",
            texts,
            "--directions",
            "interpolate",
            "--other",
            str(tuned),
            "--grid",
            "5",
            "--span",
            "0:1",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert rc == 0, err
    res = load_landscape(out)
    end = run(
        [
            "landscape",
            str(tuned),
            "--data",
            texts,
            "--grid",
            "1x1",
            "--span",
            "1",
            "--out",
            str(out.with_name("end.safetensors")),
            "--no-progress",
        ],
        capsys,
    )
    assert end[0] == 0
    assert res.loss[-1] == pytest.approx(load_landscape(out.with_name("end.safetensors")).center_loss, abs=1e-5)
    assert res.loss[0] == pytest.approx(res.center_loss, abs=1e-6)
    bad = out.with_name("bad.safetensors")
    rc, _, err = run(
        [
            "landscape",
            str(tiny_lm_dir),
            "--data",
            texts,
            "--directions",
            "interpolate",
            "--other",
            str(wide),
            "--grid",
            "5",
            "--out",
            str(bad),
            "--no-progress",
        ],
        capsys,
    )
    assert rc == 2 and "tensor 'lm.transformer.wte.weight' has shape (25, 32)" in err and not bad.exists()
