"""glTF 2.0 binary (.glb) export of a Scene, for Blender and three.js.

Written by hand with numpy and struct (the format is small): one node per item, named after
it, with its tooltip records in ``extras.pick``; meshes and ribbons as lit triangles
(ribbons emissive in their colour, so the trails glow), lines, contours and axes as LINES and
points as POINTS with KHR_materials_unlit; labels become empty nodes named by their text (glTF
has no text); the scene camera becomes a glTF perspective camera. Every accessor has min/max,
every buffer view starts on a 4-byte boundary, and the same scene always gives the same bytes.

Example::

    >>> export_glb(scene, "landscape.glb")
    >>> len(scene_to_glb(scene)) % 4
    0
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

from hubscape.core.atomic import write_bytes
from hubscape.core.bundle import hubscape_version, to_jsonable
from hubscape.core.errors import InputError
from hubscape.viewer.scene.model import Scene
from hubscape.viewer.scene.projection import clip_planes, view_matrix
from hubscape.viewer.scene.themes import get_theme

GLB_MAGIC, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 0x4E4F534A, 0x004E4942
FLOAT, UNSIGNED_INT = 5126, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
POINTS, LINES, TRIANGLES = 0, 1, 4
_TYPES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}
UNLIT = "KHR_materials_unlit"


class _Builder:
    """Accumulates buffer views, accessors, materials, meshes and nodes of one glTF document."""

    def __init__(self):
        self.blob = bytearray()
        self.doc = {
            "asset": {"version": "2.0", "generator": f"hubscape {hubscape_version()}"},
            "buffers": [],
            "bufferViews": [],
            "accessors": [],
            "materials": [],
            "meshes": [],
            "nodes": [],
        }
        self.unlit_used = False

    def accessor(self, data: np.ndarray, target: int, with_bounds: bool = True) -> int:
        arr = np.ascontiguousarray(data)
        comps = 1 if arr.ndim == 1 else arr.shape[1]
        offset = len(self.blob)
        self.blob += arr.tobytes()
        self.blob += b"\x00" * (-len(self.blob) % 4)
        self.doc["bufferViews"].append({"buffer": 0, "byteOffset": offset, "byteLength": arr.nbytes, "target": target})
        acc = {
            "bufferView": len(self.doc["bufferViews"]) - 1,
            "componentType": FLOAT if arr.dtype == np.float32 else UNSIGNED_INT,
            "count": int(arr.shape[0]),
            "type": _TYPES[comps],
        }
        if with_bounds:
            flat = arr.reshape(arr.shape[0], comps)
            cast = float if arr.dtype == np.float32 else int
            acc["min"] = [cast(v) for v in flat.min(axis=0)]
            acc["max"] = [cast(v) for v in flat.max(axis=0)]
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1

    def material(
        self, name: str, color, opacity: float = 1.0, emissive=(0.0, 0.0, 0.0), unlit: bool = False, blend: bool = False
    ) -> int:
        base = [float(c) for c in color[:3]] + [float(min(1.0, max(0.0, opacity)))]
        mat = {
            "name": name,
            "pbrMetallicRoughness": {"baseColorFactor": base, "metallicFactor": 0.0, "roughnessFactor": 0.8},
            "doubleSided": True,
            "alphaMode": "BLEND" if blend or base[3] < 1.0 else "OPAQUE",
        }
        if any(emissive):
            mat["emissiveFactor"] = [float(min(1.0, max(0.0, e))) for e in emissive]
        if unlit:
            mat["extensions"] = {UNLIT: {}}
            self.unlit_used = True
        self.doc["materials"].append(mat)
        return len(self.doc["materials"]) - 1

    def mesh(
        self, name: str, mode: int, attributes: dict[str, np.ndarray], material: int, indices: np.ndarray | None = None
    ) -> int:
        prim = {
            "attributes": {key: self.accessor(arr, ARRAY_BUFFER, with_bounds=True) for key, arr in attributes.items()},
            "mode": mode,
            "material": material,
        }
        if indices is not None:
            prim["indices"] = self.accessor(indices.reshape(-1).astype(np.uint32), ELEMENT_ARRAY_BUFFER)
        self.doc["meshes"].append({"name": name, "primitives": [prim]})
        return len(self.doc["meshes"]) - 1

    def node(self, **fields) -> int:
        self.doc["nodes"].append({k: v for k, v in fields.items() if v is not None})
        return len(self.doc["nodes"]) - 1


def _finite(item) -> None:
    for key, arr in item.arrays().items():
        if key not in ("values", "data") and not np.isfinite(arr).all():
            raise InputError(f"scene item {item.name!r} has non-finite {key}; glTF cannot store them")


def _quaternion(rot: np.ndarray) -> list[float]:
    """Unit quaternion (x, y, z, w) of a 3x3 rotation matrix, glTF's order (scipy's too)."""
    from scipy.spatial.transform import Rotation

    return [float(v) for v in Rotation.from_matrix(rot).as_quat()]


def _add_item(b: _Builder, item, theme) -> int | None:
    """Add one scene item; returns its node index (None for items with nothing to draw)."""
    extras = {"kind": item.kind, "pick": to_jsonable(item.pick)} if item.pick else {"kind": item.kind}
    if item.kind == "labels":
        children = [
            b.node(name=text, translation=[float(v) for v in pos], extras={"label": text})
            for text, pos in zip(item.texts, item.positions)
        ]
        return b.node(name=item.name or "labels", children=children or None, extras=extras)
    _finite(item)
    if item.kind == "mesh":
        if item.indices.size == 0:
            return None
        used = np.zeros(item.positions.shape[0], dtype=bool)
        used[item.indices.reshape(-1)] = True  # gap vertices (alpha 0) are in no triangle
        blend = item.opacity < 1.0 or bool((item.colors[used, 3] < 1.0).any())
        mat = b.material(item.name, [1, 1, 1], item.opacity, emissive=[item.emissive * 0.25] * 3, blend=blend)
        mesh = b.mesh(
            item.name,
            TRIANGLES,
            {"POSITION": item.positions, "NORMAL": item.normals, "COLOR_0": item.colors},
            mat,
            item.indices,
        )
    elif item.kind == "ribbon":
        glow = min(1.0, item.glow)
        mat = b.material(item.name, item.color, float(item.color[3]), emissive=item.color[:3] * glow)
        mesh = b.mesh(
            item.name,
            TRIANGLES,
            {"POSITION": item.positions, "NORMAL": item.normals, "TEXCOORD_0": item.uv},
            mat,
            item.indices,
        )
    elif item.kind in ("lines", "points"):
        if item.positions.shape[0] == 0:
            return None
        mat = b.material(item.name, [1, 1, 1], 1.0, unlit=True, blend=bool((item.colors[:, 3] < 1.0).any()))
        mesh = b.mesh(
            item.name,
            LINES if item.kind == "lines" else POINTS,
            {"POSITION": item.positions, "COLOR_0": item.colors},
            mat,
        )
    elif item.kind == "axes":
        segments = np.repeat(item.origin[None], 6, axis=0)
        segments[1::2] = item.ends
        mat = b.material(item.name, theme.axis_color, 1.0, unlit=True)
        mesh = b.mesh(item.name, LINES, {"POSITION": segments.astype(np.float32)}, mat)
        extras["titles"], extras["ticks"] = item.titles, item.ticks
    else:
        raise InputError(f"glTF export does not know scene items of kind {item.kind!r}")
    return b.node(name=item.name or item.kind, mesh=mesh, extras=extras)


def scene_to_glb(scene: Scene) -> bytes:
    """The .glb bytes of ``scene`` (deterministic: the same scene gives the same bytes)."""
    theme = get_theme(scene.theme)
    b = _Builder()
    roots = [n for n in (_add_item(b, item, theme) for item in scene.items) if n is not None]
    cam = scene.camera
    near, far = clip_planes(cam)
    b.doc["cameras"] = [
        {
            "type": "perspective",
            "name": "scene camera",
            "perspective": {"yfov": math.radians(cam.fov), "znear": near, "zfar": far},
        }
    ]
    rotation = view_matrix(cam)[:3, :3].T  # camera-to-world; glTF cameras look down -z like ours
    roots.append(
        b.node(name="scene camera", camera=0, translation=[float(v) for v in cam.eye], rotation=_quaternion(rotation))
    )
    b.doc["scenes"] = [
        {
            "name": scene.title or scene.world,
            "nodes": roots,
            "extras": {"world": scene.world, "theme": scene.theme, "background": [float(c) for c in theme.background]},
        }
    ]
    b.doc["scene"] = 0
    b.doc["buffers"] = [{"byteLength": len(b.blob)}] if b.blob else []
    if b.unlit_used:
        b.doc["extensionsUsed"] = [UNLIT]
    for key in ("buffers", "materials", "meshes", "bufferViews", "accessors"):
        if not b.doc[key]:
            del b.doc[key]
    text = json.dumps(b.doc, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    blob = bytes(b.blob)
    total = 12 + 8 + len(text) + (8 + len(blob) if blob else 0)
    out = struct.pack("<III", GLB_MAGIC, 2, total) + struct.pack("<II", len(text), JSON_CHUNK) + text
    if blob:
        out += struct.pack("<II", len(blob), BIN_CHUNK) + blob
    return out


def export_glb(scene: Scene, path: str | Path) -> Path:
    """Write ``scene`` as a .glb file, atomically; returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise InputError(f"glTF export writes binary .glb files; got {path.name!r}")
    return write_bytes(path, scene_to_glb(scene))
