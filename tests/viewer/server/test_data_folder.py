"""`hubscape serve --data`: a bad file is reported and left out, the rest is served."""

from __future__ import annotations

import json

import numpy as np

from hubscape.core.bundle import encode_bundle
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
