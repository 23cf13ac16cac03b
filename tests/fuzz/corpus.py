"""A deterministic fuzz corpus of damaged bundles (not a test file itself).

    python tests/fuzz/corpus.py OUTDIR [--per-base N] [--seed S]

writes ``N`` mutants of each base bundle (the built-in demos of the three worlds, shrunk, a
refusal landscape and a Gradient Cuff run, and two scene bundles built from them) into OUTDIR, named ``<base>-<operator>-<k>.safetensors``.
The same seed gives the same bytes. Operators, at two levels:

* bytes: truncation, bit flips, header-length values, broken header JSON, tensor entries with
  wrong dtypes, shapes, offsets or keys, damaged ``__metadata__`` (missing, not strings, byte
  order marks, NaN literals, 5000-digit numbers, nesting 63 to 100,000 levels deep);
* meaning (a valid container around wrong insides): kind and schema values (0, -1, true, 2,
  "1", null), meta keys removed or given the wrong JSON type, arrays removed, cast to other
  dtypes, reshaped, emptied, shortened, filled with NaN/Inf, scene indices out of range, and
  harmless extras (unknown keys, which readers must ignore).

The tests (tests/fuzz/test_fuzz.py) feed every file to the Python loaders, every scene
builder, the CLI, the server and the browser's parser (node), and require one-line errors.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

Mutant = tuple[str, bytes]


# --- base bundles ----------------------------------------------------------------------
def base_bundles() -> dict[str, bytes]:
    """Small valid bundles of every kind, encoded as hubscape writes them."""
    from hubscape.core.bundle import Bundle, encode_bundle
    from hubscape.viewer.scene.builders import build_scene
    from hubscape.viewer.scene.serialize import scene_to_bundle
    from hubscape.viewer.sources.demos import demo_activations, demo_growth, demo_landscape

    land = demo_landscape()
    every = 8
    small = {
        "x": land.arrays["x"][::every],
        "y": land.arrays["y"][::every],
        "loss": land.arrays["loss"][::every, ::every],
        "done": np.ones((11, 11), bool),
        "trajectory/xy": land.arrays["trajectory/xy"][::4],
        "trajectory/loss": land.arrays["trajectory/loss"][::4],
        "markers/xy": np.array([[0.1, -0.2], [0.5, 0.5]]),
    }
    land = Bundle(
        kind="landscape",
        meta={**land.meta, "grid": [11, 11], "markers": ["a", "b"]},
        arrays=small,
        provenance=land.provenance,
        schema=1,
    )
    line = Bundle(
        kind="landscape",
        meta={"dims": 1, "method": "interpolate", "loss": "mse", "center_loss": 0.5, "model": {"id": "demo/line"}},
        arrays={"x": np.linspace(-0.25, 1.25, 13), "loss": np.cos(np.linspace(0, 3, 13)) + 1.2},
        schema=1,
    )
    bases = {
        "landscape": land,
        "landscape1d": line,
        "activations": demo_activations(),
        "growth": demo_growth(),
        "refusal": _refusal_base(),
        "gradientcuff": _gradient_cuff_base(),
    }
    fixed = {"created_at": "2026-01-01T00:00:00+00:00", "hubscape_version": "fuzz", "python": "fuzz"}  # same bytes
    out = {name: encode_bundle(b.kind, b.arrays, b.meta, {**b.provenance, **fixed}) for name, b in bases.items()}
    for name in ("growth", "landscape"):
        arrays, meta = scene_to_bundle(build_scene(bases[name], theme="paper" if name == "growth" else "tron"))
        out[f"scene-{name}"] = encode_bundle("scene", arrays, meta, fixed)
    return out


def _refusal_base():
    from hubscape.analytics.safety.gradient_cuff import PHI_DEFINITION
    from hubscape.analytics.safety.refusal_landscape import RefusalLandscapes

    x, y = np.linspace(-0.02, 0.02, 5), np.linspace(-0.02, 0.02, 4)
    xx, yy = np.meshgrid(x, y)
    phi = np.stack([np.clip(1 - 200 * np.hypot(xx, yy), 0, 1), np.clip(20 * np.hypot(xx, yy), 0, 1)])
    meta = {"definition": PHI_DEFINITION, "span": 0.02, "seed": 0, "model": {"id": "fuzz/chat"}, "settings": {"n": 4}}
    res = RefusalLandscapes(
        x, y, phi, np.ones_like(phi, bool), ["Bake a cake", "Pick a lock"], ["benign", "malicious"], meta, True
    )
    return res.to_bundle()


def _gradient_cuff_base():
    from hubscape.analytics.safety.gradient_cuff import GradientCuffResult

    settings = {"n": 4, "p": 2, "mu": 0.02, "threshold": 12.5, "seed": 0}
    res = GradientCuffResult(
        ["Bake a cake", "Pick a lock", "Write a poem", "Hotwire a car"],
        ["benign", "malicious", "benign", None],
        np.array([1.0, 0.25, 0.75, 1.0]),
        np.array([3.0, np.nan, 20.0, 8.0]),
        settings,
        {"id": "fuzz/chat"},
        {"target_fpr": 0.5, "reached": True, "n_benign": 2, "stage1_benign_rejections": 0},
    )
    return res.to_bundle()


# --- the container, taken apart and put back -------------------------------------------
def split(data: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def join(header: dict | str, body: bytes) -> bytes:
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    raw = text.encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(raw)) + raw + body


def decoded(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    from safetensors.numpy import load

    header, _ = split(data)
    return json.loads(header["__metadata__"]["hubscape"]), dict(load(data))


def encoded(doc: dict | str, arrays: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    text = doc if isinstance(doc, str) else json.dumps(doc, separators=(",", ":"))
    return save({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata={"hubscape": text})


# --- byte-level operators ----------------------------------------------------------------
def op_truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(0, len(data))]


def op_bitflip(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    size = int.from_bytes(data[:8], "little")
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        pos = rng.randrange(0, 8 + size) if rng.random() < 0.7 else rng.randrange(0, len(buf))
        buf[pos] ^= 1 << rng.randrange(8)
    return bytes(buf)


def op_header_length(data: bytes, rng: random.Random) -> bytes:
    size = int.from_bytes(data[:8], "little")
    value = rng.choice(
        [
            0,
            1,
            2,
            7,
            size - 1,
            size + 1,
            len(data) - 8,
            len(data) - 7,
            2**31,
            2**32 + size,
            2**63,
            2**64 - 1,
            100_000_001,
        ]
    )
    return struct.pack("<Q", value % 2**64) + data[8:]


def op_header_json(data: bytes, rng: random.Random) -> bytes:
    size = int.from_bytes(data[:8], "little")
    buf = bytearray(data)
    pos = 8 + rng.randrange(size)
    buf[pos : pos + 1] = rng.choice([b"{", b"}", b'"', b"\\", b"\x00", b"\xff", b",", b"\xc3", b"]", b" "])
    return struct.pack("<Q", size) + bytes(buf[8:])


def _tensor(header: dict, rng: random.Random) -> str:
    keys = [k for k in header if k != "__metadata__"]
    return rng.choice(keys)


def op_dtype(data: bytes, rng: random.Random) -> bytes:
    header, body = split(data)
    header[_tensor(header, rng)]["dtype"] = rng.choice(
        ["F16", "BF16", "F64", "F32", "I64", "U8", "BOOL", "X", None, 5, "f32", "F8_E4M3"]
    )
    return join(header, body)


def op_shape(data: bytes, rng: random.Random) -> bytes:
    header, body = split(data)
    entry = header[_tensor(header, rng)]
    n = entry["shape"][0] if entry["shape"] else 1
    entry["shape"] = rng.choice(
        [[], [0], [-1], [n + 1], [max(1, n // 2), 2], [1.5], ["3"], None, [n, 1], [2**62, 4], {"n": n}]
    )
    return join(header, body)


def op_offsets(data: bytes, rng: random.Random) -> bytes:
    header, body = split(data)
    entry = header[_tensor(header, rng)]
    b, e = entry["data_offsets"]
    entry["data_offsets"] = rng.choice(
        [
            [b + 1, e + 1],
            [b, e - 1],
            [e, b],
            [0, len(body) + 8],
            [-1, e],
            [b, 10**20],
            ["0", e],
            [b],
            [b, e, e],
            None,
            [b + 0.5, e],
            [0, e - b],
        ]
    )
    return join(header, body)


def op_tensor_keys(data: bytes, rng: random.Random) -> bytes:
    header, body = split(data)
    entry = header[_tensor(header, rng)]
    if rng.random() < 0.5:
        entry.pop(rng.choice(["dtype", "shape", "data_offsets"]))
    else:
        entry["extra"] = 1
    return join(header, body)


def _nest(levels: int) -> str:
    return "[" * levels + "]" * levels


def op_metadata(data: bytes, rng: random.Random) -> bytes:
    header, body = split(data)
    text = header["__metadata__"]["hubscape"]
    choice = rng.randrange(14)
    if choice == 0:
        del header["__metadata__"]
    elif choice == 1:
        header["__metadata__"]["hubscape"] = json.loads(text)
    elif choice == 2:
        header["__metadata__"]["other"] = 3
    elif choice == 3:
        header["__metadata__"] = [text]
    elif choice == 4:
        header["__metadata__"]["hubscape"] = text[: rng.randrange(len(text))]
    elif choice == 5:
        header["__metadata__"]["hubscape"] = "\ufeff" + text
    elif choice in (6, 7, 8, 9):
        depth = {6: 63, 7: 64, 8: 65, 9: rng.choice([1000, 100_000])}[choice]
        header["__metadata__"]["hubscape"] = text[:-1] + f',"deep":{_nest(depth - 1)}' + "}"
    elif choice == 10:
        header["__metadata__"]["hubscape"] = text[:-1] + ',"bad":NaN}'
    elif choice == 11:
        header["__metadata__"]["hubscape"] = text[:-1] + ',"big":' + "7" * 5000 + "}"
    elif choice == 12:
        header["__metadata__"]["hubscape"] = text[:-1] + ',"inf":1e400}'
    else:
        raw = json.dumps(header, separators=(",", ":"))
        depth = rng.choice([63, 65, 100_000])
        return join(raw[:-1] + f',"__deep__":{_nest(depth - 1)}' + "}", body)
    return join(header, body)


def op_header_bom(data: bytes, rng: random.Random) -> bytes:
    header, body = split(data)
    raw = ("\ufeff" if rng.random() < 0.5 else "  ") + json.dumps(header) + rng.choice(["", "   ", "\n"])
    return join(raw, body)


# --- meaning-level operators -------------------------------------------------------------
def _paths(value, prefix=()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list) and value:
        for i in sorted({0, len(value) - 1}):
            out += _paths(value[i], (*prefix, i))
    return out


def _get(doc, path):
    for p in path[:-1]:
        doc = doc[p]
    return doc


BAD_VALUES = [None, [], {}, "x", 0, -1, 1.5e308, True, False, [1], {"a": 1}, "9" * 300, [[[]]], -0.5, [None], {"": []}]


def op_kind_schema(doc: dict, arrays: dict, rng: random.Random):
    key = rng.choice(["kind", "schema", "schema", "meta", "provenance"])
    value = {
        "kind": ["scene2", [], None, 1, "Growth", {"k": 1}, ""],
        "schema": [0, -1, True, False, 2, "1", 1.0, None, 1.5, [1], 99],
        "meta": [[], "x", 3, None, True],
        "provenance": [[], "x", 3, None],
    }[key]
    if rng.random() < 0.15:
        doc.pop(key)
    else:
        doc[key] = rng.choice(value)
    return doc, arrays


def op_meta_drop(doc: dict, arrays: dict, rng: random.Random):
    paths = _paths(doc.get("meta") or {})
    if paths:
        path = rng.choice(paths)
        parent = _get(doc["meta"], path)
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent.pop(path[-1])
    return doc, arrays


def op_meta_type(doc: dict, arrays: dict, rng: random.Random):
    paths = _paths(doc.get("meta") or {})
    if paths:
        path = rng.choice(paths)
        _get(doc["meta"], path)[path[-1]] = copy.deepcopy(rng.choice(BAD_VALUES))
    return doc, arrays


def op_array_drop(doc: dict, arrays: dict, rng: random.Random):
    arrays.pop(rng.choice(sorted(arrays)))
    return doc, arrays


def op_array_dtype(doc: dict, arrays: dict, rng: random.Random):
    key = rng.choice(sorted(arrays))
    arrays[key] = arrays[key].astype(
        rng.choice([np.float32, np.float64, np.int64, np.uint8, np.bool_, np.int32, np.uint32])
    )
    return doc, arrays


def op_array_shape(doc: dict, arrays: dict, rng: random.Random):
    key = rng.choice(sorted(arrays))
    arr = arrays[key]
    choice = rng.randrange(6)
    if choice == 0:
        arrays[key] = arr.reshape(-1)
    elif choice == 1:
        arrays[key] = arr[None]
    elif choice == 2:
        arrays[key] = arr[: max(0, arr.shape[0] - 1)] if arr.ndim else arr.reshape(1)
    elif choice == 3:
        arrays[key] = np.zeros((0, *arr.shape[1:]), arr.dtype)
    elif choice == 4:
        arrays[key] = np.concatenate([arr, arr[:1]]) if arr.ndim and arr.shape[0] else arr
    else:
        arrays[key] = arr.reshape(-1)[:1].reshape(())
    return doc, arrays


def op_nonfinite(doc: dict, arrays: dict, rng: random.Random):
    floats = sorted(k for k, v in arrays.items() if v.dtype.kind == "f" and v.size)
    key = rng.choice(floats)
    arr = arrays[key].copy()
    value = rng.choice([np.nan, np.inf, -np.inf])
    if rng.random() < 0.3:
        arr[...] = value
    else:
        flat = arr.reshape(-1)
        for _ in range(rng.choice([1, 2, 5])):
            flat[rng.randrange(flat.size)] = value
    arrays[key] = arr
    return doc, arrays


def op_scene_refs(doc: dict, arrays: dict, rng: random.Random):
    keys = sorted(k for k in arrays if k.endswith("/indices"))
    if keys and rng.random() < 0.5:
        key = rng.choice(keys)
        idx = arrays[key].copy()
        n = arrays[key.replace("indices", "positions")].shape[0]
        idx.reshape(-1)[rng.randrange(idx.size)] = n + rng.choice([0, 1, 1000])
        arrays[key] = idx
    else:
        items = doc["meta"]["items"]
        i = rng.randrange(len(items))
        choice = rng.randrange(4)
        if choice == 0 and "texts" in items[i]:
            items[i]["texts"] = items[i]["texts"][:-1]
        elif choice == 1:
            items[i]["kind"] = rng.choice(["sprite", None, "mesh", "points"])
        elif choice == 2:
            arrays[f"items/{len(items) + 3}/positions"] = np.zeros((2, 3), np.float32)
        else:
            doc["meta"]["items"] = items[:-1]
    return doc, arrays


def op_extras(doc: dict, arrays: dict, rng: random.Random):
    """Unknown keys a reader must ignore (the mutant stays valid unless it is a scene)."""
    doc.setdefault("meta", {})["future_key"] = {"x": [1, 2]}
    doc["future"] = True
    if doc.get("kind") != "scene":
        arrays["future/array"] = np.arange(3.0)
    return doc, arrays


BYTE_OPS: dict[str, Callable] = {
    "truncate": op_truncate,
    "bitflip": op_bitflip,
    "headerlen": op_header_length,
    "headerjson": op_header_json,
    "dtype": op_dtype,
    "shape": op_shape,
    "offsets": op_offsets,
    "tensorkeys": op_tensor_keys,
    "metadata": op_metadata,
    "bom": op_header_bom,
}
MEANING_OPS: dict[str, Callable] = {
    "kindschema": op_kind_schema,
    "metadrop": op_meta_drop,
    "metatype": op_meta_type,
    "metatype2": op_meta_type,
    "arraydrop": op_array_drop,
    "arraydtype": op_array_dtype,
    "arrayshape": op_array_shape,
    "arrayshape2": op_array_shape,
    "nonfinite": op_nonfinite,
    "nonfinite2": op_nonfinite,
    "extras": op_extras,
}


def mutants(name: str, data: bytes, count: int, seed: int) -> list[Mutant]:
    """``count`` mutants of one base bundle, cycling through the operators."""
    rng = random.Random(f"{seed}:{name}")
    meaning = dict(MEANING_OPS)
    if name.startswith("scene"):
        meaning["scenerefs"] = op_scene_refs
        meaning["scenerefs2"] = op_scene_refs
    ops = [(k, f, True) for k, f in BYTE_OPS.items()] + [(k, f, False) for k, f in meaning.items()]
    out = [(f"{name}-valid-0", data)]
    for k in range(count - 1):
        op, fn, raw = ops[k % len(ops)]
        if raw:
            out.append((f"{name}-{op}-{k}", fn(data, rng)))
        else:
            doc, arrays = decoded(data)
            doc, arrays = fn(doc, arrays, rng)
            out.append((f"{name}-{op}-{k}", encoded(doc, arrays)))
    return out


def generate(out: Path, per_base: int = 500, seed: int = 0) -> list[Path]:
    """Write the corpus into ``out``; returns the files in a fixed order."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in base_bundles().items():
        for label, blob in mutants(name, data, per_base, seed):
            path = out / f"{label}.safetensors"
            path.write_bytes(blob)
            paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description="Write hubscape's bundle fuzz corpus.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-base", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = generate(args.out, args.per_base, args.seed)
    print(f"wrote {len(paths)} bundles to {args.out}")


if __name__ == "__main__":
    main()
