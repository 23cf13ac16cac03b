"""Fixtures of the activation tests: a tiny backdoored digits CNN trained once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass
class TinyBackdoor:
    model: object
    trigger: object
    x: np.ndarray
    y: np.ndarray
    checkpoint: Path
    inputs: Path


@pytest.fixture(scope="session")
def tiny_backdoor(tmp_path_factory) -> TinyBackdoor:
    """A small CNN (4 and 8 channels) trained 4 epochs on poisoned digits, saved as a
    hubscape checkpoint with 200 test images as an .npz."""
    import torch

    from hubscape.analytics.activations.digits import load_digits_split, poison, save_checkpoint, seeded_cnn, train
    from hubscape.analytics.activations.trigger import PatchTrigger

    torch.set_num_threads(1)
    config = {"channels": [4, 8], "hidden": 16}
    data = load_digits_split(seed=1)
    trig = PatchTrigger(size=3, corner="br", target=0)
    xp, yp, _ = poison(data.x_train, data.y_train, trig, 0.1, seed=1)
    model = seeded_cnn(1, config)
    train(model, xp, yp, epochs=4, seed=1)
    folder = tmp_path_factory.mktemp("tiny_backdoor")
    ckpt = save_checkpoint(folder / "tiny.pt", model, config, trig)
    x, y = data.x_test[:200], data.y_test[:200]
    np.savez(folder / "inputs.npz", X=x, y=y)
    return TinyBackdoor(model, trig, x, y, ckpt, folder / "inputs.npz")
