"""landscape(): one call from a model and its data to a landscape, equal to building the
objective and the directions by hand; direction choice and metric names resolved in one place."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import (
    Objective,
    compute_landscape,
    interpolation_direction,
    make_directions,
    random_directions,
)
from hubscape.analytics.landscape.api import landscape
from hubscape.core.errors import InputError

CE = torch.nn.functional.cross_entropy


def test_the_default_is_the_filter_normalized_plane_built_by_hand(mlp_problem):
    model, batches, _, _ = mlp_problem
    res = landscape(model, batches, CE, grid=(5, 4), span=0.5, metrics=["accuracy"])
    ref = compute_landscape(
        Objective(model, batches, CE, metrics=["accuracy"]), random_directions(model), grid=(5, 4), span=0.5
    )
    np.testing.assert_array_equal(res.loss, ref.loss)
    np.testing.assert_array_equal(res.metrics["accuracy"], ref.metrics["accuracy"])
    assert res.meta["method"] == "filter" and res.meta["direction"] == ref.meta["direction"]


def test_interpolation_to_another_model_with_named_markers(mlp_problem):
    model, batches, X, y = mlp_problem
    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.3)
    res = landscape(model, batches, CE, directions="interpolate", others=[other], names=["a", "b"], grid=5, span=(0, 1))
    assert res.dims == 1 and res.markers == {"a": (0.0,), "b": (1.0,)}
    with torch.no_grad():
        assert res.loss[-1] == pytest.approx(float(CE(other(X), y)), abs=1e-5)
    ref = compute_landscape(
        Objective(model, batches, CE), interpolation_direction(model, other), grid=(5,), span=(0, 1)
    )
    np.testing.assert_array_equal(res.loss, ref.loss)


def test_ready_made_directions_an_int_grid_and_metric_functions(mlp_problem):
    model, batches, _, _ = mlp_problem
    dirs = random_directions(model, seed=3, normalization="layer")

    def top2(out, t):
        return (out.topk(2, dim=-1).indices == t[:, None]).any(-1).float().mean()

    res = landscape(model, batches, CE, directions=dirs, grid=3, metrics={"acc": "accuracy", "top2": top2})
    assert res.loss.shape == (3, 3) and set(res.metrics) == {"acc", "top2"}
    assert (res.metrics["top2"] >= res.metrics["acc"]).all()
    with pytest.raises(InputError, match="unknown metric 'f1'"):
        landscape(model, batches, CE, grid=3, metrics={"f1": "f1"})
    with pytest.raises(InputError, match="others= goes with a direction method"):
        landscape(model, batches, CE, directions=dirs, others=[model])


@pytest.mark.parametrize(
    "method, others, dims, message",
    [
        ("interpolate", 0, 1, "takes exactly one --other"),
        ("plane", 1, 2, "takes exactly two --other"),
        ("pca", 1, 2, "at least 2 --other"),
        ("filter", 1, 2, "takes no --other"),
        ("interpolate", 1, 2, "is a line"),
        ("sideways", 0, 2, "unknown directions 'sideways'"),
    ],
)
def test_direction_choice_checks_the_other_checkpoints(mlp_problem, method, others, dims, message):
    model, batches, _, _ = mlp_problem
    with pytest.raises(InputError, match=message):
        make_directions(method, Objective(model, batches, CE), [model] * others, dims=dims)


def test_random_method_defaults_to_no_normalization(mlp_problem):
    model, batches, _, _ = mlp_problem
    obj = Objective(model, batches, CE)
    raw = make_directions("random", obj, seed=2)
    assert raw.method == "random" and raw.meta["normalization"] is None
    ref = random_directions(model, seed=2, normalization=None)
    assert all(torch.equal(raw.d1[k], ref.d1[k]) for k in ref.d1)
    assert make_directions("filter", obj, normalization="none").meta["normalization"] is None
