"""The flat parts of a figure (legend of every model, colour bar, charts) and the values a
tooltip reports at the cursor (interpolated on surfaces, exact at vertices)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hubscape.viewer.scene.builders import build_scene
from hubscape.viewer.scene.figure import camera_margins, chart_values_at, figure_primitives, figure_regions
from hubscape.viewer.scene.hover import record_at
from hubscape.viewer.scene.projection import View, vertical_fov
from hubscape.viewer.scene.themes import get_theme


def test_the_legend_lists_all_21_models_in_columns_inside_the_figure(real_growth_bundle):
    scene = build_scene(real_growth_bundle)
    for w, h in ((1200, 800), (1600, 1000), (900, 600)):
        regions = figure_regions(scene, w, h)
        entries = regions.legend.entries
        assert len(entries) == 21
        assert {e[2] for e in entries} <= {e["label"] for e in scene.legend.entries} | {
            e[2] for e in entries if "\u2026" in e[2]
        }
        x0, y0, x1, y1 = regions.legend.box
        assert 0 <= x0 and x1 <= w and y1 <= h and y0 > h / 2  # below the view, inside the figure
        rows = {round(e[1]) for e in entries}
        assert len(rows) < 21  # in columns
        texts = [p for p in figure_primitives(scene, get_theme("tron"), regions, w) if p["kind"] == "text"]
        assert scene.title in [t["text"] for t in texts]
    left, top, right, bottom = camera_margins(scene)
    assert top > 0 and bottom > 0.05 and left == 0 and right == 0  # the 3D view keeps clear of title and legend


def test_colour_bar_and_chart_regions_do_not_overlap_and_stay_inside(tmp_path, makers):
    scene = build_scene(makers.activations(tmp_path / "a.safetensors"))
    for w, h in ((1200, 800), (800, 500)):
        regions = figure_regions(scene, w, h)
        boxes = regions.obstacles()
        assert not any(
            a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3] for a, b in itertools.combinations(boxes, 2)
        )
        for b in boxes:
            assert b[0] >= 0 and b[1] >= 0 and b[2] <= w and b[3] <= h
        texts = [p for p in figure_primitives(scene, get_theme("paper"), regions, w) if p["kind"] == "text"]
        (title,) = [p for p in texts if p["text"] == scene.colorbar.label]
        half = len(title["text"]) * 0.6 * title["size"] / 2
        assert title["x"] + half <= w + 1  # the colour bar's title is not cut at the right edge


def test_chart_values_at_the_cursor_are_each_series_at_the_nearest_sample(tmp_path, makers):
    scene = build_scene(makers.activations(tmp_path / "a.safetensors"))
    (chart,) = scene.charts
    (place,) = figure_regions(scene, 1200, 800).charts
    x0, y0, x1, y1 = place.plot
    at_3 = x0 + 3 / 8 * (x1 - x0)  # pruned runs 0..8
    values = chart_values_at(chart, place, at_3 + 2, (y0 + y1) / 2)
    assert values["channels pruned"] == 3
    assert values["clean accuracy, l_inf"] == pytest.approx(0.98 - 3 * 0.01)
    assert values["attack success, l_inf"] == pytest.approx(1.0 - 3 * 0.95 / 8)
    assert chart_values_at(chart, place, place.box[0] - 5, y0) is None


def test_surface_values_are_exact_at_vertices_and_interpolated_inside_triangles(tmp_path, makers):
    scene = build_scene(makers.landscape(tmp_path / "l.safetensors", nan=False))
    surface = scene.find("surface")
    view = View.of(scene.camera, 1200, 800)
    face = 200
    a, b, c = surface.indices[face]
    for v in (a, b, c):  # at a corner: that vertex's values
        rec = record_at(surface, face=face, cursor=tuple(view.project(surface.positions[v][None])[0]), view=view)
        for name, value in zip(surface.data_names, surface.data[v]):
            assert rec[name] == pytest.approx(float(value), rel=1e-3, abs=1e-3)
    weights = np.array([0.2, 0.3, 0.5])  # inside: the world point with these weights
    point = weights @ surface.positions[[a, b, c]].astype(np.float64)
    rec = record_at(surface, face=face, cursor=tuple(view.project(point[None])[0]), view=view)
    expect = weights @ surface.data[[a, b, c]].astype(np.float64)
    for name, value in zip(surface.data_names, expect):
        assert rec[name] == pytest.approx(value, rel=1e-4, abs=1e-5)
    assert rec["item"] == "surface" and rec["what"] == "loss surface"


def test_curves_report_the_nearest_period(tmp_path, makers):
    scene = build_scene(makers.growth(tmp_path / "g.safetensors"), log_count=False)
    fit = scene.find("fit/org/base-0")
    rec = record_at(fit, face=10)  # ribbon triangle 10 lies between points 5 and 6
    assert rec["period"] in (5.0, 6.0) and rec["model"] == "org/base-0"
    obs = scene.find("observed/org/base-0")
    rec = record_at(obs, vertex=7)
    assert rec["period"] == 8 and rec["observed"] == float(obs.data[7, 1])


def test_narrow_frames_widen_the_vertical_field_of_view_to_keep_the_width(tmp_path, makers):
    scene = build_scene(makers.landscape(tmp_path / "l.safetensors"))
    cam = scene.camera
    assert cam.aspect == pytest.approx(1.5)
    assert vertical_fov(cam, 2.0) == cam.fov and vertical_fov(cam, 1.5) == pytest.approx(cam.fov)
    wide, narrow = View.of(cam, 1200, 800), View.of(cam, 800, 800)
    corners = scene.find("surface").positions[[0, -1]]
    span_wide = np.ptp(wide.project(corners)[:, 0]) / 1200
    span_narrow = np.ptp(narrow.project(corners)[:, 0]) / 800
    assert span_narrow == pytest.approx(span_wide, rel=1e-6)  # the same fraction of the width
