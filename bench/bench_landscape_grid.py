"""Benchmark: loss-landscape grid throughput (grid points per second).

The same model, data, filter-normalized directions and grid, evaluated these ways:

1. hubscape ``compute_landscape`` as it runs by default: the exact batched path (batched.py:
   the first layer's three terms precomputed, the rest of the Sequential run for K points per
   operation with explicit batched weights, one cross-entropy call per chunk),
2. hubscape's generic paths (``batched=False``): vmap over points or one forward per point
   with the weights written in place, each with and without the first-layer shortcut,
3. the naive loop: ``load_state_dict`` of each point's weights, forward pass, ``loss.item()``,
4. loss-landscapes 3.0.6 ``random_plane`` with the same directions injected.

Models: an MLP (64-64-10, 4.8k parameters) and a small CNN (810 parameters), trained
briefly on scikit-learn digits and evaluated on ``--samples`` of them (default 500). Prints
the times, points/s, the speed-up of the default path and of the fastest hubscape path over
(3) and (4), and the
largest difference between the grids (they must agree). Run: ``python3 bench/bench_landscape_grid.py``
(``--grid 21`` points per axis, ``--device cuda`` on a GPU, ``--repeat`` best-of-N, ``--threads``).
Times are the process's CPU seconds, so that other jobs on shared cores do not skew them.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch


def digits(n=500):
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.tensor(d.data[:n] / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target[:n])
    return X, y


def trained(model, X, y, steps=150):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    return model.eval()


def models(samples=500):
    X, y = digits(samples)
    torch.manual_seed(0)
    mlp = trained(torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)), X, y)
    cnn = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 8, 3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 3 * 3, 10),
    )
    return {"mlp": (mlp, X, y), "cnn": (trained(cnn, X, y), X, y)}


def best_of(fn, repeat):
    """Best-of-``repeat`` CPU time of this process (robust when other jobs share the cores)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def bench(name, model, X, y, n, device, repeat):
    import loss_landscapes
    from loss_landscapes.metrics import Loss
    from loss_landscapes.model_interface.model_parameters import ModelParameters

    from hubscape.analytics.landscape import Directions, Objective, compute_landscape, random_directions

    model = model.to(device)
    X, y = X.to(device), y.to(device)
    loss = torch.nn.functional.cross_entropy
    dirs = random_directions(model, seed=0)
    # loss-landscapes' grid: step |w| / distance / steps along unit directions, serpentine walk
    steps, distance = n - 1, 2.0
    step = float(torch.cat([p.detach().reshape(-1) for p in model.parameters()]).norm()) / distance / steps
    nrm = {i: float(torch.sqrt(sum((v**2).sum() for v in d.values()))) for i, d in ((1, dirs.d1), (2, dirs.d2))}
    unit = Directions(
        method="filter",
        origin=dirs.origin,
        d1={k: v / nrm[1] for k, v in dirs.d1.items()},
        d2={k: v / nrm[2] for k, v in dirs.d2.items()},
    )
    span = (-steps / 2 * step, steps / 2 * step)
    obj = Objective(model, [(X, y)], loss, device=device)
    npts = n * n

    runs = {}
    for label, vec, cut, bat in (
        ("default (batched)", None, None, None),
        ("vmap + shortcut", True, True, False),
        ("per point + shortcut", False, True, False),
        ("vmap", True, False, False),
        ("per point", False, False, False),
    ):
        runs[label] = best_of(
            lambda: compute_landscape(obj, unit, grid=(n, n), span=span, vectorize=vec, shortcut=cut, batched=bat),
            repeat,
        )
    res = runs["default (batched)"][1]
    assert res.meta["batched"], "the default path should be the batched one for these models"

    def naive():
        m = copy.deepcopy(model)
        out = np.zeros((n, n))
        state = m.state_dict()
        for j, b in enumerate(res.y):
            for i, a in enumerate(res.x):
                state.update(unit.point(float(a), float(b)))
                m.load_state_dict(state)
                with torch.no_grad():
                    out[j, i] = loss(m(X), y).item()
        return out

    t_naive, naive_grid = best_of(naive, repeat)

    def theirs():
        loss_landscapes.main.rand_u_like = lambda ex: ModelParameters([unit.d1[k].clone() for k in unit.d1])
        loss_landscapes.main.orthogonal_to = lambda v: ModelParameters([unit.d2[k].clone() for k in unit.d2])
        return loss_landscapes.random_plane(
            model, Loss(loss, X, y), distance=distance, steps=steps + 1, normalization=None, deepcopy_model=True
        )

    # random_plane(steps=n) walks n x n points; its grid is offset by one step on even columns,
    # so compare it on the n x n points it shares with ours only for the timing, not the values.
    t_ll, _ = best_of(theirs, repeat)
    diff = max(float(np.nanmax(np.abs(r.loss - naive_grid))) for _, r in runs.values())
    print(
        f"{name} ({sum(p.numel() for p in model.parameters())} params, {len(X)} samples, {n}x{n} grid, "
        f"{device}); CPU seconds, best of {repeat}:"
    )
    rows = [(f"hubscape {k}", t) for k, (t, _) in runs.items()] + [("naive loop", t_naive), ("loss-landscapes", t_ll)]
    for label, t in rows:
        print(f"  {label:30s} {t:8.3f} s  {npts / t:9.1f} points/s")
    t_default = runs["default (batched)"][0]
    best_label, (t_best, _) = min(runs.items(), key=lambda kv: kv[1][0])
    print(
        f"  hubscape default (batched): {t_naive / t_default:5.1f}x the naive loop, "
        f"{t_ll / t_default:5.1f}x loss-landscapes; fastest ({best_label}): {t_naive / t_best:5.1f}x, "
        f"{t_ll / t_best:5.1f}x; max |grid - naive| = {diff:.2e}"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=21)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--samples", type=int, default=500, help="digits evaluated at every grid point")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: CPU times stay comparable on a shared machine)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, (model, X, y) in models(args.samples).items():
        bench(name, model, X, y, args.grid, args.device, args.repeat)


if __name__ == "__main__":
    main()
