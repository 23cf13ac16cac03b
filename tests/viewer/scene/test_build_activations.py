"""The activations world: separated condition boxes, the difference view ranking the backdoor
channels first, the pruning chart (both methods, the chosen point), wide transformer layers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hubscape.core.bundle import read_bundle
from hubscape.core.errors import InputError
from hubscape.viewer.scene.builders import build_scene
from hubscape.viewer.scene.figure import figure_regions
from hubscape.viewer.scene.labels import layout_scene
from hubscape.viewer.scene.projection import View


def _tile_tops(mesh) -> np.ndarray:
    return mesh.positions[:, 1].reshape(-1, 20).max(axis=1)


def test_conditions_stand_apart_with_the_same_channel_in_the_same_place(tmp_path, makers):
    scene = build_scene(makers.activations(tmp_path / "a.safetensors"), metric="linf")
    clean, trig = scene.find("layer/1/clean"), scene.find("layer/1/triggered")
    assert clean.positions.shape == (13 * 20, 3) and len(clean.pick) == 13
    gap = trig.positions[:, 0].min() - clean.positions[:, 0].max()
    assert gap > 1.0  # the boxes are well apart (they used to touch)
    np.testing.assert_allclose(
        trig.positions[:, 0] - clean.positions[:, 0], trig.positions[0, 0] - clean.positions[0, 0], atol=1e-5
    )  # channel c at the same place in both boxes
    assert scene.find("layer/0/clean").positions[:, 2].max() < clean.positions[:, 2].min()  # first layer behind
    # heights: l_inf over the layer's maximum, one scale for both conditions
    tops = _tile_tops(trig)
    assert tops.argmax() == 2 and tops[2] == pytest.approx(2.5)
    assert _tile_tops(clean)[2] < 1.0
    rec = trig.pick[2]
    assert rec["channel"] == 2 and rec["triggered linf"] == pytest.approx(0.5 + 2 * 1.5 / 12 + 3.0)
    assert rec["triggered / clean"] == pytest.approx(rec["triggered linf"] / rec["clean linf"])
    assert trig.data_names == ["channel", "clean linf", "triggered linf"]
    assert {i.name for i in scene.items} >= {
        "plate/clean",
        "plate/triggered",
        "heading/clean",
        "heading/triggered",
        "height axis",
    }
    with pytest.raises(InputError, match="unknown activation metric"):
        build_scene(tmp_path / "a.safetensors", metric="l3")
    with pytest.raises(InputError, match="unknown activations view"):
        build_scene(tmp_path / "a.safetensors", view="sideways")


def test_difference_view_ranks_the_backdoor_channel_first(tmp_path, makers):
    scene = build_scene(makers.activations(tmp_path / "a.safetensors"), view="difference")
    tiles = scene.find("layer/1/difference")
    assert [p["channel"] for p in tiles.pick][:1] == [2] and tiles.pick[0]["rank"] == 1
    assert _tile_tops(tiles)[0] == pytest.approx(2.5)
    assert "c2" in scene.find("top channels/difference").texts
    assert scene.colorbar.vmin == -1 and scene.colorbar.colormap == "tron_diverging"


def test_backdoor_demo_difference_view_ranks_the_backdoor_channels_first(backdoor_demo):
    bundle = read_bundle(backdoor_demo / "activations.safetensors")
    backdoor = bundle.meta["summary"]["linf_bias"]["channels"]  # the 5 channels the trigger excites most
    layer = [
        li
        for li, lay in enumerate(bundle.meta["layers"])
        if lay["name"] == bundle.meta["summary"]["linf_bias"]["layer"]
    ][0]
    for theme in ("tron", "paper"):
        scene = build_scene(bundle, theme=theme, view="difference")
        ranked = [p["channel"] for p in scene.find(f"layer/{layer}/difference").pick]
        assert ranked[:5] == backdoor
        labelled = scene.find("top channels/difference").texts
        assert {f"c{c}" for c in backdoor} <= set(labelled)


def test_pruning_chart_shows_both_methods_and_the_chosen_point(backdoor_demo):
    bundle = read_bundle(backdoor_demo / "activations.safetensors")
    scene = build_scene(bundle)
    (chart,) = scene.charts
    assert chart.x_range == (0.0, 64.0) and max(v for v, _ in chart.x_ticks) <= 64  # not to 80 for 64 channels
    labels = [s["label"] for s in chart.series]
    assert labels == ["clean accuracy, l_inf", "attack success, l_inf", "clean accuracy, mean", "attack success, mean"]
    assert [s["dash"] for s in chart.series] == [False, False, True, True]
    goal = bundle.meta["summary"]["pruning_linf"]
    mark = chart.marks[0]
    assert mark["x"] == goal["channels_to_goal"] == 25
    assert mark["y"] == pytest.approx(goal["attack_success_rate_at_goal"])
    assert mark["label"].startswith("25 ch: attack 0.19")
    # the chart is flat on the screen, in its own region, and the 3D view leaves it free
    regions = figure_regions(scene, 1200, 800)
    (place,) = regions.charts
    view = View.of(scene.camera, 1200, 800)
    bars = np.vstack([i.positions for i in scene.items if i.name.startswith("layer/")])
    pix = view.project(bars)
    assert pix[:, 0].max() < place.box[0]


def test_wide_layers_become_a_heat_map_with_the_top_channels_labelled(tmp_path, makers):
    scene = build_scene(makers.wide_activations(tmp_path / "w.safetensors"))  # 30 layers x 576 channels
    surfaces = [i for i in scene.items if i.name.startswith("surface/")]
    assert [s.name for s in surfaces] == ["surface/clean", "surface/triggered"]
    assert surfaces[0].positions.shape[0] == 30 * 576  # one vertex per (layer, channel): 576 < MAX_BINS
    top = scene.find("top channel labels/triggered").texts
    assert {"layers.7 c101", "layers.19 c333", "layers.28 c5"} <= set(top)
    # and the view stays legible: no two texts overlap, the layer rows lie more than 3 px apart on screen
    regions = figure_regions(scene, 1200, 800)
    layout = layout_scene(scene, 1200, 800, obstacles=regions.obstacles())
    boxes = [p.box for p in layout.placed]
    assert not any(
        a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3] for a, b in itertools.combinations(boxes, 2)
    )
    rows = surfaces[0].positions.reshape(30, 576, 3)[:, 0].copy()
    rows[:, 1] = 0.0  # each layer's row where it meets the floor
    pix = View.of(scene.camera, 1200, 800).project(rows)
    assert np.abs(np.diff(pix[:, 1])).min() > 3
    assert {p.text for p in layout.placed} & {"layers.7 c101", "layers.19 c333", "layers.28 c5"}


def test_10000_channels_are_binned_by_their_maximum(tmp_path, makers):
    scene = build_scene(
        makers.wide_activations(tmp_path / "w.safetensors", layers=4, channels=10_000, backdoor=((2, 7777),))
    )
    surface = scene.find("surface/triggered")
    assert surface.positions.shape[0] == 4 * 1000  # 10,000 channels in bins of 10
    assert "channel (bins of 10)" in surface.data_names
    values = surface.data[:, 2].reshape(4, 1000)
    assert values[2].argmax() == 7777 // 10 and values[2].max() == pytest.approx(1.0)
