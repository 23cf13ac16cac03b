"""`hubscape serve --data`: a bad file is reported and left out, the rest is served."""

from __future__ import annotations

import json

import numpy as np

from hubscape.core.bundle import decode_bundle, encode_bundle
from hubscape.viewer.server.kernel import ServerKernel
from hubscape.viewer.sources.demos import demo_landscape


def _nested(levels: int) -> bytes:
    good = demo_landscape()
    data = encode_bundle("landscape", good.arrays, good.meta)
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    doc = header["__metadata__"]["hubscape"]
    header["__metadata__"]["hubscape"] = doc[:-1] + ',"deep":' + "[" * levels + "]" * levels + "}"
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[8 + size :]


def test_bad_files_are_reported_and_skipped(tmp_path):
    good = demo_landscape()
    (tmp_path / "good.safetensors").write_bytes(encode_bundle("landscape", good.arrays, good.meta))
    (tmp_path / "deep.safetensors").write_bytes(_nested(100_000))  # was a RecursionError at start-up
    (tmp_path / "cut.safetensors").write_bytes(encode_bundle("landscape", good.arrays, good.meta)[:-100])
    broken = {**good.arrays, "loss": np.zeros(3)}  # well-formed, wrong shape
    (tmp_path / "shape.safetensors").write_bytes(encode_bundle("landscape", broken, good.meta))
    (tmp_path / "weights.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")  # not ours: silent
    kernel = ServerKernel(data_dir=tmp_path)
    titles = [i["title"] for i in kernel.gallery() if i["source"] == "bundle"]
    assert titles == ["good.safetensors"]
    skipped = {path.name: reason for path, reason in kernel.skipped}
    assert set(skipped) == {"cut.safetensors", "deep.safetensors", "shape.safetensors"}
    assert "nests deeper" in skipped["deep.safetensors"] and "loss" in skipped["shape.safetensors"]
    assert all("\n" not in reason for reason in skipped.values())
    assert kernel.scene_bytes(f"bundle:{titles.index('good.safetensors')}", "paper")[:8]


def test_a_csv_with_more_models_than_shown_keeps_the_largest_and_says_so(tmp_path, monkeypatch):
    """Issue 8: `serve --data` showed the first 8 models in file order, silently. Now every model
    up to MAX_MODELS (64), beyond that the largest trees, with a note naming how many of how many."""
    import csv
    import io

    import hubscape.viewer.server.kernel as kernel_module
    from hubscape.viewer.sources.demos import demo_children_csv

    text = demo_children_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    sizes = {}
    for row in rows:
        sizes[row["base_model"]] = sizes.get(row["base_model"], 0) + 1
    assert len(sizes) >= 3
    (tmp_path / "kids.csv").write_text(text, encoding="utf-8")
    monkeypatch.setattr(kernel_module, "MAX_MODELS", 2)
    kernel = ServerKernel(data_dir=tmp_path)
    scene = decode_bundle(kernel.scene_bytes("csv:0", "tron"), kind="scene")
    shown = sorted(e["label"] for e in scene.meta["legend"]["entries"])
    assert shown == sorted(sorted(sizes, key=lambda name: -sizes[name])[:2])
    (item,) = [i for i in kernel.gallery() if i["source"] == "csv"]
    assert item["note"].startswith(f"showing the 2 largest of {len(sizes)} model trees in kids.csv")
