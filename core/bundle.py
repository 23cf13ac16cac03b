"""Bundles: the files every hubscape result is saved as, and the contract with the viewer.

A bundle is a safetensors file. Every array is a tensor under a "/"-separated key (the key
layout of each kind is documented in docs/bundles.md); the safetensors ``__metadata__`` holds
one entry, ``hubscape``, a JSON document::

    {"kind": "growth", "schema": 1, "provenance": {...}, "meta": {...}}

Python reads it with ``safetensors``; the browser parses the same bytes directly (8-byte
little-endian header length, JSON header, raw little-endian buffers). Writes are atomic.

Example::

    >>> write_bundle("fit.safetensors", "growth", {"models/0/t": t}, {"unit": "month"})
    >>> b = read_bundle("fit.safetensors", kind="growth")
    >>> b.meta["unit"], b.arrays["models/0/t"].shape
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_bytes
from .container import MAX_HEADER, ContainerError, parse_container, parse_json_text
from .errors import BundleError
from .layouts import validate

#: Current schema version of each bundle kind; bump when a kind's key layout changes.
SCHEMAS: dict[str, int] = {
    "growth": 2,
    "landscape": 1,
    "activations": 1,
    "scene": 1,
    "refusal": 1,
    "gradient_cuff": 1,
}
METADATA_KEY = "hubscape"


@dataclass
class Bundle:
    """A bundle in memory: its kind, the kind's JSON document, arrays and provenance."""

    kind: str
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    schema: int = 0

    def array(self, key: str) -> np.ndarray:
        """The array under ``key``, or a BundleError naming the missing key."""
        try:
            return self.arrays[key]
        except KeyError:
            raise BundleError(
                f"{self.kind} bundle has no array {key!r}; it may be from another hubscape version"
            ) from None


def hubscape_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hubscape")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def default_provenance() -> dict[str, Any]:
    """Who made a bundle and when: filled into every bundle's provenance."""
    return {
        "hubscape_version": hubscape_version(),
        "created_at": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "python": platform.python_version(),
    }


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, paths and datetimes to strict JSON; NaN/inf become None."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def encode_bundle(
    kind: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], provenance: Mapping[str, Any] | None = None
) -> bytes:
    """The bytes of a bundle (see write_bundle); used by the server to answer without a file."""
    from safetensors.numpy import save

    if kind not in SCHEMAS:
        raise BundleError(f"unknown bundle kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    tensors = {}
    for key, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise BundleError(f"array {key!r} has dtype {arr.dtype}; put text in the JSON meta instead")
        tensors[key] = np.ascontiguousarray(arr)
    doc = {
        "kind": kind,
        "schema": SCHEMAS[kind],
        "provenance": to_jsonable({**default_provenance(), **(provenance or {})}),
        "meta": to_jsonable(dict(meta)),
    }
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    return save(tensors, metadata={METADATA_KEY: text})


def write_bundle(
    path: str | Path,
    kind: str,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a bundle atomically: the file appears complete or not at all."""
    return write_bytes(path, encode_bundle(kind, arrays, meta, provenance))


def parse_bundle(data: bytes, kind: str | None = None, name: str = "bundle") -> Bundle:
    """The container and document of bundle bytes, checked (:mod:`.container`), without the
    kind's layout; ``kind`` (if given) must match. Errors are one-line BundleErrors."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        doc, _ = parse_container(data)
    except ContainerError as exc:
        raise BundleError(f"{name} is not a hubscape bundle ({exc})") from None
    found = doc.get("kind")
    if not isinstance(found, str) or found not in SCHEMAS:
        raise BundleError(f"{name}: unknown bundle kind {_short(found)}; expected one of {', '.join(SCHEMAS)}")
    schema = doc.get("schema")
    if isinstance(schema, bool) or not isinstance(schema, (int, float)) or not (1 <= schema < 2**31) or schema % 1:
        raise BundleError(f"{name}: {found} schema {_short(schema)} is not a schema version (1, 2, ...)")
    if schema > SCHEMAS[found]:
        raise BundleError(
            f"{name}: {found} schema {schema:g} is newer than this hubscape reads ({SCHEMAS[found]}); upgrade hubscape"
        )
    for part in ("meta", "provenance"):
        if doc.get(part) is not None and not isinstance(doc[part], dict):
            raise BundleError(f"{name}: the bundle's {part} is not a JSON object")
    if kind is not None and found != kind:
        raise BundleError(f"{name} is a {found} bundle, but a {kind} bundle is needed here")
    try:
        arrays = load(data)
    except (SafetensorError, ValueError) as exc:
        raise BundleError(f"{name} is corrupt: {exc}") from None
    return Bundle(
        kind=found,
        meta=doc.get("meta") or {},
        arrays=dict(arrays),
        provenance=doc.get("provenance") or {},
        schema=int(schema),
    )


def decode_bundle(data: bytes, kind: str | None = None, name: str = "bundle") -> Bundle:
    """Parse and check bundle bytes: container, document and the kind's layout (docs/bundles.md,
    :mod:`.layouts`); ``kind`` (if given) must match. Errors are one-line BundleErrors."""
    bundle = parse_bundle(data, kind=kind, name=name)
    validate(bundle, name)
    return bundle


def read_bundle(path: str | Path, kind: str | None = None) -> Bundle:
    """Read a bundle file; ``kind`` (if given) must match. Errors are one-line BundleErrors."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"no such bundle: {path}") from None
    except IsADirectoryError:
        raise BundleError(f"{path} is a folder, not a bundle file") from None
    return decode_bundle(data, kind=kind, name=str(path))


def bundle_kind(path: str | Path) -> str | None:
    """The kind the header of the bundle at ``path`` claims, or None if it is no hubscape bundle
    (a quick look for listings; :func:`read_bundle` checks the rest)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                return None
            size = int.from_bytes(head, "little")
            if size < 2 or size > MAX_HEADER:
                return None
            header = parse_json_text(fh.read(size).decode("utf-8"), "header")
            text = (header.get("__metadata__") or {}).get(METADATA_KEY) if isinstance(header, dict) else None
            doc = parse_json_text(text, "hubscape metadata") if isinstance(text, str) else None
    except (OSError, UnicodeDecodeError, ContainerError, AttributeError):
        return None
    kind = doc.get("kind") if isinstance(doc, dict) else None
    return kind if isinstance(kind, str) and kind in SCHEMAS else None


def foreign_safetensors(path: str | Path) -> bool:
    """True for a readable safetensors file that is not a hubscape bundle (model weights, say):
    its header is JSON without hubscape metadata."""
    try:
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if size < 2 or size > MAX_HEADER:
                return False
            header = parse_json_text(fh.read(size).decode("utf-8"), "header")
    except (OSError, UnicodeDecodeError, ContainerError):
        return False
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(header, dict) and not (isinstance(meta, dict) and "hubscape" in meta)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
