"""Scene builders from hand-made bundles (layouts of docs/bundles.md), and the scene round trip."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from hubscape.core.bundle import read_bundle, write_bundle
from hubscape.core.errors import BundleError, InputError
from hubscape.viewer.scene import load_scene, save_scene, scene_from_bundle, scene_to_bundle
from hubscape.viewer.scene.builders import build_scene
from hubscape.viewer.scene.colormaps import apply_colormap
from hubscape.viewer.scene.model import Scene
from hubscape.viewer.scene.themes import THEMES, get_theme


def wsb(t, mu, sigma, lam, m=30.0):
    return m * (np.exp(lam * ndtr((np.log(t) - mu) / sigma)) - 1)


def growth_bundle(path, n_models=3):
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
        fit = {
            "mu": {"value": mu, "stderr": 0.1},
            "sigma": {"value": sigma, "stderr": 0.14},
            "lambda": {"value": lam, "stderr": float("nan")},
            "c_inf": {"value": 30 * (np.exp(lam) - 1), "stderr": 5.0},
            "r2": 0.99,
            "rmse": 1.0,
            "identifiable": i != 1,
            "reasons": [],
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


def assert_scenes_equal(a: Scene, b: Scene):
    assert (a.world, a.title, a.theme) == (b.world, b.title, b.theme)
    np.testing.assert_array_equal(a.bounds, b.bounds)
    for attr in ("target", "azimuth", "elevation", "distance", "fov"):
        np.testing.assert_array_equal(getattr(a.camera, attr), getattr(b.camera, attr))
    for part in ("legend", "colorbar", "grid"):
        pa, pb = getattr(a, part), getattr(b, part)
        assert (pa is None) == (pb is None)
        if pa is not None:
            assert vars(pa) == vars(pb)
    assert len(a.items) == len(b.items)
    for ia, ib in zip(a.items, b.items):
        assert type(ia) is type(ib)
        arrays_a, arrays_b = ia.arrays(), ib.arrays()
        assert arrays_a.keys() == arrays_b.keys()
        for key in arrays_a:
            assert arrays_a[key].dtype == arrays_b[key].dtype
            np.testing.assert_array_equal(arrays_a[key], arrays_b[key])
        rest_a = {k: v for k, v in vars(ia).items() if k not in arrays_a}
        rest_b = {k: v for k, v in vars(ib).items() if k not in arrays_b}
        assert rest_a == rest_b


# -- growth -----------------------------------------------------------------------------------


def test_growth_scene_trails_fits_bands_and_parameter_cloud(tmp_path):
    scene = build_scene(growth_bundle(tmp_path / "g.safetensors"), theme="tron")
    assert scene.world == "growth" and scene.theme == "tron"
    trails = [i for i in scene.items if i.name.startswith("trail/")]
    assert len(trails) == 3 and all(t.kind == "ribbon" for t in trails)
    assert trails[0].positions.shape == (2 * 25, 3)  # 24 periods and the release point (0, 0)
    # lanes: one z per model, distinct
    lanes = [float(np.mean(t.positions[:, 2])) for t in trails]
    assert len(set(np.round(lanes, 6))) == 3
    # heights: count mapped linearly from the axis range onto [0, 5]; the axis carries the data ticks
    axes = scene.find("axes")
    y_ticks = [t for t in axes.ticks if t["axis"] == 1]
    top = float(y_ticks[-1]["label"])
    counts = np.round(wsb(np.arange(1.0, 25.0), 2.0, 0.8, 2.0))
    centre = (trails[0].positions[0::2] + trails[0].positions[1::2]) / 2
    np.testing.assert_allclose(centre[1:, 1], counts / top * 5.0, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(centre[0, :2], [-5.0, 0.0], atol=1e-6)  # starts at release, on the floor
    assert float(y_ticks[0]["label"]) == 0 and y_ticks[-1]["position"][1] == pytest.approx(5.0)
    band = scene.find("forecast/org/base-0")
    assert band.kind == "mesh" and band.positions.shape == (24, 3) and band.opacity < 1
    cloud = scene.find("parameters")
    assert cloud.positions.shape == (3, 3) and len(cloud.pick) == 3
    assert cloud.pick[1]["model"] == "org/base-1" and cloud.pick[1]["lambda"] == pytest.approx(2.5)
    assert cloud.pick[0]["lambda_stderr"] is None  # NaN stderr -> null, never a confident number
    assert (cloud.positions[:, 0] < -8).all()  # beside the trails, not on top of them
    assert trails[1].pick[0]["identifiable"] is False
    assert [e["label"] for e in scene.legend.entries] == ["org/base-0", "org/base-1", "org/base-2"]
    assert np.all(scene.bounds[0] <= cloud.positions.min(0)) and np.all(scene.bounds[1] >= cloud.positions.max(0))


def test_growth_unfitted_model_has_a_trail_but_no_fit_or_band(tmp_path):
    from hubscape.core.bundle import read_bundle

    bundle = read_bundle(growth_bundle(tmp_path / "g.safetensors", n_models=2))
    for key in ("params", "fitted", "forecast", "forecast_lo", "forecast_hi"):
        bundle.arrays[f"models/1/lsq/{key}"] = np.full_like(bundle.arrays[f"models/1/lsq/{key}"], np.nan)
    for log_count in (False, True):
        scene = build_scene(bundle, log_count=log_count)
        names = [i.name for i in scene.items]
        assert "trail/org/base-1" in names and "forecast/org/base-1" not in names
        assert "forecast/org/base-0" in names
        assert "fit/org/base-1" not in names and "fit/org/base-0" in names  # NaN fit: no line, not a floor line
        assert all(item.vertex_count() > 0 for item in scene.items)  # renderers never get empty items
        assert scene.find("parameters").positions.shape == (1, 3)


def test_growth_log_count_axis(tmp_path):
    scene = build_scene(growth_bundle(tmp_path / "g.safetensors"), log_count=True)
    axes = scene.find("axes")
    assert axes.log == [False, True, False]
    labels = [t["label"] for t in axes.ticks if t["axis"] == 1]
    assert labels[0] == "1" and all(lab in {"1", "10", "100", "1000", "10000"} for lab in labels)


# -- landscape --------------------------------------------------------------------------------


def test_landscape_surface_maps_loss_to_heights_and_leaves_gaps(tmp_path):
    bundle = read_bundle(landscape_bundle(tmp_path / "l.safetensors"))
    scene = build_scene(bundle, theme="paper")
    surface = scene.find("surface")
    loss = bundle.arrays["loss"]
    assert surface.positions.shape == (21 * 17, 3)
    axes = scene.find("axes")
    lo = float([t for t in axes.ticks if t["axis"] == 1][0]["label"])
    hi = float([t for t in axes.ticks if t["axis"] == 1][-1]["label"])
    ok = np.isfinite(loss).reshape(-1)
    np.testing.assert_allclose(
        surface.positions[ok, 1], (loss.reshape(-1)[ok] - lo) / (hi - lo) * 5, rtol=1e-5, atol=1e-5
    )
    gaps = np.flatnonzero(~ok)
    assert not np.isin(surface.indices, gaps).any()
    full = 2 * 20 * 16
    assert surface.indices.shape[0] < full
    np.testing.assert_allclose(np.linalg.norm(surface.normals, axis=1), 1, atol=1e-5)
    # colours: the paper colormap (viridis) over the finite loss range, gaps transparent
    expect = apply_colormap(loss.reshape(-1), "viridis", np.nanmin(loss), np.nanmax(loss))
    np.testing.assert_allclose(surface.colors, expect, atol=1e-6)
    assert scene.colorbar.colormap == "viridis" and scene.colorbar.vmin == pytest.approx(np.nanmin(loss))
    # contours lie at their level's height and never cross the gap cells
    contours = scene.find("contours")
    assert contours.positions.shape[0] > 0 and contours.positions.shape[0] % 2 == 0
    # minimum marker at the grid's argmin
    j, i = np.unravel_index(np.nanargmin(loss), loss.shape)
    mini = scene.find("minimum")
    np.testing.assert_allclose(mini.positions[0, [0, 2]], surface.positions[j * 21 + i, [0, 2]], atol=1e-6)
    assert mini.pick[0]["loss"] == pytest.approx(np.nanmin(loss))
    assert scene.find("trajectory").kind == "ribbon"
    assert scene.find("markers").pick[1]["what"] == "finetune"
    assert scene.find("centre").pick[0]["model"] == "org/tiny"


def test_landscape_1d_is_a_ribbon_with_gaps(tmp_path):
    x = np.linspace(-1, 1, 30)
    loss = 1 + x**2
    loss[10:12] = np.nan
    path = write_bundle(
        tmp_path / "l1.safetensors",
        "landscape",
        {"x": x, "loss": loss},
        {"dims": 1, "method": "interpolate", "loss": "mse", "center_loss": 1.0},
    )
    scene = build_scene(path)
    curves = [i for i in scene.items if i.name.startswith("curve")]
    assert [c.positions.shape[0] for c in curves] == [2 * 10, 2 * 18]
    np.testing.assert_allclose(
        np.linalg.norm(curves[0].positions[1::2] - curves[0].positions[0::2], axis=1), 0.15, rtol=1e-5
    )


def test_landscape_options_wireframe_and_log(tmp_path):
    path = landscape_bundle(tmp_path / "l.safetensors", nan=False, trajectory=False)
    scene = build_scene(path, log_loss=True, wireframe=True, contours=6)
    wire = scene.find("wireframe")
    assert wire.positions.shape[0] == 2 * (17 * 20 + 21 * 16)
    assert scene.colorbar.log and scene.find("axes").log[1]


# -- activations ------------------------------------------------------------------------------


def test_activation_tiles_heights_and_pruning_curve(tmp_path):
    scene = build_scene(activations_bundle(tmp_path / "a.safetensors"), metric="linf")
    clean, trig = scene.find("layer/0/clean"), scene.find("layer/0/triggered")
    assert clean.positions.shape == (8 * 20, 3) and len(clean.pick) == 8
    assert trig.pick[2] == {
        "layer": "conv1",
        "condition": "triggered",
        "channel": 2,
        "linf": pytest.approx(0.5 + 2 * 1.5 / 7 + 3.0),
        "l2": pytest.approx((0.5 + 2 * 1.5 / 7 + 3) / 2),
    }
    heights = trig.positions[:, 1].reshape(8, 20).max(axis=1)
    assert heights.argmax() == 2 and heights[2] == pytest.approx(2.0)  # the triggered channel is the tallest
    assert clean.positions[:, 0].max() < trig.positions[:, 0].min()  # side by side
    assert scene.find("layer/1/clean").positions[:, 2].min() > clean.positions[:, 2].max()  # stacked in depth
    asr = scene.find("pruning attack_success_rate")
    assert asr.kind == "ribbon" and asr.positions.shape == (18, 3)
    assert [e["label"] for e in scene.legend.entries] == ["clean accuracy", "attack success rate"]
    with pytest.raises(InputError):
        build_scene(tmp_path / "a.safetensors", metric="l3")


# -- dispatch, errors, round trip ---------------------------------------------------------------


def test_build_scene_errors_are_one_line(tmp_path):
    path = landscape_bundle(tmp_path / "l.safetensors")
    with pytest.raises(InputError, match="unknown theme"):
        build_scene(path, theme="neon")
    with pytest.raises(InputError, match="take no option"):
        build_scene(path, log_count=True)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(BundleError):
        build_scene(bad)
    empty = write_bundle(tmp_path / "e.safetensors", "landscape", {"x": np.arange(3.0), "loss": np.full(3, np.nan)}, {})
    with pytest.raises(BundleError, match="no finite"):
        build_scene(empty)


@pytest.mark.parametrize("maker", [growth_bundle, landscape_bundle, activations_bundle])
@pytest.mark.parametrize("theme", list(THEMES))
def test_scene_round_trips_through_a_bundle(tmp_path, maker, theme):
    scene = build_scene(maker(tmp_path / "in.safetensors"), theme=theme)
    arrays, meta = scene_to_bundle(scene)
    assert all(k.startswith("items/") for k in arrays)
    assert meta["theme"]["name"] == theme and meta["theme"]["bloom_strength"] == get_theme(theme).bloom_strength
    save_scene(tmp_path / "scene.safetensors", scene)
    back = load_scene(tmp_path / "scene.safetensors")
    assert_scenes_equal(scene, back)
    # and a saved scene is itself a source
    again = build_scene(tmp_path / "scene.safetensors", theme="paper")
    assert again.theme == "paper" and len(again.items) == len(scene.items)


def test_scene_bundle_arrays_are_gpu_ready(tmp_path):
    scene = build_scene(landscape_bundle(tmp_path / "l.safetensors"))
    arrays, _ = scene_to_bundle(scene)
    for key, arr in arrays.items():
        assert arr.flags.c_contiguous
        assert arr.dtype == (np.uint32 if key.endswith("/indices") else np.float32), key


def test_damaged_scene_bundle_is_a_bundle_error(tmp_path):
    scene = build_scene(landscape_bundle(tmp_path / "l.safetensors"))
    arrays, meta = scene_to_bundle(scene)
    del arrays["items/0/normals"]
    write_bundle(tmp_path / "broken.safetensors", "scene", arrays, meta)
    with pytest.raises(BundleError, match="damaged"):
        load_scene(tmp_path / "broken.safetensors")
    meta["items"][0]["kind"] = "hologram"
    write_bundle(tmp_path / "broken2.safetensors", "scene", scene_to_bundle(scene)[0], meta)
    with pytest.raises(BundleError, match="unknown kind"):
        scene_from_bundle(read_bundle(tmp_path / "broken2.safetensors"))


def test_themes_tron_and_paper():
    tron, paper = get_theme("tron"), get_theme("paper")
    assert tron.background[:3].max() == 0 and tron.bloom_strength > 0 and tron.fog_density > 0
    assert tron.grid_color[1] > 0.7 and tron.grid_color[2] > 0.7 and tron.grid_color[0] < 0.1  # cyan
    assert paper.background[:3].min() == 1 and paper.bloom_strength == 0
    assert paper.text_color[:3].max() < 0.1 and paper.colormap in ("viridis", "cividis")
    assert len(paper.palette) == 8
