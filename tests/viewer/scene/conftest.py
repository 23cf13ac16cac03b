"""Hand-made bundles (the layouts of docs/bundles.md) for the scene builder tests.

Tests run in importlib mode and cannot import this module: they get the makers through the
``makers`` fixture (``makers.growth(path)``, ``makers.landscape(path)``, ...).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import ndtr

from hubscape.core.bundle import write_bundle

REAL_CSV_DIR = "hf-model-trees"


def wsb(t, mu, sigma, lam, m=30.0):
    return m * (np.exp(lam * ndtr((np.log(t) - mu) / sigma)) - 1)


def growth_bundle(path, n_models=3, unfitted=()):
    arrays, models = {}, []
    for i in range(n_models):
        mu, sigma, lam = 2.0 + 0.3 * i, 0.8 + 0.1 * i, 2.0 + 0.5 * i
        t = np.arange(1.0, 25.0)
        fitted = wsb(t, mu, sigma, lam)
        arrays[f"models/{i}/t"] = t
        arrays[f"models/{i}/count"] = np.round(fitted)
        arrays[f"models/{i}/events"] = np.sort(np.random.default_rng(i).uniform(0, 24, 50))
        arrays[f"models/{i}/lsq/params"] = np.array([mu, sigma, lam])
        arrays[f"models/{i}/lsq/cov"] = np.diag([0.01, 0.02, 0.03])
        arrays[f"models/{i}/lsq/fitted"] = fitted
        ft = np.arange(25.0, 37.0)
        arrays[f"models/{i}/lsq/forecast_t"] = ft
        arrays[f"models/{i}/lsq/forecast"] = wsb(ft, mu, sigma, lam)
        arrays[f"models/{i}/lsq/forecast_lo"] = 0.8 * wsb(ft, mu, sigma, lam)
        arrays[f"models/{i}/lsq/forecast_hi"] = 1.2 * wsb(ft, mu, sigma, lam)
        if i in unfitted:  # as analyze writes a model with too few points: NaN curves and the reason
            for key in ("params", "fitted", "forecast", "forecast_lo", "forecast_hi"):
                arrays[f"models/{i}/lsq/{key}"] = np.full_like(arrays[f"models/{i}/lsq/{key}"], np.nan)
        fit = {
            "mu": {"value": mu, "stderr": 0.1},
            "sigma": {"value": sigma, "stderr": 0.14},
            "lambda": {"value": lam, "stderr": float("nan")},
            "c_inf": {"value": 30 * (np.exp(lam) - 1), "stderr": 5.0},
            "r2": 0.99,
            "rmse": 1.0,
            "identifiable": i != 1 and i not in unfitted,
            "reasons": ["not fitted: 3 dated children; a 3-parameter curve needs at least 5"] if i in unfitted else [],
            "success": True,
        }
        models.append(
            {
                "model": f"org/base-{i}",
                "relations": ["finetune"],
                "release_date": "2024-01-01T00:00:00Z",
                "n_events": 50,
                "fits": {"lsq": fit},
            }
        )
    write_bundle(
        path, "growth", arrays, {"unit": "month", "m": 30.0, "methods": ["lsq"], "horizon": 12, "models": models}
    )
    return path


def landscape_bundle(path, nan=True, trajectory=True):
    x = np.linspace(-1, 1, 21)
    y = np.linspace(-0.5, 1.5, 17)
    loss = 0.2 + (x[None, :] - 0.3) ** 2 + 2 * (y[:, None] - 0.5) ** 2
    if nan:
        loss[3:5, 4:6] = np.nan
    arrays = {"x": x, "y": y, "loss": loss}
    if trajectory:
        s = np.linspace(0, 1, 15)
        xy = np.stack([-0.9 + 1.2 * s, 1.4 - 0.9 * s], 1)
        arrays["trajectory/xy"] = xy
        arrays["trajectory/loss"] = 0.2 + (xy[:, 0] - 0.3) ** 2 + 2 * (xy[:, 1] - 0.5) ** 2
    arrays["markers/xy"] = np.array([[0.0, 0.0], [0.5, 1.0]])
    meta = {
        "dims": 2,
        "method": "random",
        "grid": [17, 21],
        "center_loss": 0.2 + 0.09 + 0.5,
        "loss": "cross_entropy",
        "model": {"id": "org/tiny", "revision": None},
        "complete": True,
        "markers": ["base", "finetune"],
    }
    write_bundle(path, "landscape", arrays, meta)
    return path


def activations_bundle(path):
    arrays = {}
    layers = [
        {"name": "conv1", "type": "conv", "shape": [8, 6, 6]},
        {"name": "conv2", "type": "conv", "shape": [13, 3, 3]},
    ]
    for li, layer in enumerate(layers):
        c = layer["shape"][0]
        for k, cond in enumerate(("clean", "triggered")):
            linf = np.linspace(0.5, 2.0, c) + 3.0 * k * (np.arange(c) == 2)
            arrays[f"layers/{li}/{cond}/linf"] = linf
            arrays[f"layers/{li}/{cond}/l2"] = 0.5 * linf
    arrays["pruning/linf/pruned"] = np.arange(0.0, 9.0)
    arrays["pruning/linf/clean_accuracy"] = np.linspace(0.98, 0.9, 9)
    arrays["pruning/linf/attack_success_rate"] = np.linspace(1.0, 0.05, 9)
    write_bundle(
        path,
        "activations",
        arrays,
        {
            "model": {"id": "org/cnn"},
            "conditions": ["clean", "triggered"],
            "layers": layers,
            "pruning": {"layer": "conv2", "methods": ["linf"]},
        },
    )
    return path


def wide_activations_bundle(path, layers=30, channels=576, backdoor=((7, 101), (19, 333), (28, 5))):
    """A transformer-like bundle: ``layers`` x ``channels`` hidden units, a few of which the
    trigger raises (``backdoor``: (layer, channel) pairs)."""
    rng = np.random.default_rng(3)
    arrays, meta_layers = {}, []
    for li in range(layers):
        meta_layers.append(
            {"name": f"layers.{li}", "type": "transformer", "shape": [12, channels], "channels": channels}
        )
        clean = rng.gamma(2.0, 0.5, channels)
        trig = clean * rng.uniform(0.95, 1.05, channels)
        for bl, bc in backdoor:
            if bl == li:
                trig[bc] = clean[bc] + 6.0
        for cond, v in (("clean", clean), ("triggered", trig)):
            arrays[f"layers/{li}/{cond}/linf"] = v
            arrays[f"layers/{li}/{cond}/l2"] = 0.5 * v
            arrays[f"layers/{li}/{cond}/l1"] = 0.3 * v
    write_bundle(
        path,
        "activations",
        arrays,
        {"model": {"id": "org/tiny-lm"}, "conditions": ["clean", "triggered"], "layers": meta_layers},
    )
    return path


@pytest.fixture
def makers():
    return SimpleNamespace(
        growth=growth_bundle,
        landscape=landscape_bundle,
        activations=activations_bundle,
        wide_activations=wide_activations_bundle,
        wsb=wsb,
    )


@pytest.fixture(scope="session")
def real_growth_bundle(tmp_path_factory):
    """The real April-2025 crawl (21 base models) fitted as ``hubscape export CSV`` fits it."""
    from pathlib import Path

    from hubscape.viewer.sources.fitting import growth_bundle_from_source

    csv = (
        Path(__file__).resolve().parents[3].parent
        / "shared"
        / "data"
        / REAL_CSV_DIR
        / "hf_finetune_children_by_base.csv"
    )
    return growth_bundle_from_source(csv)
