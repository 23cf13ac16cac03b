"""Scene builders from hand-made bundles (layouts of docs/bundles.md), and the scene round trip."""

from __future__ import annotations

import numpy as np
import pytest

from hubscape.core.bundle import read_bundle, write_bundle
from hubscape.core.errors import BundleError, InputError
from hubscape.viewer.scene import load_scene, save_scene, scene_from_bundle, scene_to_bundle
from hubscape.viewer.scene.builders import build_scene
from hubscape.viewer.scene.model import Scene
from hubscape.viewer.scene.themes import THEMES, get_theme


def assert_scenes_equal(a: Scene, b: Scene):
    assert (a.world, a.title, a.theme) == (b.world, b.title, b.theme)
    np.testing.assert_array_equal(a.bounds, b.bounds)
    for attr in ("target", "azimuth", "elevation", "distance", "fov", "aspect"):
        np.testing.assert_array_equal(getattr(a.camera, attr), getattr(b.camera, attr))
    assert a.views.keys() == b.views.keys()
    for name in a.views:
        np.testing.assert_array_equal(a.views[name].eye, b.views[name].eye)
    assert [vars(c) for c in a.charts] == [vars(c) for c in b.charts]
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


# -- dispatch, errors, round trip ---------------------------------------------------------------


def test_build_scene_errors_are_one_line(tmp_path, makers):
    path = makers.landscape(tmp_path / "l.safetensors")
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


@pytest.mark.parametrize("maker", ["growth", "landscape", "activations", "wide_activations"])
@pytest.mark.parametrize("theme", list(THEMES))
def test_scene_round_trips_through_a_bundle(tmp_path, makers, maker, theme):
    scene = build_scene(getattr(makers, maker)(tmp_path / "in.safetensors"), theme=theme)
    arrays, meta = scene_to_bundle(scene)
    assert all(k.startswith("items/") for k in arrays)
    assert meta["theme"]["name"] == theme and meta["theme"]["bloom_strength"] == get_theme(theme).bloom_strength
    save_scene(tmp_path / "scene.safetensors", scene)
    back = load_scene(tmp_path / "scene.safetensors")
    assert_scenes_equal(scene, back)
    # and a saved scene is itself a source
    again = build_scene(tmp_path / "scene.safetensors", theme="paper")
    assert again.theme == "paper" and len(again.items) == len(scene.items)


def test_scene_bundle_arrays_are_gpu_ready(tmp_path, makers):
    scene = build_scene(makers.landscape(tmp_path / "l.safetensors"))
    arrays, _ = scene_to_bundle(scene)
    for key, arr in arrays.items():
        assert arr.flags.c_contiguous
        assert arr.dtype == (np.uint32 if key.endswith("/indices") else np.float32), key


def test_damaged_scene_bundle_is_a_bundle_error(tmp_path, makers):
    scene = build_scene(makers.landscape(tmp_path / "l.safetensors"))
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
    assert len(paper.palette) == len(tron.palette) == 12
    # paper colours are text on white: each darker than mid-grey (Okabe-Ito's yellow is not among them)
    from hubscape.viewer.scene.colormaps import linear_to_srgb

    luminance = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b, _ in paper.palette]
    assert max(luminance) < 0.45
    srgb = [tuple(np.round(linear_to_srgb(np.array(c[:3])) * 255)) for c in tron.palette]
    assert len(set(srgb)) == 12
    # the look constants every renderer reads from the theme (and the browser from the scene bundle)
    for th in (tron, paper):
        doc = th.to_json()
        assert doc["bloom_threshold"] == 0.55 and doc["bloom_knee"] == 0.3 and doc["bloom_iterations"] == 2
        assert doc["ambient"] == 0.55
