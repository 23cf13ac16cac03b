"""The safetensors container of a bundle, checked byte by byte before any array is made.

The same rules, in the same order, are in ``static/js/bundle.js`` (``parseBundle``), so the
browser and Python accept and reject the same files (tested on one fuzz corpus,
``tests/fuzz``). The rules are the safetensors format's, made explicit:

* 8-byte little-endian header length N, 2 <= N <= :data:`MAX_HEADER` and 8 + N <= file size;
* the header is UTF-8 JSON (no byte-order mark, no NaN/Infinity literals, at most
  :data:`MAX_DEPTH` levels of nesting), an object whose ``__metadata__`` is an object of
  strings holding ``hubscape``: the bundle's JSON document (same rules);
* every other entry is a tensor ``{"dtype", "shape", "data_offsets"}`` with a dtype of
  :data:`DTYPES`, a shape of whole numbers >= 0, and offsets that tile the data section
  exactly (in order, no gap, no overlap, nothing left over) with ``end - begin`` equal to the
  element count times the item size.

Numbers follow JSON as JavaScript reads it: integers of more than 15 digits become floats.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: safetensors dtypes both readers support, with their item sizes.
DTYPES: dict[str, int] = {
    "F64": 8,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "I32": 4,
    "U32": 4,
    "I16": 2,
    "U16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
#: Largest header accepted (safetensors' own limit).
MAX_HEADER = 100_000_000
#: Deepest JSON nesting accepted in the header and the bundle document.
MAX_DEPTH = 64
TENSOR_KEYS = frozenset({"dtype", "shape", "data_offsets"})


class ContainerError(ValueError):
    """Why bytes are not a hubscape bundle container (one line, without the file's name)."""


def _bad_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _int_like_js(text: str) -> int | float:
    return int(text) if len(text.lstrip("-")) <= 15 else float(text)


def parse_json_text(text: str, what: str) -> Any:
    """JSON as both readers parse it; ContainerError if it is not JSON or nests too deeply."""
    if text.startswith("\ufeff"):
        raise ContainerError(f"{what} is not JSON (byte-order mark)")
    try:
        value = json.loads(text, parse_constant=_bad_constant, parse_int=_int_like_js)
    except RecursionError:
        raise ContainerError(f"{what} nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise ContainerError(f"{what} is not JSON") from None
    if depth(value) > MAX_DEPTH:
        raise ContainerError(f"{what} nests deeper than {MAX_DEPTH} levels")
    return value


def depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0, ``[]`` is 1), iteratively."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        elif not isinstance(node, list):
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level) for child in node if isinstance(child, (dict, list)))
    return deepest


def _whole(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value == int(value)
        and value >= 0
    )


def parse_container(data: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, list[int], int, int]]]:
    """(the bundle's JSON document, {key: (dtype, shape, begin, end)}) of ``data``."""
    if len(data) < 8:
        raise ContainerError("file too short")
    size = int.from_bytes(data[:8], "little")
    if size < 2 or size > MAX_HEADER or 8 + size > len(data):
        raise ContainerError("bad safetensors header length")
    try:
        text = data[8 : 8 + size].decode("utf-8")
    except UnicodeDecodeError:
        raise ContainerError("header is not UTF-8") from None
    header = parse_json_text(text, "header")
    if not isinstance(header, dict):
        raise ContainerError("header is not a JSON object")
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or not isinstance(meta.get("hubscape"), str):
        raise ContainerError("safetensors file without hubscape metadata")
    if not all(isinstance(v, str) for v in meta.values()):
        raise ContainerError("__metadata__ values must be strings")
    doc = parse_json_text(meta["hubscape"], "hubscape metadata")
    if not isinstance(doc, dict):
        raise ContainerError("hubscape metadata is not a JSON object")
    tensors: dict[str, tuple[str, list[int], int, int]] = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != TENSOR_KEYS:
            raise ContainerError(f"array {key!r} is not described by dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise ContainerError(f"array {key!r} has unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(_whole(s) for s in shape):
            raise ContainerError(f"array {key!r} has a bad shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_whole(o) for o in offsets)):
            raise ContainerError(f"array {key!r} has bad data_offsets")
        shape = [int(s) for s in shape]
        begin, end = int(offsets[0]), int(offsets[1])
        count = math.prod(shape)
        if end < begin or end - begin != count * DTYPES[dtype]:
            raise ContainerError(f"array {key!r}: {end - begin} bytes do not hold shape {shape} of {dtype}")
        tensors[key] = (dtype, shape, begin, end)
    position = 0
    for key, (_, _, begin, end) in sorted(tensors.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != position:
            raise ContainerError(f"array {key!r} lies outside the data or overlaps another")
        position = end
    if 8 + size + position != len(data):
        raise ContainerError("the data section does not match the arrays")
    return doc, tensors
