"""SVG/PDF export: raster view embedded, axes and labels as vector text at their projected places."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from hubscape.core.bundle import write_bundle
from hubscape.core.errors import InputError
from hubscape.viewer.export.vector import export_pdf, export_svg, export_vector
from hubscape.viewer.scene.builders import build_scene

SVG = "{http://www.w3.org/2000/svg}"
W, H, DPI = 480, 320, 96


def landscape_scene(tmp_path, theme="paper"):
    x, y = np.linspace(-1, 1, 15), np.linspace(-1, 1, 11)
    loss = 1 + (x[None, :] - 0.2) ** 2 + y[:, None] ** 2
    path = write_bundle(
        tmp_path / "l.safetensors",
        "landscape",
        {"x": x, "y": y, "loss": loss},
        {"dims": 2, "method": "random", "loss": "cross_entropy", "center_loss": 1.04, "model": {"id": "org/tiny-net"}},
    )
    return build_scene(path, theme=theme)


class StripeRaster:
    """Stands in for the pygfx renderer: top half red, bottom half blue; records what it was given."""

    def __init__(self, as_png: bool = False):
        self.as_png, self.calls = as_png, []

    def __call__(self, scene, width, height):
        self.calls.append((scene, width, height))
        img = np.zeros((height, width, 3), np.uint8)
        img[: height // 2] = (220, 20, 10)
        img[height // 2 :] = (10, 30, 200)
        if not self.as_png:
            return img
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        return buf.getvalue()


def svg_texts(path):
    root = ET.parse(path).getroot()
    return [(el.text, el.attrib) for el in root.iter(f"{SVG}text")]


def test_svg_draws_every_text_where_the_layout_places_it_as_text(tmp_path):
    from hubscape.viewer.scene.figure import figure_regions
    from hubscape.viewer.scene.labels import layout_scene

    scene = landscape_scene(tmp_path)
    raster = StripeRaster()
    w, h = 2 * W, 2 * H
    out = export_svg(scene, tmp_path / "fig.svg", raster, width=w, height=h, dpi=DPI)
    texts = svg_texts(out)
    strings = [t for t, _ in texts]
    for title in ("alpha (direction 1)", "beta (direction 2)", "cross_entropy", scene.title):
        assert title in strings
    # the same layout as the PNG and the browser: each placed text once, at its place
    regions = figure_regions(scene, w, h)
    layout = layout_scene(scene, w, h, scale=regions.scale, obstacles=regions.obstacles())

    def near(p, attrib):  # the alignment point, and the baseline within a line of the centre
        x_px, y_px = float(attrib["x"]) * DPI / 72, float(attrib["y"]) * DPI / 72
        return abs(x_px - p.x) <= 0.5 and abs(y_px - p.y) < p.size

    for p in layout.placed:
        assert any(t == p.text and near(p, dict(a)) for t, a in texts), p.text
        assert strings.count(p.text) >= sum(q.text == p.text for q in layout.placed)
    ticks = [t for axes in scene.of_kind("axes") for t in axes.ticks]
    assert {t["axis"] for t in ticks} == {0, 1, 2}
    assert sum(t["label"] in strings for t in ticks) >= len(ticks) - 2  # ticks at the corners may give way
    # the renderer drew only the 3D view: no labels or axes, no legend, colour bar, charts or title
    drawn = raster.calls[0][0]
    assert raster.calls[0][1:] == (w, h)
    assert not drawn.of_kind("labels") and not drawn.of_kind("axes") and drawn.colorbar is None
    assert drawn.find("surface") is not None and drawn.title == ""


def test_svg_embeds_the_raster_unscaled(tmp_path):
    scene = landscape_scene(tmp_path)
    out = export_svg(scene, tmp_path / "fig.svg", StripeRaster(as_png=True), width=W, height=H, dpi=DPI)
    root = ET.parse(out).getroot()
    images = [el.attrib["{http://www.w3.org/1999/xlink}href"] for el in root.iter(f"{SVG}image")]
    decoded = [np.asarray(Image.open(io.BytesIO(base64.b64decode(h.split(",", 1)[1]))).convert("RGB")) for h in images]
    view = [img for img in decoded if img.shape[:2] == (H, W)]
    assert len(view) == 1
    assert tuple(view[0][10, 10]) == (220, 20, 10) and tuple(view[0][H - 10, W - 10]) == (10, 30, 200)
    width_attr = root.attrib["width"]
    assert float(re.sub("[a-z]+", "", width_attr)) == pytest.approx(W * 72 / DPI)


def test_pdf_renders_with_pdftoppm_and_keeps_text(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    scene = landscape_scene(tmp_path, theme="tron")
    out = export_pdf(scene, tmp_path / "fig.pdf", StripeRaster(), width=W, height=H, dpi=DPI)
    assert out.read_bytes().startswith(b"%PDF")
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", str(out), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    page = np.asarray(Image.open(tmp_path / "page.png").convert("RGB")).astype(int)
    assert abs(page.shape[1] - W) <= 1 and abs(page.shape[0] - H) <= 1
    # away from text: the stripes of the raster come through
    assert np.abs(page[H // 4, 5] - [220, 20, 10]).max() < 12
    assert np.abs(page[3 * H // 4, W // 2 + 60] - [10, 30, 200]).max() < 12
    text = pypdf.PdfReader(out).pages[0].extract_text()
    assert "alpha (direction 1)" in text and "cross_entropy" in text


@pytest.mark.parametrize("suffix", ["svg", "pdf"])
def test_vector_export_is_deterministic(tmp_path, suffix):
    scene = landscape_scene(tmp_path)
    a = export_vector(scene, tmp_path / f"a.{suffix}", StripeRaster(), width=W, height=H, dpi=DPI).read_bytes()
    b = export_vector(scene, tmp_path / f"b.{suffix}", StripeRaster(), width=W, height=H, dpi=DPI).read_bytes()
    assert a == b


@pytest.mark.parametrize("theme, fill", [("paper", "#1a1a1a"), ("tron", "#bffbff")])
def test_text_takes_the_theme_colour(tmp_path, theme, fill):
    out = export_svg(
        landscape_scene(tmp_path, theme=theme), tmp_path / "fig.svg", StripeRaster(), width=W, height=H, dpi=DPI
    )
    fills = {re.search(r"fill: (#[0-9a-f]{6})", a["style"]).group(1) for _, a in svg_texts(out)}
    assert fills == {fill}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"width": 0, "height": 0}, "impossible"),
        ({"width": 100000, "height": 100000}, "impossible"),
        ({"width": 100.5, "height": 100}, "whole pixels"),
        ({"dpi": 0}, "dpi"),
    ],
)
def test_bad_sizes_raise_one_line_errors_and_write_nothing(tmp_path, kwargs, message):
    scene = landscape_scene(tmp_path)
    target = tmp_path / "out" / "fig.svg"
    with pytest.raises(InputError, match=message) as err:
        export_vector(scene, target, StripeRaster(), **{"width": W, "height": H, **kwargs})
    assert "\n" not in str(err.value)
    assert not target.exists()


def test_wrong_suffix_and_wrong_raster_size(tmp_path):
    scene = landscape_scene(tmp_path)
    with pytest.raises(InputError, match=".svg or .pdf"):
        export_vector(scene, tmp_path / "fig.eps", StripeRaster())
    with pytest.raises(InputError, match=".pdf"):
        export_pdf(scene, tmp_path / "fig.svg", StripeRaster())
    with pytest.raises(InputError, match="shape"):
        export_vector(scene, tmp_path / "fig.svg", lambda s, w, h: np.zeros((h, w + 1, 3), np.uint8), width=W, height=H)
    scene.theme = "neon"
    with pytest.raises(InputError, match="unknown theme"):
        export_vector(scene, tmp_path / "fig.svg", StripeRaster(), width=W, height=H)
    assert not (tmp_path / "fig.svg").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["l.safetensors"]  # no temp files left behind
