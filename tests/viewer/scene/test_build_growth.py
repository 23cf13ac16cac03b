"""The growth world: orientation of every view, observed points and fits, forecasts, labels,
the linked parameter view, and the real 21-model crawl."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hubscape.core.bundle import read_bundle
from hubscape.viewer.scene.builders import build_scene
from hubscape.viewer.scene.figure import figure_regions
from hubscape.viewer.scene.labels import layout_scene
from hubscape.viewer.scene.projection import View


def _centre_line(ribbon) -> np.ndarray:
    return (ribbon.positions[0::2] + ribbon.positions[1::2]) / 2


def _overlaps(boxes) -> int:
    return sum(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3] for a, b in itertools.combinations(boxes, 2))


def test_fit_is_a_ribbon_observations_are_points_and_the_band_continues_the_fit(tmp_path, makers):
    scene = build_scene(makers.growth(tmp_path / "g.safetensors"), theme="tron", log_count=False)
    fit, obs, band = scene.find("fit/org/base-0"), scene.find("observed/org/base-0"), scene.find("forecast/org/base-0")
    assert (fit.kind, obs.kind, band.kind) == ("ribbon", "points", "mesh")
    t = np.arange(1.0, 25.0)
    counts = np.round(makers.wsb(t, 2.0, 0.8, 2.0))
    # one point per period, at the observed count, with the period, count and fit as tooltip data
    assert obs.positions.shape == (24, 3)
    np.testing.assert_allclose(obs.data[:, :2], np.stack([t, counts], 1))
    np.testing.assert_allclose(obs.data[:, 2], makers.wsb(t, 2.0, 0.8, 2.0), rtol=1e-5)
    top = float([tk for tk in scene.find("axes").ticks if tk["axis"] == 1][-1]["label"])
    np.testing.assert_allclose(obs.positions[:, 1], counts / top * 5.0, rtol=1e-5, atol=1e-5)
    # the ribbon follows the fitted curve from the release (0, 0)
    line = _centre_line(fit)
    np.testing.assert_allclose(line[0, :2], [-5.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(line[1:, 1], makers.wsb(t, 2.0, 0.8, 2.0) / top * 5.0, rtol=1e-4, atol=1e-5)
    # the band starts where the fit ends (zero width there) and reports its own numbers
    first = band.positions[:2]
    np.testing.assert_allclose(first[:, :2], np.repeat(line[-1:, :2], 2, axis=0), atol=1e-5)
    assert band.data_names == ["period", "forecast", "band low", "band high"]
    assert band.pick[0]["what"] == "forecast with 90% band"
    # every item of a model carries its group, for highlighting and hiding it everywhere
    assert {i.group for i in scene.items if i.name.endswith("/org/base-0")} == {"org/base-0"}


@pytest.mark.parametrize("size", [(1200, 800), (800, 800), (1600, 700)])
def test_every_view_runs_time_left_to_right_and_counts_up(tmp_path, makers, size):
    """The complaint: a rising curve drawn going down the screen. In every camera preset an
    increasing fit moves right and up on the screen, and a saturated one never goes down."""
    scene = build_scene(makers.growth(tmp_path / "g.safetensors"), log_count=False)
    assert set(scene.views) == {"overview", "front"}
    for name, camera in scene.views.items():
        view = View.of(camera, *size)
        for i in range(3):
            pix = view.project(_centre_line(scene.find(f"fit/org/base-{i}")))
            assert (np.diff(pix[:, 0]) > 0).all(), (name, i)  # time: left to right
            assert (np.diff(pix[:, 1]) <= 1e-6).all(), (name, i)  # count: up (pixel y falls)
            assert pix[-1, 1] < pix[0, 1] - 50, (name, i)


def test_count_scale_is_log_when_final_counts_span_more_than_a_decade(tmp_path, makers):
    path = makers.growth(tmp_path / "g.safetensors")
    bundle = read_bundle(path)
    assert build_scene(bundle).find("axes").log[1] is False  # 3 curves of similar size: linear
    bundle.arrays["models/2/count"] = bundle.arrays["models/2/count"] * 40  # now they span 40x
    auto = build_scene(bundle)
    assert auto.find("axes").log[1] is True and "log scale" in auto.find("axes").titles[1]
    assert build_scene(bundle, log_count=False).find("axes").log[1] is False  # an explicit choice wins
    labels = [t["label"] for t in auto.find("axes").ticks if t["axis"] == 1]
    assert labels[0] == "1" and all(lab in {"1", "10", "100", "1000", "10000"} for lab in labels)


def test_unfitted_models_say_not_fitted_and_why(tmp_path, makers):
    scene = build_scene(makers.growth(tmp_path / "g.safetensors", unfitted=(1,)))
    names = [i.name for i in scene.items]
    assert "observed/org/base-1" in names and "fit/org/base-1" not in names and "forecast/org/base-1" not in names
    assert "observed line/org/base-1" in names  # the observations stay joined
    record = scene.find("observed/org/base-1").pick[0]
    assert record["fit"] == "not fitted: 3 dated children; a 3-parameter curve needs at least 5"
    assert not any("nan" in str(v).lower() for v in record.values())
    assert all(k not in record for k in ("mu", "sigma", "lambda"))
    note = next(e for e in scene.legend.entries if e["label"] == "org/base-1")["note"]
    assert note.startswith("not fitted: ")
    assert "parameters/org/base-1" not in names and "parameters/org/base-0" in names
    assert "2 of 3 fitted" in scene.title
    assert all(item.vertex_count() > 0 for item in scene.items)


def test_parameter_space_is_a_linked_view_of_its_own(tmp_path, makers):
    scene = build_scene(makers.growth(tmp_path / "g.safetensors"))
    points = [i for i in scene.items if i.name.startswith("parameters/")]
    assert [p.group for p in points] == [p.name.split("/", 1)[1] for p in points] and len(points) == 3
    pick = scene.find("parameters/org/base-1").pick[0]
    assert pick["lambda"] == pytest.approx(2.5) and pick["lambda_stderr"] is None
    labels = scene.find("parameter labels")
    assert sorted(labels.texts) == ["base-0", "base-1", "base-2"] and sorted(labels.groups) == [
        "org/base-0",
        "org/base-1",
        "org/base-2",
    ]
    # on the screen the parameter box and the curves' box do not overlap, in every view
    curves = np.vstack([i.positions for i in scene.items if i.name.startswith(("fit/", "observed/"))])
    params = np.vstack([scene.find("parameter axes").origin[None], scene.find("parameter axes").ends])
    for camera in scene.views.values():
        view = View.of(camera, 1200, 800)
        a, b = view.project(curves), view.project(params)
        assert a[:, 0].min() > b[:, 0].max() or a[:, 1].max() < b[:, 1].min(), "parameter box over the curves"


def test_legend_lists_every_model_with_its_group(tmp_path, makers):
    scene = build_scene(makers.growth(tmp_path / "g.safetensors"))
    assert sorted(e["label"] for e in scene.legend.entries) == ["org/base-0", "org/base-1", "org/base-2"]
    assert all(e["group"] == e["label"] for e in scene.legend.entries)


def test_real_21_models_every_model_listed_labelled_and_no_label_overlaps(real_growth_bundle):
    """The real crawl: 21 base models, 4 of them not fitted. Every model is in the legend, every curve has
    its direct label at its end, and no two texts overlap in the default views at figure sizes."""
    bundle = real_growth_bundle
    ids = [m["model"] for m in bundle.meta["models"]]
    assert len(ids) == 21
    for theme in ("tron", "paper"):
        scene = build_scene(bundle, theme=theme)
        assert sorted(e["label"] for e in scene.legend.entries) == sorted(ids)
        assert scene.find("axes").log[1] is True  # final counts 1 .. 426: log by default
        curve_labels = scene.find("curve labels")
        assert sorted(curve_labels.groups) == sorted(ids)
        assert len({tuple(c) for c in np.round(curve_labels.colors, 3)}) == 12  # all 12 palette colours in use
        for name, camera in scene.views.items():
            for size in ((1200, 800), (1600, 1000), (800, 520)):
                regions = figure_regions(scene, *size)
                layout = layout_scene(
                    scene, *size, scale=regions.scale, obstacles=regions.obstacles(), view=View.of(camera, *size)
                )
                boxes = [p.box for p in layout.placed]
                assert _overlaps(boxes) == 0, (theme, name, size)
                assert not any(_overlaps([b, o]) for b in boxes for o in regions.obstacles()), (theme, name, size)
                placed = {p.text for p in layout.placed if p.role == "label"}
                shorts = set(curve_labels.texts)
                assert shorts <= placed, (theme, name, size, shorts - placed)
                titles = {p.text for p in layout.placed if p.role == "title"}
                assert {"months since release", "children (cumulative, log scale)"} <= titles, (name, size, titles)
