"""``hubscape export``: PNG size and DPI, transparency, determinism, and one-line errors on bad input."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from hubscape.viewer.cli import main

pytestmark = pytest.mark.render


def export(capsys, *args):
    rc = main(["export", *map(str, args)])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_png_has_the_size_and_dpi_asked_for(tmp_path, capsys):
    out = tmp_path / "fig.png"
    rc, stdout, _ = export(
        capsys, "demo:landscape", "--out", out, "--size", "320x200", "--dpi", "300", "--theme", "paper"
    )
    assert rc == 0 and str(out) in stdout
    with Image.open(out) as im:
        assert im.size == (320, 200) and im.mode == "RGBA"
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        pixels = np.asarray(im)
    assert tuple(pixels[0, 0, :3]) == (255, 255, 255) and pixels[..., :3].std() > 10


def test_transparent_png_has_a_clear_background(tmp_path, capsys):
    out = tmp_path / "clear.png"
    rc, _, _ = export(capsys, "demo:growth", "--out", out, "--size", "300x200", "--transparent")
    assert rc == 0
    alpha = np.asarray(Image.open(out))[..., 3]
    assert alpha[0, 0] == 0 and (alpha == 255).any() and (alpha == 0).mean() > 0.3


def test_same_inputs_give_identical_files(tmp_path, capsys):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for out in (a, b):
        assert export(capsys, "demo:activations", "--out", out, "--size", "240x160")[0] == 0
    assert a.read_bytes() == b.read_bytes()


def test_camera_option_moves_the_view(tmp_path, capsys):
    default, turned = tmp_path / "default.png", tmp_path / "turned.png"
    assert export(capsys, "demo:landscape", "--out", default, "--size", "240x160")[0] == 0
    assert export(capsys, "demo:landscape", "--out", turned, "--size", "240x160", "--camera", "120,40,20")[0] == 0
    diff = np.abs(np.asarray(Image.open(default), int) - np.asarray(Image.open(turned), int))
    assert diff.mean() > 5


def test_title_replaces_the_scenes_title(tmp_path, capsys):
    out = tmp_path / "fig.svg"
    rc, _, _ = export(capsys, "demo:landscape", "--out", out, "--size", "320x200", "--title", "Figure 3: a valley")
    texts = [t.text for t in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert rc == 0 and "Figure 3: a valley" in texts and not any(t.startswith("Loss landscape of") for t in texts)


def test_builder_options_reach_the_scene(tmp_path, capsys):
    linear, log = tmp_path / "linear.png", tmp_path / "log.png"
    assert export(capsys, "demo:landscape", "--out", linear, "--size", "240x160")[0] == 0
    assert (
        export(
            capsys,
            "demo:landscape",
            "--out",
            log,
            "--size",
            "240x160",
            "--option",
            "log_loss=true",
            "--option",
            "contours=0",
        )[0]
        == 0
    )
    diff = np.abs(np.asarray(Image.open(linear), int) - np.asarray(Image.open(log), int))
    assert diff.mean() > 2


def test_a_scene_bundle_exports(tmp_path, capsys):
    from hubscape.viewer.scene.serialize import save_scene
    from hubscape.viewer.sources.worlds import scene_from_source

    bundle = save_scene(tmp_path / "scene.safetensors", scene_from_source("demo:landscape", theme="paper"))
    out = tmp_path / "scene.png"
    assert export(capsys, bundle, "--out", out, "--size", "200x120", "--theme", "paper")[0] == 0
    assert Image.open(out).size == (200, 120)


def test_svg_pdf_and_glb_go_to_their_exporters(tmp_path, capsys):
    import subprocess

    svg, pdf, glb = tmp_path / "f.svg", tmp_path / "f.pdf", tmp_path / "f.glb"
    for out in (svg, pdf, glb):
        assert export(capsys, "demo:growth", "--out", out, "--size", "400x260", "--theme", "paper")[0] == 0
    text = svg.read_text()
    assert "<image" in text and "months since release" in text and "<text" in text  # labels stay vector
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(pdf), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 500
    data = glb.read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert magic == b"glTF" and version == 2 and length == len(data)
    chunk_len, chunk_type = struct.unpack("<I4s", data[12:20])
    doc = json.loads(data[20 : 20 + chunk_len])
    assert chunk_type == b"JSON" and doc["asset"]["version"] == "2.0" and doc["meshes"]


def _bogus_kind_bundle(path):
    header = json.dumps({"__metadata__": {"hubscape": json.dumps({"kind": "weather", "schema": 1, "meta": {}})}})
    header_bytes = header.encode() + b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes)
    return path


@pytest.mark.parametrize(
    "case",
    [
        "unknown kind",
        "corrupt",
        "size 0x0",
        "size 100000x100000",
        "size text",
        "theme",
        "demo",
        "missing",
        "extension",
        "camera",
        "dpi",
        "unknown option",
        "option syntax",
        "empty title",
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, capsys, case):
    out = tmp_path / "fig.png"
    source, extra = "demo:landscape", []
    if case == "unknown kind":
        source = _bogus_kind_bundle(tmp_path / "weather.safetensors")
    elif case == "corrupt":
        source = tmp_path / "broken.safetensors"
        source.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    elif case == "size 0x0":
        extra = ["--size", "0x0"]
    elif case == "size 100000x100000":
        extra = ["--size", "100000x100000"]
    elif case == "size text":
        extra = ["--size", "big"]
    elif case == "theme":
        extra = ["--theme", "neon"]
    elif case == "demo":
        source = "demo:weather"
    elif case == "missing":
        source = tmp_path / "nope.safetensors"
    elif case == "extension":
        out = tmp_path / "fig.bmp"
    elif case == "camera":
        extra = ["--camera", "10,95,5"]
    elif case == "dpi":
        extra = ["--dpi", "0"]
    elif case == "unknown option":
        extra = ["--option", "colour=red"]
    elif case == "option syntax":
        extra = ["--option", "log_loss"]
    elif case == "empty title":
        extra = ["--title", " "]
    rc, _, err = export(capsys, source, "--out", out, *extra)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hubscape") and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".fig*"))
