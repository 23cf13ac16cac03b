"""The batched grid path (batched.py) equals a naive set-the-weights-and-evaluate loop for every
module kind it batches, in 1D and 2D, with metrics, sliced batches, custom losses and gaps."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import (
    Objective,
    compute_landscape,
    interpolation_direction,
    load_landscape,
    random_directions,
)
from hubscape.analytics.landscape import batched as BT
from hubscape.core.errors import InputError


def naive(model, dirs, res, batches, fn):
    """``fn(outputs, targets)`` averaged over the batches (weighted by size) at every grid point,
    the point's weights loaded into a copy of the model."""
    m = copy.deepcopy(model).eval()
    ys = res.y if res.y is not None else [0.0]
    n = sum(len(t) for _, t in batches)
    out = np.zeros((len(ys), len(res.x)))
    for j, b in enumerate(ys):
        for i, a in enumerate(res.x):
            m.load_state_dict({**m.state_dict(), **dirs.point(float(a), float(b))})
            with torch.no_grad():
                out[j, i] = sum(float(fn(m(x), t)) * len(t) for x, t in batches) / n
    return out if res.y is not None else out[0]


def acc(outputs, targets):
    return (outputs.argmax(1) == targets).float().mean()


def deep_cnn():
    """Every batched kind: a prefix, a first conv whose 7x7 output meets a 2x2 max pool (fused,
    cropped), a second conv with moving filters (grouped), batch norm, an overlapping pool
    (strided slices), average pooling, GELU, a hidden Linear and the classifier."""
    torch.manual_seed(3)
    nn = torch.nn
    model = nn.Sequential(
        nn.Unflatten(1, (1, 9, 9)),
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 2, padding=1),
        nn.BatchNorm2d(6),
        nn.GELU(),
        nn.MaxPool2d(3, stride=1),
        nn.AvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 8),
        nn.Dropout(0.5),
        nn.Tanh(),
        nn.Linear(8, 5),
    )
    with torch.no_grad():
        model[5].running_mean.uniform_(-0.2, 0.2)
        model[5].running_var.uniform_(0.5, 2.0)
    X = torch.randn(50, 81)
    y = torch.randint(0, 5, (50,))
    return model.eval(), [(X[:30], y[:30]), (X[30:], y[30:])]


def problems(request, name):
    if name == "deep_cnn":
        return deep_cnn()
    model, batches, _, _ = request.getfixturevalue(name)
    with torch.no_grad():  # non-trivial norm weights (a zero bias has a zero filter-normalized direction)
        for mod in model:
            if isinstance(mod, (torch.nn.LayerNorm, torch.nn.BatchNorm2d)):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
    return model, batches


@pytest.mark.parametrize("name", ["mlp_problem", "cnn_problem", "deep_cnn"])
@pytest.mark.parametrize("dims", [1, 2])
def test_batched_grid_equals_the_naive_loop_with_metrics(name, dims, request):
    model, batches = problems(request, name)
    obj = Objective(model, batches, torch.nn.functional.cross_entropy, metrics=["accuracy"])
    dirs = random_directions(model, dims=dims, seed=5, ignore=[])  # biases and norm layers move too
    grid = (9, 7) if dims == 2 else (13,)
    res = compute_landscape(obj, dirs, grid=grid, span=0.8)
    assert res.meta["batched"] is True and res.meta["vectorized"] is False and res.complete
    ce = torch.nn.functional.cross_entropy
    np.testing.assert_allclose(res.loss, naive(model, dirs, res, batches, ce), atol=1e-5, rtol=0)
    np.testing.assert_allclose(res.metrics["accuracy"], naive(model, dirs, res, batches, acc), atol=1e-6)
    plain = compute_landscape(obj, dirs, grid=grid, span=0.8, batched=False, vectorize=False)
    assert plain.meta["batched"] is False
    np.testing.assert_allclose(res.loss, plain.loss, atol=1e-5, rtol=0)


def test_the_first_max_pool_is_fused_and_slices_of_samples_add_up(monkeypatch):
    model, batches = deep_cnn()
    obj = Objective(model, batches, torch.nn.CrossEntropyLoss(), metrics=["accuracy"])
    dirs = random_directions(model, seed=1)
    from hubscape.analytics.landscape.evaluators import Batched
    from hubscape.analytics.landscape.shortcut import FirstLayerTerms, first_layer_split

    terms = FirstLayerTerms(obj, first_layer_split(model), dirs.origin, dirs.d1, dirs.d2)
    fast = Batched.build(obj, terms, dirs.origin, dirs.d1, dirs.d2, list(dirs.origin))
    kinds = [kind for _, _, kind in fast.stack.steps]
    assert kinds[:2] == ["block_max", "elementwise"]  # the pool moved before the ReLU
    assert tuple(fast.stack.terms[0][1]) == (4, 4, 3, 3)  # 2x2 windows first, the 7x7 map cropped to 6x6
    whole = compute_landscape(obj, dirs, grid=(5, 4), span=0.5)
    monkeypatch.setattr(BT, "SLICE_BYTES", 4096)  # a few samples per slice
    sliced = compute_landscape(obj, dirs, grid=(5, 4), span=0.5)
    assert whole.meta["batched"] and sliced.meta["batched"]
    np.testing.assert_allclose(sliced.loss, whole.loss, atol=1e-6, rtol=0)
    np.testing.assert_allclose(sliced.metrics["accuracy"], whole.metrics["accuracy"], atol=1e-6)
    np.testing.assert_allclose(
        whole.loss, naive(model, dirs, whole, batches, torch.nn.CrossEntropyLoss()), atol=1e-5, rtol=0
    )


def test_mse_and_a_custom_loss_and_metric(mlp_problem):
    model, batches, X, _ = mlp_problem
    targets = [(x, torch.stack([x.sum(1), x[:, 0], -x[:, 1]], 1)) for x, _ in batches]

    def huberish(out, t):  # unknown to batched.py: called once per point
        return torch.nn.functional.smooth_l1_loss(out, t) + out.abs().max()

    def spread(out, t):
        return out.std()

    dirs = random_directions(model, seed=2)
    for loss, metrics in ((torch.nn.functional.mse_loss, None), (huberish, {"spread": spread})):
        obj = Objective(model, targets, loss, metrics=metrics)
        res = compute_landscape(obj, dirs, grid=(6, 5), span=1.0, chunk=7)
        assert res.meta["batched"] is True
        np.testing.assert_allclose(res.loss, naive(model, dirs, res, targets, loss), atol=1e-5, rtol=0)
        if metrics:
            np.testing.assert_allclose(res.metrics["spread"], naive(model, dirs, res, targets, spread), atol=1e-5)


def test_non_finite_losses_are_gaps_on_the_batched_path(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(1, 1, bias=False), torch.nn.Identity())
    other = copy.deepcopy(model)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        other[0].weight.fill_(-1.0)

    def log_loss(out, target):  # log(w): NaN for w < 0, -inf at w = 0
        return torch.log(out).mean()

    obj = Objective(model, [(torch.ones(4, 1), torch.zeros(4))], log_loss)
    out = tmp_path / "gaps.safetensors"
    res = compute_landscape(obj, interpolation_direction(model, other), grid=(5,), span=(0.0, 1.0), out=out)
    assert res.meta["batched"] is True
    assert np.isfinite(res.loss[:2]).all() and np.isnan(res.loss[2:]).all()
    np.testing.assert_allclose(load_landscape(out).loss[:2], [0.0, np.log(0.5)], atol=1e-6)


def test_models_that_do_not_qualify_keep_the_per_point_path(mlp_problem):
    model, batches, _, _ = mlp_problem
    prelu = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.PReLU(), torch.nn.Linear(4, 3))
    for m in (prelu, torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.Softmax(dim=0)), model[0]):
        obj = Objective(m, batches, torch.nn.functional.cross_entropy)
        res = compute_landscape(obj, random_directions(m, seed=0), grid=(3, 3))
        assert res.meta["batched"] is False
        with pytest.raises(InputError, match="batched evaluation needs"):
            compute_landscape(obj, random_directions(m, seed=0), grid=(3, 3), batched=True)


def test_a_failing_batched_run_falls_back_to_single_points(mlp_problem, monkeypatch):
    model, batches, X, y = mlp_problem

    def unsupported(*args, **kwargs):
        raise RuntimeError("no kernel for this dtype")

    monkeypatch.setattr(BT.BatchedStack, "evaluate", unsupported)
    obj = Objective(model, batches, torch.nn.functional.cross_entropy)
    dirs = random_directions(model, seed=4)
    res = compute_landscape(obj, dirs, grid=(4, 3))
    assert res.meta["batched"] is False and "no kernel" in res.meta["batched_fallback"]
    np.testing.assert_allclose(
        res.loss, naive(model, dirs, res, batches, torch.nn.functional.cross_entropy), atol=1e-5, rtol=0
    )


@pytest.mark.parametrize("onednn", [False, True])
@pytest.mark.parametrize("slice_bytes", [None, 2048])
def test_reused_buffers_row_blocks_and_uneven_chunks_equal_the_naive_loop(slice_bytes, onednn, monkeypatch):
    """Chunks of 11, 11 and 8 points and batches of 40 and 25 samples share the buffers of the
    first layer (feature-major) and of both moving Linear layers (one without a bias); the first
    layer runs in blocks of 3 points; the Linears as batched GEMMs or oneDNN grouped convolutions."""
    torch.manual_seed(7)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(5, 9), nn.ReLU(), nn.Linear(9, 7, bias=False), nn.ReLU(), nn.Linear(7, 4)).eval()
    X = torch.randn(65, 5)
    y = torch.randint(0, 4, (65,))
    batches = [(X[:40], y[:40]), (X[40:], y[40:])]
    monkeypatch.setattr(BT, "FIRST_ROWS", 3)
    calls = []
    if onednn:
        monkeypatch.setattr(BT, "ONEDNN_MIN_FLOPS", 0)
        conv = torch.mkldnn_convolution
        monkeypatch.setattr(torch, "mkldnn_convolution", lambda *a: calls.append(1) or conv(*a))
    else:
        monkeypatch.setattr(BT, "ONEDNN_MIN_FLOPS", float("inf"))
    if slice_bytes:
        monkeypatch.setattr(BT, "SLICE_BYTES", slice_bytes)  # a few samples per slice
    obj = Objective(model, batches, torch.nn.functional.cross_entropy, metrics=["accuracy"])
    dirs = random_directions(model, seed=8, ignore=[])
    res = compute_landscape(obj, dirs, grid=(6, 5), span=1.5, chunk=11)
    assert res.meta["batched"] is True
    ce = torch.nn.functional.cross_entropy
    np.testing.assert_allclose(res.loss, naive(model, dirs, res, batches, ce), atol=1e-5, rtol=0)
    np.testing.assert_allclose(res.metrics["accuracy"], naive(model, dirs, res, batches, acc), atol=1e-6)
    assert bool(calls) == (onednn and torch.backends.mkldnn.is_available())


def test_cross_entropy_with_ignored_targets_is_called_per_point(mlp_problem):
    """Targets holding ignore_index do not fit the batched cross-entropy (checked once per batch):
    that batch's loss runs once per point, the other batch stays batched; both equal the loop."""
    model, batches, _, _ = mlp_problem
    (x0, t0), (x1, t1) = batches
    t1 = t1.clone()
    t1[::5] = 2
    loss = torch.nn.CrossEntropyLoss(ignore_index=2)
    obj = Objective(model, [(x0, t0.clamp(max=1)), (x1, t1)], loss)
    dirs = random_directions(model, seed=9)
    res = compute_landscape(obj, dirs, grid=(5, 4), span=1.0, chunk=6)
    assert res.meta["batched"] is True
    np.testing.assert_allclose(res.loss, naive(model, dirs, res, obj.batches, loss), atol=1e-5, rtol=0)
