"""The one label-layout mechanism every renderer uses: no collisions, texts off their axis lines,
titles beyond ticks, plates where a text covers data or its anchor is hidden, columns with
leaders, and font metrics that match the font the renderers draw with."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hubscape.viewer.scene.geometry import height_field
from hubscape.viewer.scene.labels import DEJAVU_ADVANCES, layout_scene, text_width
from hubscape.viewer.scene.model import Axes, Camera, Labels, Mesh, Scene
from hubscape.viewer.scene.projection import View
from hubscape.viewer.sources.worlds import scene_from_source

W, H = 1000, 700


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _segment_hits_box(p0, p1, box, steps: int = 200) -> bool:
    t = np.linspace(0, 1, steps)[:, None]
    pts = (1 - t) * np.asarray(p0) + t * np.asarray(p1)
    return bool(((pts[:, 0] > box[0]) & (pts[:, 0] < box[2]) & (pts[:, 1] > box[1]) & (pts[:, 1] < box[3])).any())


def _scene(items, **kw) -> Scene:
    cam = Camera(target=[0, 0, 0], azimuth=0, elevation=0, distance=20, fov=40)
    return Scene(world="landscape", items=items, camera=cam, theme=kw.get("theme", "tron"))


def test_advances_are_dejavu_sans_as_the_renderers_draw_it():
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont("DejaVu Sans"))
    font.set_size(100, 72)
    measured = [font.load_char(c).linearHoriAdvance / 65536 / 100 for c in range(32, 127)]
    np.testing.assert_allclose(DEJAVU_ADVANCES, measured, atol=1e-4)
    assert text_width("ab", 10) == pytest.approx(10 * (DEJAVU_ADVANCES[65] + DEJAVU_ADVANCES[66]))


def test_many_labels_at_one_spot_form_a_column_with_leaders_and_never_overlap():
    n = 15
    labels = Labels(positions=np.zeros((n, 3)), texts=[f"model-{k}" for k in range(n)], placement="end", size=12)
    layout = layout_scene(_scene([labels]), W, H)
    assert len(layout.placed) == n and not layout.hidden
    boxes = [p.box for p in layout.placed]
    assert not any(_overlap(a, b) for a, b in itertools.combinations(boxes, 2))
    assert sum(p.leader is not None for p in layout.placed) == n - 1  # all but the first moved
    xs = {round(p.box[0]) for p in layout.placed[1:]}
    assert len(xs) == 1  # a column


def test_reserved_regions_and_the_frame_are_kept_free():
    rng = np.random.default_rng(0)
    labels = Labels(positions=rng.uniform(-6, 6, (60, 3)) * [1, 0.6, 0], texts=[f"p{k}" for k in range(60)])
    panel = (600.0, 0.0, 1000.0, 300.0)
    layout = layout_scene(_scene([labels]), W, H, obstacles=[panel])
    assert len(layout.placed) > 30
    for p in layout.placed:
        assert not _overlap(p.box, panel)
        assert p.box[0] >= 0 and p.box[1] >= 0 and p.box[2] <= W and p.box[3] <= H
    assert not any(_overlap(a.box, b.box) for a, b in itertools.combinations(layout.placed, 2))


@pytest.mark.parametrize("demo", ["demo:landscape", "demo:growth", "demo:activations"])
@pytest.mark.parametrize("theme", ["tron", "paper"])
def test_tick_labels_never_straddle_their_axis_and_titles_sit_beyond_the_ticks(demo, theme):
    """The minus signs under the glowing axis line, titles on their last tick: every tick label
    lies wholly on the far side of its axis line from the data, and a title farther out than its
    axis's tick labels."""
    scene = scene_from_source(demo, theme=theme)
    view = View.of(scene.camera, W, H)
    layout = layout_scene(scene, W, H)
    axes = {a.name: a for a in scene.of_kind("axes")}
    by_text = {}
    for p in layout.placed:
        by_text.setdefault(p.text, []).append(p)
    for a in axes.values():
        origin = view.project(a.origin[None])[0]
        for k in range(3):
            if np.allclose(a.ends[k], a.origin):
                continue
            end = view.project(a.ends[k][None])[0]
            ticks = [t for t in a.ticks if t["axis"] == k]
            tick_boxes = [p.box for t in ticks for p in by_text.get(t["label"], []) if p.role == "tick"]
            for box in tick_boxes:
                assert not _segment_hits_box(origin, end, box), (a.name, k, box)
            title = a.titles[k]
            if title and title in by_text:
                tbox = by_text[title][0].box
                assert not _segment_hits_box(origin, end, tbox), (a.name, title)
                assert not any(_overlap(tbox, b) for b in tick_boxes), (a.name, title)


@pytest.mark.parametrize("source", ["demo:landscape", "demo:growth", "demo:activations", "backdoor activations"])
@pytest.mark.parametrize("theme", ["tron", "paper"])
def test_no_two_texts_overlap_in_any_view_of_each_demo(source, theme, request):
    """Issue 8's "Done when": no two label boxes overlap in the default views of each demo, nor
    any box a figure region (title, legend, colour bar, chart), at figure and page sizes; the
    texts the layout leaves out are few (tick labels where two axes meet, an axis seen end-on)."""
    from hubscape.viewer.scene.figure import figure_regions

    if source == "backdoor activations":
        source = str(request.getfixturevalue("backdoor_demo") / "activations.safetensors")
    scene = scene_from_source(source, theme=theme)
    for name, camera in scene.views.items():
        for size in ((1200, 800), (800, 520)):
            regions = figure_regions(scene, *size)
            layout = layout_scene(
                scene, *size, scale=regions.scale, obstacles=regions.obstacles(), view=View.of(camera, *size)
            )
            boxes = [p.box for p in layout.placed]
            where = (name, size)
            assert not any(_overlap(a, b) for a, b in itertools.combinations(boxes, 2)), where
            assert not any(_overlap(b, o) for b in boxes for o in regions.obstacles()), where
            assert len(layout.placed) >= 15 and len(layout.hidden) <= 0.5 * len(layout.placed), where


def test_a_label_over_the_data_or_behind_it_gets_a_plate():
    x = z = np.linspace(-4, 4, 9)
    wall = height_field(x, z, np.full((9, 9), 1.0), np.ones((81, 4)), name="floor")
    wall.positions[:, [1, 2]] = wall.positions[:, [2, 1]]  # stand it up: a wall at z = 1, facing the camera
    wall.positions[:, 2] = 1.0
    behind = Labels(positions=[[0.0, 0.0, -3.0]], texts=["behind"], placement="fixed", anchor="center")
    front = Labels(positions=[[6.5, 5.5, 4.0]], texts=["clear"], placement="fixed", anchor="center")
    layout = layout_scene(_scene([wall, behind, front]), W, H)
    plates = {p.text: p.plate for p in layout.placed}
    assert plates == {"behind": True, "clear": False}


def test_labels_prefer_empty_background_to_covering_data():
    x = z = np.linspace(0, 4, 5)
    block = height_field(x, z, np.zeros((5, 5)), np.ones((25, 4)), name="block")
    block.positions[:, [1, 2]] = block.positions[:, [2, 1]]  # a square on the right of the anchor
    block.positions[:, 0] += 0.5
    label = Labels(positions=[[0.0, 2.0, 0.0]], texts=["which side?"], placement="point")
    (p,) = layout_scene(_scene([block, label]), W, H).placed
    anchor = View.of(_scene([]).camera, W, H).project(np.array([[0.0, 2.0, 0.0]]))[0]
    assert p.box[2] <= anchor[0]  # went left, off the data on the right
    assert not p.plate


def test_the_window_view_from_a_renderers_matrices_places_texts_as_the_scene_camera_does():
    from hubscape.viewer.scene.projection import projection_matrix, view_matrix

    scene = scene_from_source("demo:landscape")
    a = layout_scene(scene, W, H)
    view = View(view_matrix(scene.camera), projection_matrix(scene.camera, W / H), W, H)
    b = layout_scene(scene, W, H, view=view)
    assert [(p.text, p.box) for p in a.placed] == [(p.text, p.box) for p in b.placed]


def test_axes_on_a_box_point_outward_from_its_own_centre():
    axes = Axes(
        origin=[0, 0, 0],
        ends=[[4, 0, 0], [0, 0, 0], [0, 0, 0]],
        ticks=[{"axis": 0, "position": [v, 0, 0], "label": str(v)} for v in (0, 2, 4)],
        titles=["x", "", ""],
        centre=[2, 2, 0],
    )
    layout = layout_scene(_scene([axes]), W, H, mask=False)
    line_y = View.of(_scene([]).camera, W, H).project(np.array([[0.0, 0.0, 0.0]]))[0, 1]
    assert all(p.box[1] > line_y for p in layout.placed)  # below the line: the box's centre is above it
    mesh = Mesh(
        positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]],
        normals=[[0, 0, 1]] * 3,
        indices=[[0, 1, 2]],
        colors=[[1, 1, 1, 1]] * 3,
    )
    assert layout_scene(_scene([mesh]), W, H).placed == []
