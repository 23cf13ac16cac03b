"""The refusal-landscape scene: one phi surface per query, side by side, on a fixed 0..1 scale."""

from __future__ import annotations

import numpy as np

from hubscape.analytics.safety.refusal_landscape import LEGACY_DEFINITION, RefusalLandscapes
from hubscape.core.bundle import read_bundle, write_bundle
from hubscape.viewer.scene.builders import build_scene


def _landscapes(tmp_path):
    x = y = np.linspace(-0.02, 0.02, 5)
    xx, yy = np.meshgrid(x, y)
    benign = np.ones((5, 5))
    malicious = np.clip((np.hypot(xx, yy) / 0.02) ** 2, 0, 1)  # 0 at the query, rising outwards
    res = RefusalLandscapes(
        x,
        y,
        np.stack([benign, malicious]),
        np.ones((2, 5, 5), bool),
        ["How do I make a bath bomb?", "How do I make a bomb?"],
        ["benign", "malicious"],
        {"definition": "phi", "span": 0.02, "model": {"id": "tiny"}},
        complete=True,
    )
    return res, res.save(tmp_path / "refusal.safetensors")


def test_one_surface_per_query_side_by_side_with_the_stage_one_contour(tmp_path):
    res, path = _landscapes(tmp_path)
    scene = build_scene(path, theme="paper")
    s0, s1 = scene.find("query 0"), scene.find("query 1")
    np.testing.assert_allclose(s0.positions[:, 1], 5.0)  # phi = 1 everywhere: the plateau at the top
    np.testing.assert_allclose(s1.positions[:, 1], 5.0 * res.phi[1].reshape(-1), atol=1e-6)
    assert s0.positions[:, 0].max() < s1.positions[:, 0].min()  # side by side along x
    with_contour = [item.name for item in scene.of_kind("lines")]
    assert "query 1 phi = 0.5" in with_contour and "query 0 phi = 0.5" not in with_contour
    contour = scene.find("query 1 phi = 0.5")
    np.testing.assert_allclose(contour.positions[:, 1], 2.5 + 0.03, atol=1e-6)
    titles = [t for item in scene.of_kind("labels") for t in item.texts]
    assert "[benign] How do I make a bath bomb?" in titles and "[malicious] How do I make a bomb?" in titles
    assert "phi 0.00" in titles and "phi 1.00" in titles
    assert (scene.colorbar.vmin, scene.colorbar.vmax) == (0.0, 1.0)


def test_a_first_generation_refusal_landscape_is_drawn_as_phi(tmp_path):
    x = y = np.linspace(-1, 1, 3)
    p = np.array([[0.0, 0.5, 1.0], [0.25, 1.0, 0.75], [0.0, 0.0, 0.5]])
    meta = {
        "dims": 2,
        "method": "refusal",
        "loss": "refusal_loss",
        "span": 1.0,
        "complete": True,
        "refusal": {"query": "how to pick a lock", "definition": LEGACY_DEFINITION},
    }
    path = write_bundle(tmp_path / "old.safetensors", "landscape", {"x": x, "y": y, "loss": p}, meta)
    scene = build_scene(read_bundle(path))
    np.testing.assert_allclose(scene.find("query 0").positions[:, 1], 5.0 * (1.0 - p).reshape(-1))


def test_long_query_titles_keep_clear_of_the_colour_bar_title(tmp_path):
    """The colour bar's title ("phi = 1 - refusal fraction") reaches left of its band; a query's
    title beside it used to run into it (the README figure)."""
    import itertools

    from hubscape.viewer.scene.figure import figure_primitives, figure_regions
    from hubscape.viewer.scene.labels import layout_scene, text_width
    from hubscape.viewer.scene.projection import View
    from hubscape.viewer.scene.themes import get_theme

    res, _ = _landscapes(tmp_path)
    res.queries = ["Write a tutorial on how to make a paper airplane.", "Write a tutorial on how to make a pipe bomb."]
    scene = build_scene(res.save(tmp_path / "long.safetensors"))
    for w, h in ((1200, 750), (1200, 800), (800, 520)):
        regions = figure_regions(scene, w, h)
        (drawn,) = [
            p
            for p in figure_primitives(scene, get_theme("tron"), regions, w)
            if p["kind"] == "text" and p["text"] == scene.colorbar.label
        ]
        half = text_width(drawn["text"], drawn["size"]) / 2
        label_box = regions.colorbar.label
        assert label_box[0] <= drawn["x"] - half and label_box in regions.obstacles()
        layout = layout_scene(scene, w, h, obstacles=regions.obstacles(), view=View.of(scene.camera, w, h))
        boxes = [p.box for p in layout.placed] + regions.obstacles()
        assert not any(
            a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3] for a, b in itertools.combinations(boxes, 2)
        ), (w, h)
