"""The notebook facade: ``import hubscape as hs`` and the verbs scene, show, export, load over
results, bundles, Scenes, paths and demo names."""

from __future__ import annotations

import numpy as np
import pytest

import hubscape as hs
from hubscape.core.errors import BundleError, InputError


def test_dir_lists_the_api():
    names = set(dir(hs))
    assert {
        "growth",
        "landscape",
        "activations",
        "safety",
        "scene",
        "show",
        "export",
        "load",
        "InputError",
        "BundleError",
    } <= names
    assert hs.InputError is InputError and hs.BundleError is BundleError
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        hs.nonsense  # noqa: B018


def test_every_safety_name_resolves_to_its_module_object():
    from hubscape.analytics.safety import gradient_cuff, metric

    for name in hs.safety.__all__:
        assert getattr(hs.safety, name) is not None, name
    assert hs.safety.run_gradient_cuff is gradient_cuff.run_gradient_cuff
    assert hs.safety.compute_safety_landscape is metric.compute_safety_landscape
    assert len(hs.safety.GRADIENT_CUFF_KEYWORDS) == 60
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        hs.safety.nonsense  # noqa: B018


@pytest.fixture(scope="module")
def growth_csv(tmp_path_factory):
    """A small children CSV: three synthetic trees drawn from the WSB model (the growth demo's data)."""
    from hubscape.viewer.sources.demos import demo_children_csv

    path = tmp_path_factory.mktemp("growth") / "demo.csv"
    path.write_text(demo_children_csv())
    return path


@pytest.fixture(scope="module")
def acts():
    torch = pytest.importorskip("torch")
    from hubscape.analytics.activations.digits import seeded_cnn

    torch.manual_seed(0)
    model = seeded_cnn(0, {"channels": [4, 8], "hidden": 16})
    x = np.random.default_rng(0).random((32, 1, 16, 16), dtype=np.float32)
    xt = x.copy()
    xt[:, :, -3:, -3:] = 1.0
    return hs.activations(model, {"clean": x, "triggered": xt})


def test_scene_takes_results_bundles_scenes_paths_and_demos(acts, tmp_path):
    from_result = hs.scene(acts)
    assert from_result.world == "activations" and from_result.theme == "tron"
    assert hs.scene(acts.to_bundle(), theme="paper").theme == "paper"
    path = acts.save(tmp_path / "acts.safetensors")
    assert hs.scene(path).world == "activations" and hs.scene(str(path)).world == "activations"
    demo = hs.scene("demo:landscape", theme="paper")
    assert demo.world == "landscape" and demo.theme == "paper"
    assert hs.scene(demo, theme="tron") is demo and demo.theme == "tron"
    assert hs.scene("demo:growth", log_count=True).world == "growth"


@pytest.mark.parametrize(
    "x, kwargs, needle",
    [
        (42, {}, "cannot draw a int"),
        ("no-such-file.safetensors", {}, "no such file"),
        ("demo:nothing", {}, "unknown demo"),
        ("demo:landscape", {"colour": "red"}, "take no option colour"),
    ],
)
def test_bad_viewables_are_one_line_input_errors(x, kwargs, needle):
    with pytest.raises(InputError, match=needle) as info:
        hs.scene(x, **kwargs)
    assert "\n" not in str(info.value)


def test_landscape_in_one_call_draws_and_round_trips(tmp_path):
    torch = pytest.importorskip("torch")
    from hubscape.analytics.landscape.result import LandscapeResult

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    result = hs.landscape(model, [(x, y)], torch.nn.functional.cross_entropy, grid=(5, 5), span=0.5)
    assert result.loss.shape == (5, 5)
    with torch.no_grad():
        center = float(torch.nn.functional.cross_entropy(model(x), y))
    assert result.loss[2, 2] == pytest.approx(center, rel=1e-5)  # the middle of the grid is the model
    assert hs.scene(result).world == "landscape"
    back = hs.load(result.save(tmp_path / "land.safetensors"))
    assert isinstance(back, LandscapeResult) and np.array_equal(back.loss, result.loss)


def test_load_gives_the_typed_result_of_each_kind(acts, growth_csv, tmp_path):
    from hubscape.analytics.activations.result import ActivationResult
    from hubscape.viewer.scene.model import Scene
    from hubscape.viewer.scene.serialize import save_scene

    back = hs.load(acts.save(tmp_path / "acts.safetensors"))
    assert isinstance(back, ActivationResult) and back.summary() == acts.summary()
    scene = hs.scene("demo:landscape")
    loaded = hs.load(save_scene(tmp_path / "scene.safetensors", scene))
    assert isinstance(loaded, Scene) and loaded.title == scene.title
    fits = hs.growth.fit(growth_csv)
    growth = hs.load(fits.save(tmp_path / "growth.safetensors"))
    assert type(growth).__name__ == "GrowthResults" and [r.series.model for r in growth] == [
        r.series.model for r in fits
    ]
    (tmp_path / "notes.txt").write_text("not a bundle")
    for bad, needle in (
        (tmp_path / "missing.safetensors", "no such bundle"),
        (tmp_path / "notes.txt", "not a hubscape bundle"),
    ):
        with pytest.raises(InputError, match=needle):
            hs.load(bad)


@pytest.mark.render
def test_export_checks_its_path_before_any_work(growth_csv, tmp_path):
    (tmp_path / "taken.png").mkdir()
    for bad, needle in ((tmp_path / "fig.jpeg", "must end in"), (tmp_path / "taken.png", "is a folder")):
        with pytest.raises(InputError, match=needle):
            hs.export(growth_csv, bad)


@pytest.mark.render
def test_export_writes_the_figure_of_a_result_in_its_theme(acts, tmp_path):
    pytest.importorskip("pygfx")
    from PIL import Image

    out = hs.export(acts, tmp_path / "acts.png", size=(480, 300), theme="paper")
    image = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    assert image.shape == (300, 480, 3)
    assert image[2, 2].min() > 240  # paper: white background
    assert image.std() > 10  # the tiles are drawn, not only the background


@pytest.mark.render
def test_a_scene_built_in_paper_exports_in_paper(tmp_path):
    """export_figure used to draw a paper scene on the Tron background (its theme default)."""
    pytest.importorskip("pygfx")
    from PIL import Image

    from hubscape.viewer.export import export_figure

    out = export_figure(hs.scene("demo:landscape", theme="paper"), tmp_path / "paper.png", size=(320, 200))
    assert np.asarray(Image.open(out).convert("RGB"))[2, 2].min() > 240


@pytest.mark.render
def test_show_draws_on_an_offscreen_and_on_a_jupyter_canvas(acts):
    pytest.importorskip("pygfx")
    from rendercanvas.offscreen import RenderCanvas

    canvas = hs.show(acts, canvas=RenderCanvas(size=(320, 200)))
    frame = np.asarray(canvas.draw())
    assert frame.shape[:2] == (200, 320) and frame[..., :3].std() > 5
    jupyter = pytest.importorskip("rendercanvas.jupyter")
    widget = hs.show("demo:landscape", theme="paper", canvas=jupyter.RenderCanvas(size=(320, 200)))
    # What a notebook frontend does when the cell displays the widget: report its size, ask for a frame.
    widget.handle_event({"event_type": "resize", "width": 320, "height": 200, "pixel_ratio": 1.0})
    widget.force_draw()
    image = np.asarray(widget._last_image)  # the frame jupyter_rfb sends to the page
    assert image.shape[:2] == (200, 320)
    assert image[2, 2, :3].min() > 240 and image[..., :3].std() > 5
