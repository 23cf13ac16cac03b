"""Offscreen rendering (lavapipe): pixel statistics at the projected positions of known objects."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pygfx")

from hubscape.viewer.render.convert import scene_to_pygfx  # noqa: E402
from hubscape.viewer.render.offscreen import OffscreenRenderer, render_array  # noqa: E402
from hubscape.viewer.scene.colormaps import linear_to_srgb  # noqa: E402
from hubscape.viewer.scene.geometry import ribbon  # noqa: E402
from hubscape.viewer.scene.model import Camera, GridFloor, Points, Scene  # noqa: E402
from hubscape.viewer.scene.projection import project  # noqa: E402
from hubscape.viewer.scene.themes import get_theme  # noqa: E402
from hubscape.viewer.sources.worlds import scene_from_source  # noqa: E402

pytestmark = pytest.mark.render

W, H = 400, 260
ORANGE = (1.0, 0.25, 0.0, 1.0)
MAGENTA = (1.0, 0.0, 1.0, 1.0)
GREEN = (0.0, 1.0, 0.0, 1.0)


def known_scene(theme: str = "tron") -> Scene:
    """A grid floor, an orange ribbon at y = 2.5 facing the camera, and two markers at known places."""
    t = np.linspace(-3.0, 3.0, 50)
    trail = ribbon(
        np.stack([t, np.full_like(t, 2.5), np.zeros_like(t)], 1),
        width=0.6,
        color=ORANGE,
        glow=1.0,
        side=(0.0, 1.0, 0.0),
        name="trail",
        pick=[{"model": "org/trail"}],
    )
    marks = Points(
        positions=[[-2.0, 1.0, 0.0], [2.0, 1.0, 0.0]],
        colors=[MAGENTA, GREEN],
        sizes=[24, 24],
        name="marks",
        pick=[{"model": "left"}, {"model": "right"}],
    )
    return Scene(
        world="growth",
        items=[trail, marks],
        theme=theme,
        grid=GridFloor(size=20, spacing=1),
        camera=Camera(target=[0, 1.5, 0], azimuth=0, elevation=8, distance=9, fov=40),
    )


def srgb8(color) -> np.ndarray:
    return np.rint(linear_to_srgb(np.asarray(color[:3])) * 255)


def patch(image: np.ndarray, xy, r: int = 2) -> np.ndarray:
    x, y = (int(round(v)) for v in xy)
    return image[y - r : y + r + 1, x - r : x + r + 1, :3].reshape(-1, 3).astype(float).mean(axis=0)


@pytest.fixture(scope="module", params=["tron", "paper"])
def rendered(request):
    scene = known_scene(request.param)
    return request.param, scene, render_array(scene, W, H)


def test_not_blank_and_theme_background(rendered):
    theme, scene, image = rendered
    assert image.shape == (H, W, 4) and image.dtype == np.uint8
    assert image[..., :3].std() > 10
    sky = image[:15, :, :3].reshape(-1, 3).astype(float)  # the top rows look over the horizon
    np.testing.assert_allclose(sky.mean(axis=0), srgb8(get_theme(theme).background), atol=3)
    assert (image[..., 3] == 255).all()


def test_markers_have_their_colours_at_projected_positions(rendered):
    theme, scene, image = rendered
    left, right = project(scene.find("marks").positions, scene.camera, W, H)
    np.testing.assert_allclose(patch(image, left), srgb8(MAGENTA), atol=30)
    np.testing.assert_allclose(patch(image, right), srgb8(GREEN), atol=30)


def test_ribbon_is_orange_at_projected_centre(rendered):
    theme, scene, image = rendered
    (centre,) = project(np.array([[0.0, 2.5, 0.0]]), scene.camera, W, H)
    r, g, b = patch(image, centre, r=1)
    assert r > 200 and r > g + 40 and g > b, (theme, r, g, b)


def test_grid_lines_in_theme_colour(rendered):
    theme, scene, image = rendered
    floor = image[int(0.85 * H) :, :, :3].reshape(-1, 3).astype(int)
    lit = floor[floor.sum(axis=1) > 120] if theme == "tron" else floor[floor.sum(axis=1) < 750]
    assert len(lit) > 0.02 * len(floor)  # the grid lines are there
    r, g, b = lit.mean(axis=0)
    if theme == "tron":
        assert g > 2 * r and b > 2 * r  # cyan on black
    else:
        assert abs(r - g) < 12 and abs(g - b) < 12  # grey on white


def test_bloom_spreads_light_around_bright_objects_in_tron():
    scene = known_scene("tron")
    (centre,) = project(np.array([[0.0, 2.5, 0.0]]), scene.camera, W, H)
    x, y = (int(v) for v in centre)
    ribbon_half_height = abs(project(np.array([[0.0, 2.2, 0.0]]), scene.camera, W, H)[0, 1] - y)
    above = int(y - ribbon_half_height - 6)  # a few pixels off the ribbon's edge: only glow reaches it
    offscreen = OffscreenRenderer(scene, W, H)
    assert offscreen.renderer.effect_passes  # tron has bloom
    glowing = offscreen.render()
    offscreen.renderer.effect_passes = []
    plain = offscreen.render()
    assert tuple(plain[above, x, :3]) == (0, 0, 0)
    assert glowing[above, x, 0] >= 10 and glowing[above, x, 0] > glowing[above, x, 2]  # an orange halo
    assert not OffscreenRenderer(known_scene("paper"), W, H).renderer.effect_passes  # paper: no bloom


def test_transparent_background_keeps_objects_opaque():
    scene = known_scene("paper")
    image = render_array(scene, W, H, transparent=True)
    assert (image[:10, :, 3] == 0).all()
    left, _ = project(scene.find("marks").positions, scene.camera, W, H)
    x, y = (int(round(v)) for v in left)
    assert image[y, x, 3] == 255
    np.testing.assert_allclose(image[y, x, :3], srgb8(MAGENTA), atol=30)


def test_tiled_render_matches_single_pass():
    from hubscape.viewer.scene.model import Legend

    scene = known_scene("tron")
    scene.title = "tiles"  # the overlay must land in the same place too
    scene.legend = Legend(entries=[{"label": "trail", "color": ORANGE}])
    whole = OffscreenRenderer(scene, 700, 420).render()
    tiled = OffscreenRenderer(scene, 700, 420, tile=300)
    assert tiled.tiled and tiled.tile == (300 - 128, 300 - 128)
    diff = np.abs(whole.astype(int) - tiled.render().astype(int))
    assert diff.mean() < 0.5 and np.percentile(diff, 99.9) <= 8


def test_render_is_deterministic():
    scene = known_scene("tron")
    assert np.array_equal(render_array(scene, 200, 120), render_array(scene, 200, 120))


def test_picking_returns_the_item_record():
    scene = known_scene("tron")
    offscreen = OffscreenRenderer(scene, W, H)
    offscreen.render()
    left, right = project(scene.find("marks").positions, scene.camera, W, H)
    info = offscreen.renderer.get_pick_info(tuple(float(v) for v in right))
    assert offscreen.rendered.pick_record(info) == {"item": "marks", "model": "right"}
    (centre,) = project(np.array([[0.5, 2.5, 0.0]]), scene.camera, W, H)
    info = offscreen.renderer.get_pick_info(tuple(float(v) for v in centre))
    assert offscreen.rendered.pick_record(info) == {"item": "trail", "model": "org/trail"}


def test_every_item_becomes_a_world_object_and_texts_go_to_the_overlay():
    scene = scene_from_source("demo:landscape", theme="tron")
    rendered = scene_to_pygfx(scene)
    assert set(rendered.items.values()) == {item for item in scene.items if item.kind != "labels"}
    import pygfx as gfx

    from hubscape.viewer.scene.figure import figure_primitives

    drawn = [t for t in rendered.overlay.root.iter() if isinstance(t, gfx.Text)]
    texts = sorted(rendered.overlay.texts())
    parts = figure_primitives(scene, rendered.theme, rendered.overlay.regions, rendered.size[0])
    expected = [p.text for p in rendered.layout.placed] + [q["text"] for q in parts if q["kind"] == "text"]
    assert texts == sorted(expected) and scene.title in texts and len(drawn) == len(texts)


@pytest.mark.parametrize("world", ["growth", "landscape", "activations"])
@pytest.mark.parametrize("theme", ["tron", "paper"])
def test_each_world_renders_in_each_theme(world, theme):
    scene = scene_from_source(f"demo:{world}", theme=theme)
    image = render_array(scene, 360, 240)
    background = srgb8(get_theme(theme).background)
    is_background = np.abs(image[..., :3].astype(int) - background).sum(axis=2) <= 6
    assert 0.2 < is_background.mean() < 0.97  # the theme's background, and plenty drawn on it
    assert image[..., :3].std() > 15
    # Markers and curves of the world land where the shared projection says, in their own colour
    # (markers sit on surfaces, so sample their upper half; curves are thin, so search 3x3).
    hits, tried = 0, 0
    for item in scene.items:
        if item.kind == "points":
            xy = project(item.positions, scene.camera, 360, 240)
            xy[:, 1] -= 0.25 * item.sizes
            samples = zip(xy, item.colors, [0] * len(xy))
        elif item.kind == "ribbon":  # shaded with glow: compare the hue along the centre line
            centre = 0.5 * (item.positions[0::2] + item.positions[1::2])
            for x, y in project(centre[1:-1:3], scene.camera, 360, 240):
                if 3 <= x < 357 and 3 <= y < 237:
                    pixel, want = image[int(y), int(x), :3].astype(float), srgb8(item.color)
                    cosine = pixel @ want / (np.linalg.norm(pixel) * np.linalg.norm(want) + 1e-9)
                    tried += 1
                    hits += bool(cosine > 0.95 and np.abs(pixel - background).sum() > 30)
            continue
        elif item.kind == "lines":
            mid = 0.5 * (item.positions[0::2] + item.positions[1::2])
            samples = zip(project(mid, scene.camera, 360, 240), item.colors[0::2], [1] * len(mid))
        else:
            continue
        for (x, y), color, r in samples:
            if 3 <= x < 357 and 3 <= y < 237:
                x, y = int(x), int(y)
                window = image[y - r : y + r + 1, x - r : x + r + 1, :3].reshape(-1, 3).astype(int)
                tried += 1
                hits += bool((np.abs(window - srgb8(color)).max(axis=1) <= 40).any())
    if world == "activations":  # bars, not markers: each bar top is drawn where it projects, off the background
        for item in scene.items:
            if item.name.startswith("layer/"):
                tops = item.positions.reshape(-1, 20, 3)[:, 0:4].mean(axis=1)  # the centre of each bar's top face
                for x, y in project(tops, scene.camera, 360, 240):
                    if 3 <= x < 357 and 3 <= y < 237:
                        tried += 1
                        hits += bool(np.abs(image[int(y), int(x), :3].astype(int) - background).sum() > 30)
    assert tried and hits >= 1 and hits / tried >= 0.2, (hits, tried)


def test_figure_overlay_draws_legend_swatches_colour_bar_and_title_where_the_layout_says():
    from hubscape.viewer.scene.colormaps import apply_colormap
    from hubscape.viewer.scene.figure import figure_regions
    from hubscape.viewer.scene.model import ColorBar, Legend

    scene = known_scene("paper")
    scene.title = "Known scene"
    scene.legend = Legend(entries=[{"label": "a", "color": ORANGE}, {"label": "b", "color": GREEN}])
    scene.colorbar = ColorBar(colormap="viridis", vmin=0.0, vmax=1.0, label="loss")
    w, h = 900, 600
    image = render_array(scene, w, h)
    regions = figure_regions(scene, w, h)
    s = regions.scale
    for (x, y, _, _), color in zip(regions.legend.entries, [ORANGE, GREEN]):  # swatches in the legend row
        np.testing.assert_allclose(patch(image, (x + 12 * s, y), r=0), srgb8(color), atol=6)
    x0, y0, x1, y1 = regions.colorbar.bar  # vmin at the bottom, vmax at the top
    ends = apply_colormap(np.array([0.0, 1.0]), "viridis", 0.0, 1.0)
    np.testing.assert_allclose(patch(image, ((x0 + x1) / 2, y1 - 3), r=1), srgb8(ends[0]), atol=12)
    np.testing.assert_allclose(patch(image, ((x0 + x1) / 2, y0 + 3), r=1), srgb8(ends[1]), atol=12)
    title_band = image[int(regions.title[1]) : int(regions.title[3]), w // 2 - 60 : w // 2 + 60, :3]
    assert (title_band.sum(axis=2) < 300).any()  # dark title text on white
    bare = render_array(scene, w, h, overlay=False)
    x, y, _, _ = regions.legend.entries[0]
    assert tuple(bare[int(y), int(x + 12 * s), :3]) == (255, 255, 255)
