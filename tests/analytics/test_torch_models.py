"""One model loader for every command: `landscape` reads the checkpoints of `hubscape demo
backdoor`, and `activations` reads modules saved whole with torch.save(module)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hubscape.analytics.activations.digits import save_checkpoint, seeded_cnn  # noqa: E402
from hubscape.analytics.torch_models import load_torch_model  # noqa: E402
from hubscape.core.bundle import read_bundle  # noqa: E402
from hubscape.core.errors import InputError  # noqa: E402
from hubscape.viewer.cli import main  # noqa: E402


def cli(args) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main([str(a) for a in args])
    assert code == 0, err.getvalue()
    return code


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    cnn = seeded_cnn(0)
    save_checkpoint(folder / "ckpt.pt", cnn)
    torch.save(cnn, folder / "whole.pt")
    torch.save(cnn.state_dict(), folder / "state.pt")
    rng = np.random.default_rng(0)
    np.savez(folder / "images.npz", X=rng.random((12, 1, 16, 16)).astype(np.float32), y=rng.integers(0, 10, 12))
    return folder


def test_both_kinds_of_file_load_to_the_same_network(files):
    a, payload = load_torch_model(files / "ckpt.pt")
    b, none = load_torch_model(files / "whole.pt")
    x = torch.zeros(2, 1, 16, 16)
    assert payload["arch"] == "hubscape-digits-cnn" and none == {}
    assert torch.equal(a(x), b(x)) and not a.training
    with pytest.raises(InputError, match="not a hubscape checkpoint, not a torch module"):
        load_torch_model(files / "state.pt")


def test_landscape_of_a_demo_checkpoint(files, tmp_path):
    out = tmp_path / "l.safetensors"
    cli(
        ["landscape", files / "ckpt.pt", "--data", files / "images.npz", "--grid", "3x3", "--no-progress", "--out", out]
    )
    assert read_bundle(out, kind="landscape").arrays["loss"].shape == (3, 3)


def test_activations_of_a_whole_module(files, tmp_path):
    out = tmp_path / "a.safetensors"
    cli(["activations", files / "whole.pt", "--inputs", files / "images.npz", "--gradcam", "0", "--out", out])
    assert read_bundle(out, kind="activations").meta["layers"]
