"""The built-in demos: synthetic bundles of the three worlds with known structure.

For trying hubscape without data (``hubscape view demo:landscape``, the server's gallery) and
for tests that need a result whose truth is known. The growth demo also exists as a children
CSV (:func:`demo_children_csv`), so that a page can refit it like real data.
"""

from __future__ import annotations

import math

import numpy as np

from hubscape.core.bundle import Bundle

from .fitting import growth_bundle

DEMOS = ("landscape", "growth", "activations")


def demo_landscape() -> Bundle:
    """A 2D loss surface: a tilted valley with ripples, its minimum off-centre, and a descent path."""
    x = np.linspace(-1.0, 1.0, 81)
    y = np.linspace(-1.0, 1.0, 81)
    X, Y = np.meshgrid(x, y)
    loss = 0.35 + 1.6 * (X - 0.25) ** 2 + 0.9 * (Y + 0.15) ** 2 + 0.6 * X * Y + 0.08 * np.sin(9 * X) * np.cos(7 * Y)
    s = np.linspace(0.0, 1.0, 40)
    path = np.stack([-0.85 + 1.1 * s, 0.8 - 0.95 * s + 0.15 * np.sin(6 * s)], axis=1)
    path_loss = (
        0.35
        + 1.6 * (path[:, 0] - 0.25) ** 2
        + 0.9 * (path[:, 1] + 0.15) ** 2
        + 0.6 * path[:, 0] * path[:, 1]
        + 0.08 * np.sin(9 * path[:, 0]) * np.cos(7 * path[:, 1])
    )
    meta = {
        "dims": 2,
        "method": "random",
        "direction": {"seed": 0, "normalization": "filter", "ignore": ["bias", "norm"], "orthogonalized": True},
        "span": 1.0,
        "grid": [81, 81],
        "center_loss": float(loss[40, 40]),
        "loss": "cross_entropy",
        "metrics": [],
        "model": {"id": "demo/quadratic-valley", "revision": None},
        "data": {"name": "synthetic", "n": 0},
        "complete": True,
    }
    arrays = {"x": x, "y": y, "loss": loss, "trajectory/xy": path, "trajectory/loss": path_loss}
    return Bundle(kind="landscape", meta=meta, arrays=arrays, provenance={"demo": "landscape"}, schema=1)


def demo_activations() -> Bundle:
    """Three conv layers, clean vs triggered; a few 'backdoor' channels light up only when triggered."""
    rng = np.random.default_rng(7)
    layers, arrays = [], {}
    for li, (channels, side) in enumerate([(16, 16), (32, 8), (64, 4)]):
        layers.append({"name": f"features.{3 * li}", "type": "conv", "shape": [channels, side, side]})
        base = rng.gamma(2.0, 0.5, channels)
        backdoor = np.zeros(channels)
        backdoor[rng.choice(channels, size=max(1, channels // 16), replace=False)] = 3.0 + li
        for cond, boost in (("clean", 0.0), ("triggered", 1.0)):
            linf = base + boost * backdoor
            arrays[f"layers/{li}/{cond}/linf"] = linf
            arrays[f"layers/{li}/{cond}/l2"] = 0.6 * linf
            arrays[f"layers/{li}/{cond}/l1"] = 0.4 * linf
    steps = np.arange(0, 17)
    arrays["pruning/linf/pruned"] = steps.astype(np.float64)
    arrays["pruning/linf/clean_accuracy"] = 0.93 - 0.002 * steps - 0.0004 * steps**2
    arrays["pruning/linf/attack_success_rate"] = 0.98 / (1.0 + np.exp(steps - 4.0))
    arrays["pruning/linf/order"] = np.argsort(-arrays["layers/2/triggered/linf"]).astype(np.int64)[:64]
    meta = {
        "model": {"id": "demo/backdoored-cnn", "revision": None},
        "conditions": ["clean", "triggered"],
        "layers": layers,
        "trigger": {"description": "3x3 white patch", "target_label": 0, "size": 3},
        "gradcam": None,
        "pruning": {"layer": "features.6", "methods": ["linf"]},
        "summary": {"clean_accuracy": 0.93, "attack_success_rate": 0.98},
    }
    return Bundle(kind="activations", meta=meta, arrays=arrays, provenance={"demo": "activations"}, schema=1)


def demo_growth() -> Bundle:
    """Three synthetic model trees drawn from the WSB model with known (mu, sigma, lambda), then fitted."""
    import datetime as dt

    from hubscape.analytics.growth import model as wsb
    from hubscape.analytics.growth.series import GrowthSeries

    rng = np.random.default_rng(11)
    truths = {
        "demo/fast-saturating": (math.log(4.0), 0.8, 2.4),
        "demo/steady": (math.log(12.0), 1.0, 2.0),
        "demo/late-bloomer": (math.log(24.0), 0.6, 2.8),
    }
    until, series = 36.0, []
    t = np.arange(1.0, until + 1.0)
    for name, params in truths.items():
        events = np.sort(wsb.simulate_events(*params, until=until, rng=rng))
        count = np.searchsorted(events, t, side="right").astype(float)
        series.append(
            GrowthSeries(
                model=name,
                unit="month",
                t=t,
                count=count,
                events=events,
                observed_until=until,
                release_date=dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
                release_source="user",
                source="demo:growth",
                notes=[f"simulated with mu={params[0]:.3f}, sigma={params[1]}, lambda={params[2]}"],
            )
        )
    return growth_bundle(series, source="demo:growth")


DEMO_BUNDLES = {"landscape": demo_landscape, "activations": demo_activations, "growth": demo_growth}


#: The demo growth world: synthetic trees drawn from WSB with known (mu, sigma, lambda) in months.
DEMO_TRUTHS = {
    "demo/fast-saturating": (1.386, 0.8, 2.4),
    "demo/steady": (2.485, 1.0, 2.0),
    "demo/late-bloomer": (3.178, 0.6, 2.8),
}


def demo_children_csv(seed: int = 11, months: float = 36.0) -> str:
    """A children CSV of synthetic WSB trees (36 months observed), so the demo refits like real data."""
    import csv
    import datetime as dt
    import io

    import numpy as np

    from hubscape.analytics.growth import model as wsb

    rng = np.random.default_rng(seed)
    release = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    snapshot = release + dt.timedelta(days=months * 30.436875)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["base_model", "base_created_at", "child_model", "child_created_at", "snapshot"])
    for name, (mu, sigma, lam) in DEMO_TRUTHS.items():
        ages = np.sort(wsb.simulate_events(mu, sigma, lam, until=months, rng=rng))
        for k, age in enumerate(ages):
            created = release + dt.timedelta(days=float(age) * 30.436875)
            writer.writerow(
                [
                    name,
                    release.isoformat(),
                    f"{name}-child-{k}",
                    created.isoformat(),
                    snapshot.strftime("%Y%m%d_%H%M%S"),
                ]
            )
    return out.getvalue()
