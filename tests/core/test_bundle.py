import json

import numpy as np
import pytest

from hubscape.core import atomic
from hubscape.core.bundle import (
    SCHEMAS,
    bundle_kind,
    decode_bundle,
    encode_bundle,
    parse_bundle,
    read_bundle,
    write_bundle,
)
from hubscape.core.errors import BundleError


def test_roundtrip_is_lossless(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "models/0/t": np.arange(12, dtype=np.float64),
        "models/0/count": rng.integers(0, 100, 12).astype(np.int64),
        "grid/loss": rng.normal(size=(3, 5)).astype(np.float32),
        "mask": np.array([True, False, True]),
    }
    meta = {"unit": "month", "m": 30.0, "models": [{"model": "a/b", "c_inf": float("nan")}]}
    path = write_bundle(tmp_path / "b.safetensors", "growth", arrays, meta, {"relation": "finetune"})
    b = parse_bundle(path.read_bytes(), kind="growth")  # the codec alone: this growth layout is incomplete
    assert b.kind == "growth" and b.schema == SCHEMAS["growth"]
    assert set(b.arrays) == set(arrays)
    for key, arr in arrays.items():
        assert b.arrays[key].dtype == arr.dtype
        np.testing.assert_array_equal(b.arrays[key], arr)
    assert b.meta["models"][0]["c_inf"] is None  # NaN is stored as JSON null, never invalid JSON
    assert b.provenance["relation"] == "finetune" and "hubscape_version" in b.provenance
    assert bundle_kind(path) == "growth"


def test_header_is_plain_safetensors_json(tmp_path):
    """The browser parses bundles by hand: 8-byte LE length, JSON header, __metadata__.hubscape."""
    data = encode_bundle("scene", {"x": np.zeros(4, np.float32)}, {"items": []})
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    assert header["x"]["dtype"] == "F32" and header["x"]["shape"] == [4]
    assert json.loads(header["__metadata__"]["hubscape"])["kind"] == "scene"


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"", "too short"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json", "header length"),
        (b"\x02\x00\x00\x00\x00\x00\x00\x00{}", "without hubscape metadata"),
    ],
)
def test_corrupt_bundles_give_one_line_errors(payload, match):
    with pytest.raises(BundleError, match=match) as info:
        decode_bundle(payload)
    assert "\n" not in str(info.value)


def test_wrong_kind_unknown_kind_and_newer_schema(tmp_path):
    path = write_bundle(tmp_path / "s.safetensors", "scene", {}, {})
    with pytest.raises(BundleError, match="is a scene bundle, but a growth bundle"):
        read_bundle(path, kind="growth")
    with pytest.raises(BundleError, match="unknown bundle kind"):
        write_bundle(tmp_path / "x.safetensors", "nonsense", {}, {})
    assert not (tmp_path / "x.safetensors").exists()
    data = encode_bundle("scene", {}, {})
    newer = data.replace(b'\\"schema\\":1', b'\\"schema\\":9')  # same length
    with pytest.raises(BundleError, match="newer than this hubscape reads"):
        decode_bundle(newer)


def test_missing_file_and_text_arrays_rejected(tmp_path):
    with pytest.raises(BundleError, match="no such bundle"):
        read_bundle(tmp_path / "nope.safetensors")
    with pytest.raises(BundleError, match="put text in the JSON meta"):
        encode_bundle("growth", {"names": np.array(["a", "b"])}, {})


def test_atomic_write_leaves_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "out.txt"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(target) as fh:
            fh.write("half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left behind


def test_atomic_write_gives_normal_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = atomic.write_text(tmp_path / "fig.txt", "x")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
