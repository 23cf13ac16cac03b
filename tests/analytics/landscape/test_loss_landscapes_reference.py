"""Our grids equal the loss-landscapes library's (PyPI 3.0.6) where the methods coincide.

loss-landscapes walks its grid with in-place steps; its index conventions are reproduced
here from its source (loss_landscapes/main.py): ``linear_interpolation`` evaluates
start + (i + 1)/steps (end - start); ``planar_interpolation`` and ``random_plane`` evaluate
column i at offsets j + 1 along the second axis for even i and j for odd i (a serpentine
walk). Models are float64 so that its accumulated in-place steps do not blur the comparison.
"""

from __future__ import annotations

import loss_landscapes
import numpy as np
import pytest
import torch
from loss_landscapes.metrics import Loss
from loss_landscapes.model_interface.model_parameters import ModelParameters

from hubscape.analytics.landscape import (
    Directions,
    Objective,
    compute_landscape,
    interpolation_direction,
    plane_directions,
    random_directions,
)


@pytest.fixture
def problem():
    torch.manual_seed(0)

    def make():
        return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()

    models = [make() for _ in range(3)]
    X = torch.randn(50, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (50,))
    return models, X, y


def serpentine(ours_y_by_x, steps):
    """Our (steps+1) x steps block -> loss-landscapes' data[i][j] layout."""
    out = np.zeros((steps, steps))
    for i in range(steps):
        for j in range(steps):
            out[i, j] = ours_y_by_x[j + 1 if i % 2 == 0 else j, i]
    return out


def test_linear_interpolation_matches(problem):
    (a, b, _), X, y = problem
    steps = 20
    theirs = loss_landscapes.linear_interpolation(
        a, b, Loss(torch.nn.functional.cross_entropy, X, y), steps=steps, deepcopy_model=True
    )
    obj = Objective(a, [(X, y)], torch.nn.functional.cross_entropy)
    ours = compute_landscape(obj, interpolation_direction(a, b), grid=(steps,), span=(1 / steps, 1.0))
    np.testing.assert_allclose(ours.loss, theirs, rtol=0, atol=1e-9)


def test_planar_interpolation_matches(problem):
    (a, b, c), X, y = problem
    steps = 8
    theirs = loss_landscapes.planar_interpolation(
        a, b, c, Loss(torch.nn.functional.cross_entropy, X, y), steps=steps, deepcopy_model=True
    )
    obj = Objective(a, [(X, y)], torch.nn.functional.cross_entropy)
    ours = compute_landscape(
        obj, plane_directions(a, b, c, orthogonal=False), grid=(steps + 1, steps + 1), span=(0.0, 1.0)
    )
    np.testing.assert_allclose(serpentine(ours.loss, steps), theirs, rtol=0, atol=1e-9)


def test_random_plane_with_our_filter_normalized_directions_matches(problem, monkeypatch):
    (a, _, _), X, y = problem
    steps, distance = 10, 2.0
    dirs = random_directions(a, seed=4)  # filter-normalized, biases ignored, orthogonal
    # inject our directions where loss-landscapes draws its own
    monkeypatch.setattr(
        loss_landscapes.main, "rand_u_like", lambda example: ModelParameters([dirs.d1[k].clone() for k in dirs.d1])
    )
    monkeypatch.setattr(
        loss_landscapes.main, "orthogonal_to", lambda vector: ModelParameters([dirs.d2[k].clone() for k in dirs.d2])
    )
    theirs = loss_landscapes.random_plane(
        a,
        Loss(torch.nn.functional.cross_entropy, X, y),
        distance=distance,
        steps=steps,
        normalization=None,
        deepcopy_model=True,
    )
    # it rescales each direction to length |start| / distance / steps per step
    start_norm = float(torch.cat([p.detach().reshape(-1) for p in a.parameters()]).norm())
    step = start_norm / distance / steps
    unit = Directions(
        method="filter",
        origin=dirs.origin,
        d1={k: v / dirs_norm(dirs.d1) for k, v in dirs.d1.items()},
        d2={k: v / dirs_norm(dirs.d2) for k, v in dirs.d2.items()},
    )
    obj = Objective(a, [(X, y)], torch.nn.functional.cross_entropy)
    ours = compute_landscape(obj, unit, grid=(steps + 1, steps + 1), span=(-steps / 2 * step, steps / 2 * step))
    np.testing.assert_allclose(serpentine(ours.loss, steps), theirs, rtol=0, atol=1e-9)
    assert np.ptp(theirs) > 0.05  # the plane is not flat: the comparison has teeth


def dirs_norm(d):
    return float(torch.sqrt(sum((v**2).sum() for v in d.values())))
