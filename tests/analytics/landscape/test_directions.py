"""Directions: filter normalization, orthogonality, interpolation/plane/PCA geometry, Hessian."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import directions as D
from hubscape.core.errors import InputError


@pytest.mark.parametrize("fixture", ["mlp_problem", "cnn_problem"])
def test_each_filter_has_the_norm_of_the_weights_filter(fixture, request):
    model = request.getfixturevalue(fixture)[0]
    dirs = D.random_directions(model, seed=3, orthogonal=False)
    kinds = D.parameter_kinds(model)
    checked = 0
    for d in (dirs.d1, dirs.d2):
        for name, w in dirs.origin.items():
            if kinds[name] in ("bias", "norm"):
                assert not d[name].any(), f"{name} should be ignored (zero direction)"
                continue
            dn = d[name].reshape(w.shape[0], -1).norm(dim=1)
            wn = w.reshape(w.shape[0], -1).norm(dim=1)
            torch.testing.assert_close(dn, wn, rtol=1e-5, atol=1e-7)
            checked += w.shape[0]
    assert checked > 10


def test_ignoring_nothing_scales_biases_and_norm_layers_as_a_whole(cnn_problem):
    model = cnn_problem[0]
    dirs = D.random_directions(model, seed=0, ignore=[])
    for name in ("0.bias", "1.weight", "1.bias", "4.bias"):
        assert float(dirs.d1[name].norm()) == pytest.approx(float(dirs.origin[name].norm()), rel=1e-5)


def test_ignore_patterns_by_name(mlp_problem):
    dirs = D.random_directions(mlp_problem[0], seed=0, ignore=["3.*"])
    assert not dirs.d1["3.weight"].any() and not dirs.d1["3.bias"].any()
    assert dirs.d1["0.bias"].any()


def test_layer_weight_and_model_normalization(mlp_problem):
    model = mlp_problem[0]
    w = D.weights_of(model)
    layer = D.random_directions(model, seed=1, normalization="layer", ignore=[])
    for k in w:
        assert float(layer.d1[k].norm()) == pytest.approx(float(w[k].norm()), rel=1e-5)
    gen = torch.Generator().manual_seed(1)
    raw = D.gaussian_like(w, gen)
    weight = D.random_directions(model, seed=1, normalization="weight", ignore=[])
    for k in w:
        torch.testing.assert_close(weight.d1[k], raw[k] * w[k])
    whole = D.random_directions(model, seed=1, normalization="model", ignore=[])
    assert D.norm(whole.d1) == pytest.approx(D.norm(w), rel=1e-6)


def test_second_direction_is_orthogonal_and_draws_are_deterministic(cnn_problem):
    model = cnn_problem[0]
    a = D.random_directions(model, seed=5)
    b = D.random_directions(model, seed=5)
    c = D.random_directions(model, seed=6)
    assert abs(D.dot(a.d1, a.d2)) < 1e-6 * D.norm(a.d1) * D.norm(a.d2)
    assert a.meta["cosine_before_orthogonalization"] != 0
    for k in a.d1:
        assert torch.equal(a.d1[k], b.d1[k]) and torch.equal(a.d2[k], b.d2[k])
    assert any(not torch.equal(a.d1[k], c.d1[k]) for k in a.d1 if a.d1[k].any())


def test_interpolation_and_plane_put_the_models_at_their_markers(mlp_problem):
    model = mlp_problem[0]
    torch.manual_seed(11)
    others = [
        torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.LayerNorm(12), torch.nn.Tanh(), torch.nn.Linear(12, 3))
        for _ in range(2)
    ]
    line = D.interpolation_direction(model, others[0], names=("base", "tuned"))
    end = line.point(1.0)
    for k, v in D.weights_of(others[0]).items():
        torch.testing.assert_close(end[k], v)
    plane = D.plane_directions(model, others[0], others[1])
    assert abs(D.dot(plane.d1, plane.d2)) < 1e-6 * D.norm(plane.d1) * D.norm(plane.d2)
    for name, target in zip(("A", "B", "C"), (model, *others)):
        p = plane.point(*plane.markers[name])
        for k, v in D.weights_of(target).items():
            torch.testing.assert_close(p[k], v, rtol=1e-5, atol=1e-5)


def test_mismatching_checkpoints_name_the_first_differing_tensor(mlp_problem):
    model = mlp_problem[0]
    other = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.LayerNorm(12), torch.nn.Tanh(), torch.nn.Linear(12, 4))
    with pytest.raises(InputError, match=r"tensor '3\.weight' has shape \(3, 12\) in base but \(4, 12\) in tuned"):
        D.interpolation_direction(model, other, names=("base", "tuned"))
    with pytest.raises(InputError, match="has no tensor '0.bias'"):
        D.check_compatible(D.weights_of(model), {"0.weight": model[0].weight}, "A", "B")


def test_pca_matches_sklearn_and_projects_the_trajectory():
    from sklearn.decomposition import PCA

    torch.manual_seed(2)
    model = torch.nn.Linear(5, 4)
    ckpts, w = [], D.weights_of(model)
    for _ in range(7):  # a random-walk "training trajectory"
        w = {k: v + 0.1 * torch.randn_like(v) for k, v in w.items()}
        ckpts.append(dict(w))
    dirs = D.pca_directions(ckpts)
    flat = np.stack([np.concatenate([c[k].numpy().ravel() for k in c]) for c in ckpts]).astype(np.float64)
    diffs = flat - flat[-1]
    ref = PCA(n_components=2).fit(diffs)
    np.testing.assert_allclose(dirs.meta["explained_variance"], ref.explained_variance_ratio_, rtol=1e-6)
    axes = np.stack([np.concatenate([d[k].numpy().ravel() for k in d]) for d in (dirs.d1, dirs.d2)])
    for got, want in zip(axes, ref.components_):
        assert abs(abs(got @ want) - 1) < 1e-5  # the same axis up to sign
    np.testing.assert_allclose(dirs.trajectory, diffs @ axes.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dirs.trajectory[-1], [0, 0], atol=1e-12)


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_hessian_directions_match_the_dense_hessian(method):
    from torch.func import functional_call

    from hubscape.analytics.landscape import Objective

    torch.manual_seed(4)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    X = torch.randn(30, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (30,))
    obj = Objective(model, [(X[:10], y[:10]), (X[10:], y[10:])], torch.nn.functional.cross_entropy)
    dirs = D.hessian_directions(obj, k=2, method=method, iters=3000, tol=1e-12, seed=0)
    names = [k for k, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    def loss(flat):
        params, off = {}, 0
        for n, s in zip(names, shapes):
            params[n] = flat[off : off + s.numel()].reshape(s)
            off += s.numel()
        return torch.nn.functional.cross_entropy(functional_call(model, params, (X,)), y)

    H = torch.autograd.functional.hessian(loss, flat0).numpy()
    vals, vecs = np.linalg.eigh(H)
    order = np.argsort(-np.abs(vals))[:2]
    np.testing.assert_allclose(dirs.meta["eigenvalues"], vals[order], rtol=1e-5)
    for d, ref in zip((dirs.d1, dirs.d2), vecs[:, order].T):
        v = torch.cat([d[n].reshape(-1) for n in names]).numpy()
        assert abs(abs(v @ ref) - 1) < 1e-4


def test_directions_do_not_depend_on_the_number_of_torch_threads(cnn_problem):
    """The inner products (orthogonalization, fingerprint) are float64 sums that torch's thread
    count cannot reorder: a run resumed with other threads finds the same directions."""
    model = cnn_problem[0]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = D.random_directions(model, seed=4, ignore=[])
        torch.set_num_threads(2)
        two = D.random_directions(model, seed=4, ignore=[])
    finally:
        torch.set_num_threads(before)
    for a, b in ((one.d1, two.d1), (one.d2, two.d2)):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert one.fingerprint() == two.fingerprint() and one.meta == two.meta


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_directions_come_in_the_weights_dtype(dtype):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).to(dtype)
    dirs = D.random_directions(model, seed=1)
    assert all(v.dtype == dtype for v in (*dirs.d1.values(), *dirs.d2.values()))
    w = dirs.origin["0.weight"].double()
    dn = dirs.d1["0.weight"].double().norm(dim=1)
    torch.testing.assert_close(dn, w.norm(dim=1), rtol=2e-2 if dtype == torch.bfloat16 else 1e-12, atol=0)
    assert abs(D.dot(dirs.d1, dirs.d2)) < 5e-2 * D.norm(dirs.d1) * D.norm(dirs.d2)
