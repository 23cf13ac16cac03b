"""The digits data, BadNets poisoning, deterministic training and checkpoints."""

from __future__ import annotations

import numpy as np

from hubscape.analytics.activations.digits import (
    load_checkpoint,
    load_digits_split,
    poison,
    save_checkpoint,
    seeded_cnn,
    train,
)
from hubscape.analytics.activations.trigger import PatchTrigger


def test_split_and_poisoning():
    data = load_digits_split(seed=0)
    assert data.x_train.shape[1:] == (1, 16, 16) and len(data.x_train) + len(data.x_test) == 1797
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    trig = PatchTrigger(target=7)
    x, y, idx = poison(data.x_train, data.y_train, trig, 0.1, seed=0)
    assert len(idx) == round(0.1 * len(data.y_train))
    assert np.all(data.y_train[idx] != 7) and np.all(y[idx] == 7)
    np.testing.assert_array_equal(x[idx], trig.apply(data.x_train[idx]))
    rest = np.setdiff1d(np.arange(len(y)), idx)
    np.testing.assert_array_equal(x[rest], data.x_train[rest])
    np.testing.assert_array_equal(y[rest], data.y_train[rest])


def test_training_is_deterministic_for_a_seed_and_checkpoints_round_trip(tmp_path):
    import torch

    data = load_digits_split(seed=0)
    x, y = data.x_train[:300], data.y_train[:300]
    cfg = {"channels": [4, 8], "hidden": 16}
    a, b, c = seeded_cnn(5, cfg), seeded_cnn(5, cfg), seeded_cnn(6, cfg)
    la, lb = train(a, x, y, epochs=2, seed=5), train(b, x, y, epochs=2, seed=5)
    train(c, x, y, epochs=2, seed=6)
    assert la == lb and la[1] < la[0]
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert not torch.equal(a.conv1.weight, c.conv1.weight)
    path = save_checkpoint(tmp_path / "m.pt", a, cfg, PatchTrigger())
    loaded, payload = load_checkpoint(path)
    assert payload["trigger"]["spec"] == PatchTrigger().spec()
    with torch.no_grad():
        xt = torch.as_tensor(data.x_test[:50])
        assert torch.equal(loaded(xt), a(xt))
