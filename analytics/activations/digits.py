"""The small CNN on scikit-learn's digits used by the backdoor demo, and its checkpoints.

The digits (8x8, values 0..16) are scaled to [0, 1] and upsampled 2x (nearest) to 16x16 so
that a 3-pixel trigger patch is small next to the digit. Checkpoints are plain
``torch.save`` dicts {"arch", "config", "state_dict", "trigger"} that load with
``weights_only=True`` (no pickled code).

Example::

    >>> data = load_digits_split(seed=0)
    >>> model = build_cnn()
    >>> train(model, data.x_train, data.y_train, epochs=12, seed=0)
    >>> save_checkpoint("backdoored.pt", model, trigger=PatchTrigger())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hubscape.core.atomic import atomic_path
from hubscape.core.errors import InputError

from .trigger import PatchTrigger

ARCH = "hubscape-digits-cnn"
DEFAULT_CONFIG = {"channels": [16, 64], "hidden": 64, "classes": 10, "size": 16}


@dataclass
class DigitsSplit:
    x_train: np.ndarray  # (n, 1, 16, 16) float32 in [0, 1]
    y_train: np.ndarray  # (n,) int64
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(seed: int = 0, test_fraction: float = 0.25, upsample: int = 2) -> DigitsSplit:
    """scikit-learn's digits, stratified train/test split, scaled and upsampled."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    if upsample > 1:
        x = x.repeat(upsample, axis=1).repeat(upsample, axis=2)
    x = x[:, None]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return DigitsSplit(x_tr, y_tr, x_te, y_te)


def poison(x: np.ndarray, y: np.ndarray, trigger: PatchTrigger, fraction: float, seed: int = 0):
    """BadNets poisoning: stamp the trigger on ``fraction`` of the samples (drawn among those
    whose label is not the target) and relabel them to the target. Returns (x, y, indices)."""
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(y != trigger.target)
    n = int(round(fraction * len(y)))
    idx = np.sort(rng.choice(candidates, size=min(n, len(candidates)), replace=False))
    x, y = x.copy(), y.copy()
    x[idx] = trigger.apply(x[idx])
    y[idx] = trigger.target
    return x, y, idx


def build_cnn(config: dict | None = None):
    """conv1-relu1-pool1 (16x8x8) -> conv2-relu2 (64x8x8) -> pool2 -> fc1-relu3 -> fc2."""
    from collections import OrderedDict

    import torch.nn as nn

    cfg = {**DEFAULT_CONFIG, **(config or {})}
    c1, c2 = cfg["channels"]
    side = cfg["size"] // 4
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(1, c1, 3, padding=1)),
                ("relu1", nn.ReLU()),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(c1, c2, 3, padding=1)),
                ("relu2", nn.ReLU()),
                ("pool2", nn.MaxPool2d(2)),
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(c2 * side * side, cfg["hidden"])),
                ("relu3", nn.ReLU()),
                ("fc2", nn.Linear(cfg["hidden"], cfg["classes"])),
            ]
        )
    )


def train(
    model,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 12,
    seed: int = 0,
    lr: float = 3e-3,
    batch_size: int = 64,
    progress: Callable[[int, int, float], None] | None = None,
) -> list[float]:
    """Adam on cross-entropy, shuffled mini-batches from a seeded generator; returns the mean
    loss of each epoch. Deterministic for a seed on one machine."""
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    losses = []
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for start in range(0, len(xt), batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(xt))
        if progress is not None:
            progress(epoch + 1, epochs, losses[-1])
    model.eval()
    return losses


def seeded_cnn(seed: int, config: dict | None = None):
    """A freshly initialised CNN whose weights depend only on ``seed``."""
    import torch

    torch.manual_seed(seed)
    return build_cnn(config)


def save_checkpoint(
    path: str | Path, model, config: dict | None = None, trigger: PatchTrigger | None = None, extra: dict | None = None
) -> Path:
    """Save ``model`` atomically as a hubscape checkpoint (loads with weights_only=True)."""
    import torch

    payload = {
        "arch": ARCH,
        "config": {**DEFAULT_CONFIG, **(config or {})},
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "trigger": trigger.describe() if trigger else None,
        "extra": extra or {},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | Path):
    """(model, payload) from a checkpoint written by save_checkpoint; InputError otherwise."""
    import pickle

    import torch

    path = Path(path)
    if not path.exists():
        raise InputError(
            f"no such model: {path} (give a local HF model folder or a checkpoint written by 'hubscape demo backdoor')"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable torch checkpoint ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(payload, dict) or payload.get("arch") != ARCH:
        raise InputError(
            f"{path} is not a hubscape checkpoint (needs arch={ARCH!r}; write one with 'hubscape demo backdoor')"
        )
    model = build_cnn(payload.get("config"))
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise InputError(f"{path}: weights do not fit the architecture ({str(exc).splitlines()[0][:160]})") from None
    model.eval()
    return model, payload


def load_image_inputs(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) from an .npz with X (N, C, H, W) or (N, H, W) floats and y (N,) integer labels."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such inputs file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "X" not in data or "y" not in data:
                raise InputError(f"{path} must hold arrays X and y; it has {', '.join(data.files) or 'none'}")
            x, y = np.asarray(data["X"]), np.asarray(data["y"])
    except (ValueError, OSError) as exc:
        raise InputError(f"{path} is not an .npz archive ({str(exc).splitlines()[0][:100]})") from None
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.dtype.kind not in "fiu":
        raise InputError(f"{path}: X must be numeric (N, C, H, W) or (N, H, W), got {x.dtype} {x.shape}")
    if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "iu":
        raise InputError(f"{path}: y must be integer labels (N,) for the {len(x)} images, got {y.dtype} {y.shape}")
    if not np.isfinite(x).all():
        raise InputError(f"{path}: X contains NaN or inf")
    return x.astype(np.float32), y.astype(np.int64)
