"""Every bad CLI input of the reliability report: one line on stderr, exit status 2, and, where
the output cannot be written, before any work (the model named is never even opened)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from hubscape.viewer.cli import main

CSV = "../shared/data/hf-model-trees/hf_finetune_children_by_base.csv"


def run(args: list[str], monkeypatch=None) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def assert_one_line(code: int, err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert needle in lines[0], lines[0]


UNWRITABLE = "/proc/hubscape-cannot-write"  # read-only for every user, root included


@pytest.mark.parametrize(
    "args",
    [
        ["landscape", "no-such-model.pt", "--data", "x.npz", "--out", f"{UNWRITABLE}.safetensors"],
        ["refusal-landscape", "no/such-model", "--query", "hi", "--out", f"{UNWRITABLE}.safetensors"],
        ["export", "demo:landscape", "--out", f"{UNWRITABLE}.png"],
        ["build-site", UNWRITABLE],
        ["demo", "backdoor", "--out", UNWRITABLE],
        ["growth", "fit", CSV, "--out", f"{UNWRITABLE}.safetensors"],
        ["growth", "report", CSV, "--out", UNWRITABLE],
        ["activations", "no-such-model.pt", "--inputs", "x.npz", "--out", f"{UNWRITABLE}.safetensors"],
        ["demo", "minilm", "--out", UNWRITABLE],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_unwritable_outputs_fail_before_any_work(args):
    code, err = run(args)
    assert_one_line(code, err, "cannot write")


@pytest.fixture(scope="module")
def torch_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("model")
    model = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 3))
    torch.save(model, folder / "model.pt")
    np.savez(folder / "empty.npz")
    np.savez(folder / "shape.npz", X=np.zeros((5, 4), np.float32), y=np.zeros(5, np.int64))
    np.savez(folder / "labels.npz", X=np.zeros((5, 6), np.float32), y=np.full(5, 99))
    np.savez(folder / "good.npz", X=np.zeros((5, 6), np.float32), y=np.zeros(5, np.int64))
    return folder


@pytest.mark.parametrize(
    "data, extra, needle",
    [
        ("empty.npz", [], "X"),
        ("shape.npz", [], "cannot be evaluated"),
        ("labels.npz", [], "cannot be evaluated"),
        ("good.npz", ["--batch-size", "0"], "--batch-size must be at least 1"),
        ("good.npz", ["--directions", "hessian", "--hessian-iters", "0"], "--hessian-iters must be at least 1"),
        ("good.npz", ["--grid", "0x3"], "at least 1"),
    ],
)
def test_landscape_bad_inputs(torch_model, tmp_path, data, extra, needle):
    args = ["landscape", torch_model / "model.pt", "--data", torch_model / data, "--grid", "3x3", "--no-progress"]
    code, err = run([*args, *extra, "--out", tmp_path / "l.safetensors"])
    assert_one_line(code, err, needle)
    assert not (tmp_path / "l.safetensors").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["growth", "fit", CSV, "--horizon", "100000000"], "at most 1200"),
        (["serve", "--max-upload-mb", "inf", "--port", "0"], "--max-upload-mb"),
        (["serve", "--max-upload-mb", "nan", "--port", "0"], "--max-upload-mb"),
        (["export", "demo:landscape", "--out", "x.png", "--size", "0x10"], "size"),
    ],
)
def test_bad_numbers_are_one_line(args, needle):
    assert_one_line(*run(args), needle)


def test_view_without_a_display_says_how_to_export(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    code, err = run(["view", "demo:landscape"])
    assert_one_line(code, err, "no display")
    assert "hubscape export" in err
    monkeypatch.setenv("DISPLAY", ":987")
    code, err = run(["view", "demo:landscape"])
    assert_one_line(code, err, "not running")
