"""Grids: the centre is the model's loss, every point equals a naive set-weights-and-evaluate
loop, non-finite losses are gaps, partial grids resume, out-of-memory gives advice."""

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
from hubscape.core.errors import InputError


def naive_grid(model, dirs, res, X, y, metric=None):
    """Load the weights of every point into a copy of the model and evaluate it plainly."""
    m = copy.deepcopy(model).eval()
    ys = res.y if res.y is not None else [0.0]
    out = np.zeros((len(ys), len(res.x)))
    for j, b in enumerate(ys):
        for i, a in enumerate(res.x):
            m.load_state_dict({**m.state_dict(), **dirs.point(float(a), float(b))})
            with torch.no_grad():
                logits = m(X)
                out[j, i] = float(metric(logits, y) if metric else torch.nn.functional.cross_entropy(logits, y))
    return out if res.y is not None else out[0]


@pytest.mark.parametrize("fixture", ["mlp_problem", "cnn_problem"])
@pytest.mark.parametrize("vectorize", [True, False])
@pytest.mark.parametrize("shortcut", [True, False])
def test_grid_equals_a_naive_loop_and_the_centre_is_the_models_loss(fixture, vectorize, shortcut, request):
    model, batches, X, y = request.getfixturevalue(fixture)
    obj = Objective(model, batches, torch.nn.functional.cross_entropy, metrics=["accuracy"])
    dirs = random_directions(model, seed=7, ignore=["norm"])  # biases move too
    res = compute_landscape(
        obj, dirs, grid=(9, 7), span=0.8, chunk=10, vectorize=vectorize, shortcut=shortcut, batched=False
    )  # the generic paths; test_batched.py covers the batched one
    assert res.meta["shortcut"] == ("0" if shortcut else None) and res.meta["batched"] is False
    assert res.loss.shape == (7, 9) and res.complete and res.done.all()
    with torch.no_grad():
        plain = float(torch.nn.functional.cross_entropy(model(X), y))
        plain_acc = float((model(X).argmax(1) == y).float().mean())
    assert res.center_loss == pytest.approx(plain, abs=1e-6)
    assert res.loss[3, 4] == pytest.approx(plain, abs=1e-6)  # (x=0, y=0) is on the grid
    np.testing.assert_allclose(res.loss, naive_grid(model, dirs, res, X, y), atol=1e-5, rtol=0)
    acc = naive_grid(model, dirs, res, X, y, metric=lambda o, t: (o.argmax(1) == t).float().mean())
    np.testing.assert_allclose(res.metrics["accuracy"], acc, atol=1e-6)
    assert res.center_metrics["accuracy"] == pytest.approx(plain_acc)
    assert res.meta["vectorized"] is vectorize


def test_one_dimensional_interpolation_and_determinism(mlp_problem):
    model, batches, X, y = mlp_problem
    torch.manual_seed(9)
    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.3 * torch.randn_like(p))
    obj = Objective(model, batches, torch.nn.functional.cross_entropy)
    dirs = interpolation_direction(model, other)
    res = compute_landscape(obj, dirs, grid=(11,), span=(0.0, 1.0))
    np.testing.assert_allclose(res.loss, naive_grid(model, dirs, res, X, y), atol=1e-5)
    with torch.no_grad():
        assert res.loss[-1] == pytest.approx(float(torch.nn.functional.cross_entropy(other(X), y)), abs=1e-5)
    again = compute_landscape(obj, interpolation_direction(model, other), grid=(11,), span=(0.0, 1.0))
    np.testing.assert_array_equal(res.loss, again.loss)
    a = compute_landscape(obj, random_directions(model, seed=3), grid=(5, 5))
    b = compute_landscape(obj, random_directions(model, seed=3), grid=(5, 5))
    np.testing.assert_array_equal(a.loss, b.loss)


def test_non_finite_losses_are_gaps_in_the_bundle(tmp_path):
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    other = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        other.weight.fill_(-1.0)
    X = torch.ones(4, 1)

    def log_loss(out, target):  # log(w): NaN for w < 0, -inf at w = 0
        return torch.log(out).mean()

    obj = Objective(model, [(X, torch.zeros(4))], log_loss)
    out = tmp_path / "gaps.safetensors"
    res = compute_landscape(obj, interpolation_direction(model, other), grid=(5,), span=(0.0, 1.0), out=out)
    # w = 1 - 2x: x = 0, .25 finite; x = .5 is -inf; .75, 1 are NaN
    assert np.isfinite(res.loss[:2]).all() and np.isnan(res.loss[2:]).all()
    back = load_landscape(out)
    assert back.complete and back.done.all() and np.isnan(back.loss[2:]).all()
    np.testing.assert_allclose(back.loss[:2], [0.0, np.log(0.5)], atol=1e-6)
    from hubscape.core.bundle import read_bundle

    assert read_bundle(out).meta["n_gaps"] == 3


class Killed(BaseException):
    """Stands in for a kill signal (like KeyboardInterrupt) arriving while a chunk is evaluated."""


@pytest.mark.parametrize("shortcut", [True, False])
def test_a_killed_run_resumes_to_the_same_grid(mlp_problem, tmp_path, monkeypatch, shortcut):
    from hubscape.analytics.landscape.evaluators import Batched, PointByPoint

    model, batches, X, y = mlp_problem
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    obj = Objective(model, batches, torch.nn.functional.cross_entropy, metrics=["accuracy"])
    kw = dict(grid=(6, 5), chunk=4, shortcut=shortcut, vectorize=False)
    full = compute_landscape(obj, random_directions(model, seed=1), **kw)
    out = tmp_path / "partial.safetensors"
    owner, attr = (Batched if shortcut else PointByPoint), "__call__"  # the path each setting takes
    real = getattr(owner, attr)
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attr, dying)
    with pytest.raises(Killed):
        compute_landscape(obj, random_directions(model, seed=1), out=out, **kw)
    for k, v in model.state_dict().items():  # the per-point path writes weights in place: restored
        assert torch.equal(v, before[k]), k
    partial = load_landscape(out)
    assert not partial.complete and int(partial.done.sum()) == 12  # 3 chunks of 4 saved, the 4th lost
    np.testing.assert_array_equal(partial.loss[partial.done], full.loss[partial.done])
    assert np.isnan(partial.loss[~partial.done]).all()
    monkeypatch.setattr(owner, attr, real)
    with pytest.raises(InputError, match="partial grid .*--resume"):
        compute_landscape(obj, random_directions(model, seed=1), out=out, **kw)
    with pytest.raises(InputError, match="cannot resume"):
        compute_landscape(obj, random_directions(model, seed=2), out=out, resume=True, **kw)
    resumed = compute_landscape(obj, random_directions(model, seed=1), out=out, resume=True, **kw)
    assert resumed.complete
    np.testing.assert_array_equal(resumed.loss, full.loss)
    np.testing.assert_array_equal(resumed.metrics["accuracy"], full.metrics["accuracy"])
    assert load_landscape(out).complete


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
        RuntimeError("[enforce fail] DefaultCPUAllocator: not enough memory: you tried to allocate; out of memory"),
        MemoryError(),
    ],
)
def test_out_of_memory_suggests_a_smaller_chunk(mlp_problem, tmp_path, monkeypatch, error):
    model, batches, _, _ = mlp_problem
    obj = Objective(model, batches, torch.nn.functional.cross_entropy)

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr(Objective, "_terms", boom)
    out = tmp_path / "oom.safetensors"
    with pytest.raises(InputError, match=r"out of memory .*smaller --chunk \(e\.g\. --chunk 4\)"):
        compute_landscape(obj, random_directions(model, seed=0), grid=(4, 4), chunk=16, out=out)
    assert not out.exists()  # nothing was done, so no bundle at all


def test_vmap_failure_falls_back_to_single_calls(mlp_problem, monkeypatch):
    model, batches, X, y = mlp_problem
    obj = Objective(model, batches, torch.nn.functional.cross_entropy)

    def unsupported(*args, **kwargs):
        raise RuntimeError("vmap: data-dependent control flow is not supported")

    monkeypatch.setattr(Objective, "evaluate_stacked", unsupported)
    dirs = random_directions(model, seed=2)
    res = compute_landscape(obj, dirs, grid=(3, 3), shortcut=False, vectorize=True)
    assert res.meta["vectorized"] is False and "control flow" in res.meta["vectorize_fallback"]
    np.testing.assert_allclose(res.loss, naive_grid(model, dirs, res, X, y), atol=1e-5)


def test_bad_grid_and_span_are_input_errors(mlp_problem):
    model, batches, _, _ = mlp_problem
    obj = Objective(model, batches, torch.nn.functional.cross_entropy)
    dirs = random_directions(model)
    with pytest.raises(InputError, match="2 grid size"):
        compute_landscape(obj, dirs, grid=(5,))
    with pytest.raises(InputError, match="upper end"):
        compute_landscape(obj, dirs, grid=(3, 3), span=(1.0, -1.0))
    with pytest.raises(InputError, match="unknown metric"):
        Objective(model, batches, torch.nn.functional.cross_entropy, metrics=["f1"])
