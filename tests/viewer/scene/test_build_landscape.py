"""The landscape world: surface values for the cursor, contours with levels, log loss, the top
(heat-map) view, markers, and labels laid out without collisions on real demo output."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hubscape.core.bundle import read_bundle, write_bundle
from hubscape.viewer.scene.build_landscape import contour_levels
from hubscape.viewer.scene.builders import build_scene
from hubscape.viewer.scene.colormaps import apply_colormap
from hubscape.viewer.scene.figure import figure_regions
from hubscape.viewer.scene.labels import layout_scene
from hubscape.viewer.scene.projection import View
from hubscape.viewer.scene.ticks import format_value


def test_surface_heights_gaps_colours_and_values_at_every_vertex(tmp_path, makers):
    bundle = read_bundle(makers.landscape(tmp_path / "l.safetensors"))
    scene = build_scene(bundle, theme="paper")
    surface = scene.find("surface")
    x, y, loss = (bundle.arrays[k] for k in ("x", "y", "loss"))
    assert surface.positions.shape == (21 * 17, 3)
    axes = scene.find("axes")
    lo = float([t for t in axes.ticks if t["axis"] == 1][0]["label"])
    hi = float([t for t in axes.ticks if t["axis"] == 1][-1]["label"])
    ok = np.isfinite(loss).reshape(-1)
    np.testing.assert_allclose(
        surface.positions[ok, 1], (loss.reshape(-1)[ok] - lo) / (hi - lo) * 5, rtol=1e-5, atol=1e-5
    )
    assert not np.isin(surface.indices, np.flatnonzero(~ok)).any()
    expect = apply_colormap(loss.reshape(-1), "viridis", np.nanmin(loss), np.nanmax(loss))
    np.testing.assert_allclose(surface.colors, expect, atol=1e-6)
    # alpha, beta and the loss at each vertex, for the tooltip at the cursor
    assert surface.data_names == ["alpha", "beta", "cross_entropy"]
    gx, gy = np.meshgrid(x, y)
    np.testing.assert_allclose(surface.data[:, 0], gx.reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(surface.data[:, 1], gy.reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(surface.data[ok, 2], loss.reshape(-1)[ok], rtol=1e-6)
    # beta grows away from the viewer (world -z), alpha to the right
    assert surface.positions[-1, 2] < surface.positions[0, 2] and surface.positions[20, 0] > surface.positions[0, 0]


def test_contours_carry_their_level_and_some_levels_are_labelled(tmp_path, makers):
    path = makers.landscape(tmp_path / "l.safetensors", nan=False)
    scene = build_scene(path, contours=6)
    contours = scene.find("contours")
    levels = np.unique(contours.data[:, 0])
    assert contours.data_names == ["contour of cross_entropy"] and 2 <= levels.size <= 7
    # each vertex sits at its level's height
    hs = [t for t in scene.find("axes").ticks if t["axis"] == 1]
    lo, hi = float(hs[0]["label"]), float(hs[-1]["label"])
    np.testing.assert_allclose(contours.positions[:, 1], (contours.data[:, 0] - lo) / (hi - lo) * 5 + 0.03, atol=1e-4)
    labels = scene.find("contour labels")
    assert labels.placement == "center" and set(labels.texts) <= {format_value(v, 3) for v in levels}
    assert build_scene(path, contours=0).of_kind("lines") == []


def test_log_contour_levels_are_round_and_inside_the_range():
    assert list(contour_levels(0.0832, 21.8, 10, log=True)) == [0.1, 0.2, 0.5, 1, 2, 5, 10, 20]
    assert list(contour_levels(0.0832, 21.8, 4, log=True)) == [0.1, 1, 10]
    assert list(contour_levels(0.0832, 21.8, 10)) == [5, 10, 15, 20]


def test_log_loss_and_wireframe(tmp_path, makers):
    path = makers.landscape(tmp_path / "l.safetensors", nan=False, trajectory=False)
    scene = build_scene(path, log_loss=True, wireframe=True, contours=6)
    assert scene.find("wireframe").positions.shape[0] == 2 * (17 * 20 + 21 * 16)
    assert scene.colorbar.log and scene.find("axes").log[1] and "log scale" in scene.colorbar.label


def test_top_view_is_a_heat_map_with_alpha_right_and_beta_up(tmp_path, makers):
    scene = build_scene(makers.landscape(tmp_path / "l.safetensors", nan=False))
    assert list(scene.views) == ["3D", "top"]
    top = scene.views["top"]
    assert top.elevation > 89 and top.fov < 20
    view = View.of(top, 1200, 800)
    floor = scene.find("surface").positions.reshape(17, 21, 3).copy()
    floor[..., 1] = 0.0  # the grid's corners on the floor (heights shift them a little in perspective)
    a, b, c = view.project(np.array([floor[0, 0], floor[0, -1], floor[-1, 0]]))
    assert b[0] - a[0] > 300 and abs(b[1] - a[1]) < 5  # alpha runs right, level
    assert a[1] - c[1] > 200 and abs(c[0] - a[0]) < 5  # beta runs up the screen
    # a heat map with its ticks at its edges: the tick labels reach at most about a text height
    # into the surface's screen bounds (its raised corners overhang the floor-level axes in
    # perspective; 12 px at the 8 degree field of view, 26 px at the former 14 degrees)
    pix = view.project(scene.find("surface").positions.astype(np.float64))
    (x0, y0), (x1, y1) = pix.min(axis=0), pix.max(axis=0)
    regions = figure_regions(scene, 1200, 800)
    ticks = [p for p in layout_scene(scene, 1200, 800, obstacles=regions.obstacles(), view=view).placed]
    ticks = [p for p in ticks if p.role == "tick"]
    assert len(ticks) >= 8
    depths = [min(x1 - p.box[0], p.box[2] - x0, y1 - p.box[1], p.box[3] - y0) for p in ticks]
    assert max(depths) < 14, depths


def test_markers_are_labelled_and_numbers_never_read_minus_zero(tmp_path):
    x = np.linspace(-0.25, 1.25, 31)
    loss = np.abs(x - 0.5) * 1e-9  # a minimum of (almost) exactly zero
    path = write_bundle(
        tmp_path / "i.safetensors",
        "landscape",
        {"x": x, "loss": loss, "markers/xy": np.array([[0.0], [1.0]]), "metrics/accuracy": 1 - loss},
        {"dims": 1, "method": "interpolate", "loss": "cross_entropy", "markers": ["clean", "backdoored"]},
    )
    scene = build_scene(path)
    assert scene.find("minimum label").texts == ["min 0"]
    assert scene.find("marker labels").texts == ["clean", "backdoored"]
    curve = scene.find("curve")
    assert curve.data_names == ["alpha", "cross_entropy", "accuracy"]
    assert format_value(-0.0) == "0" and format_value(-1e-17) == "0" and format_value(5.07e-10) == "5.07e-10"
    assert format_value(float("nan")) == "n/a"


def test_safety_landscapes_say_what_they_show(tmp_path):
    """An attack-success-rate bundle is a safety landscape; an interpolation names its checkpoints
    on the axis and title, and the checkpoint at 0 labels the centre (no second, duplicate label)."""
    x = np.linspace(0.0, 1.0, 9)
    path = write_bundle(
        tmp_path / "s.safetensors",
        "landscape",
        {"x": x, "loss": x**2, "markers/xy": np.array([[0.0], [1.0]])},
        {
            "dims": 1,
            "method": "interpolate",
            "loss": "attack_success_rate",
            "center_loss": 0.0,
            "markers": ["aligned", "attacked"],
            "direction": {"checkpoints": ["aligned", "attacked"]},
            "model": {"id": "smollm2"},
        },
    )
    scene = build_scene(path)
    assert scene.title == "Safety landscape of smollm2 (interpolation aligned to attacked)"
    assert scene.find("axes").titles[:2] == ["aligned (0) to attacked (1)", "attack success rate"]
    assert scene.colorbar.label == "attack success rate"
    labels = [t for i in scene.items if hasattr(i, "texts") for t in i.texts]
    assert labels.count("aligned") == 1 and "smollm2" not in labels
    random2d = _asr_surface_bundle(tmp_path / "r.safetensors", {"id": "smollm2", "weights": "aligned"})
    scene = build_scene(random2d)
    assert scene.title == "Safety landscape of smollm2 (aligned) (random directions)"
    titles = [t for name in ("axes", "axes (depth)") for t in scene.find(name).titles if t]
    assert titles == ["alpha (direction 1)", "attack success rate", "beta (direction 2)"]


def _asr_surface_bundle(path, model):
    x = y = np.linspace(-0.25, 0.25, 5)
    return write_bundle(
        path,
        "landscape",
        {"x": x, "y": y, "loss": np.add.outer(y**2, x**2)},
        {"dims": 2, "method": "random", "loss": "attack_success_rate", "center_loss": 0.0, "model": model},
    )


def test_1d_landscape_is_a_ribbon_with_gaps(tmp_path):
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
    np.testing.assert_allclose(np.abs(curves[0].data[0::2, 0] - x[:10]), 0, atol=1e-6)


@pytest.mark.parametrize("theme", ["tron", "paper"])
def test_backdoor_demo_landscape_labels_do_not_collide(backdoor_demo, theme):
    for name in ("landscape_backdoored", "interpolation_clean_data", "interpolation_triggered_data"):
        for log in (False, True):
            scene = build_scene(backdoor_demo / f"{name}.safetensors", theme=theme, log_loss=log)
            for camera in scene.views.values():
                regions = figure_regions(scene, 1200, 800)
                layout = layout_scene(scene, 1200, 800, obstacles=regions.obstacles(), view=View.of(camera, 1200, 800))
                boxes = [p.box for p in layout.placed] + regions.obstacles()
                assert not any(
                    a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                    for a, b in itertools.combinations(boxes, 2)
                ), (name, log)
                placed = {p.text for p in layout.placed}
                assert any(t.startswith("min ") for t in placed), (name, log)
                x_title = "alpha (direction 1)" if name == "landscape_backdoored" else "clean (0) to backdoored (1)"
                assert {p.text for p in layout.placed if p.role == "title"} >= {x_title}
