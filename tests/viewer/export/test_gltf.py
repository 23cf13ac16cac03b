"""glTF 2.0 (.glb) export: parsed back chunk by chunk, vertex counts and data compared with the scene."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from hubscape.core.bundle import write_bundle
from hubscape.core.errors import InputError
from hubscape.viewer.export.gltf import export_glb, scene_to_glb
from hubscape.viewer.scene import Camera, Labels, Scene
from hubscape.viewer.scene.builders import build_scene

COMPONENT = {5126: ("<f4", 4), 5125: ("<u4", 4)}
WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def parse_glb(data: bytes):
    """(json document, binary chunk) of a GLB file, checking the container layout on the way."""
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert magic == 0x46546C67 and version == 2 and length == len(data)
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    doc = json.loads(data[20 : 20 + json_len])
    rest = 20 + json_len
    blob = b""
    if rest < len(data):
        bin_len, bin_type = struct.unpack_from("<II", data, rest)
        assert bin_type == 0x004E4942 and bin_len % 4 == 0 and rest + 8 + bin_len == len(data)
        blob = data[rest + 8 : rest + 8 + bin_len]
    return doc, blob


def read_accessor(doc, blob, index) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    assert view["byteOffset"] % 4 == 0 and view["byteOffset"] + view["byteLength"] <= len(blob)
    dtype, size = COMPONENT[acc["componentType"]]
    comps = WIDTH[acc["type"]]
    assert view["byteLength"] == acc["count"] * comps * size
    arr = np.frombuffer(blob, dtype=dtype, count=acc["count"] * comps, offset=view["byteOffset"])
    arr = arr.reshape(acc["count"], comps) if comps > 1 else arr
    flat = arr.reshape(acc["count"], comps)
    np.testing.assert_allclose(acc["min"], flat.min(axis=0))
    np.testing.assert_allclose(acc["max"], flat.max(axis=0))
    return arr


def landscape(tmp_path, theme="tron"):
    x, y = np.linspace(-1, 1, 12), np.linspace(-1, 1, 9)
    loss = 1 + x[None, :] ** 2 + y[:, None] ** 2
    loss[4, 5] = np.nan
    path = write_bundle(
        tmp_path / "l.safetensors",
        "landscape",
        {"x": x, "y": y, "loss": loss},
        {"dims": 2, "method": "random", "loss": "mse", "center_loss": 1.0, "model": {"id": "org/m"}},
    )
    return build_scene(path, theme=theme)


def test_glb_parses_back_with_the_scene_geometry(tmp_path):
    scene = landscape(tmp_path)
    out = export_glb(scene, tmp_path / "scene.glb")
    data = out.read_bytes()
    doc, blob = parse_glb(data)
    assert doc["asset"]["version"] == "2.0" and doc["buffers"][0]["byteLength"] == len(blob)
    nodes = {n["name"]: n for n in doc["nodes"]}
    surface = scene.find("surface")
    prim = doc["meshes"][nodes["surface"]["mesh"]]["primitives"][0]
    assert prim["mode"] == 4
    pos = read_accessor(doc, blob, prim["attributes"]["POSITION"])
    np.testing.assert_array_equal(pos, surface.positions)
    assert pos.shape == (12 * 9, 3)
    idx = read_accessor(doc, blob, prim["indices"]).reshape(-1, 3)
    np.testing.assert_array_equal(idx, surface.indices)
    normals = read_accessor(doc, blob, prim["attributes"]["NORMAL"])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)
    colors = read_accessor(doc, blob, prim["attributes"]["COLOR_0"])
    np.testing.assert_array_equal(colors, surface.colors)
    # contours are LINES, markers POINTS, both unlit; labels are named empty nodes
    contours = doc["meshes"][nodes["contours"]["mesh"]]["primitives"][0]
    assert contours["mode"] == 1
    assert read_accessor(doc, blob, contours["attributes"]["POSITION"]).shape == scene.find("contours").positions.shape
    assert doc["meshes"][nodes["minimum"]["mesh"]]["primitives"][0]["mode"] == 0
    assert "KHR_materials_unlit" in doc["extensionsUsed"]
    label_names = {doc["nodes"][c]["name"] for c in nodes["minimum label"]["children"]}
    assert label_names == set(scene.find("minimum label").texts)
    assert nodes["minimum"]["extras"]["pick"][0]["what"] == "minimum"
    # every node of the scene list exists, the camera is placed at the eye
    cam_node = nodes["scene camera"]
    np.testing.assert_allclose(cam_node["translation"], scene.camera.eye, rtol=1e-6)
    q = np.array(cam_node["rotation"])
    assert np.linalg.norm(q) == pytest.approx(1.0)
    assert all(0 <= n < len(doc["nodes"]) for n in doc["scenes"][0]["nodes"])


def test_glb_camera_rotation_looks_at_the_target():
    cam = Camera(target=[1, 2, 3], azimuth=40, elevation=30, distance=10, fov=45)
    doc, _ = parse_glb(
        scene_to_glb(Scene(world="landscape", camera=cam, items=[Labels(positions=[[0, 0, 0]], texts=["o"])]))
    )
    node = next(n for n in doc["nodes"] if n.get("camera") == 0)
    x, y, z, w = node["rotation"]
    # rotate the camera's forward axis (-z) by the quaternion
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    forward = rot @ [0, 0, -1]
    expect = (cam.target - cam.eye) / np.linalg.norm(cam.target - cam.eye)
    np.testing.assert_allclose(forward, expect, atol=1e-6)
    assert (rot @ [0, 1, 0])[1] > 0  # up stays up
    assert "buffers" not in doc  # nothing but a label: no empty buffer


@pytest.mark.parametrize("world", ["landscape", "activations"])
def test_glb_ribbons_and_tiles_counts_and_determinism(tmp_path, world):
    if world == "landscape":
        scene = landscape(tmp_path)
    else:
        arrays = {f"layers/0/{c}/linf": np.arange(1.0, 6.0) + k for k, c in enumerate(("clean", "triggered"))}
        arrays["pruning/linf/pruned"] = np.arange(4.0)
        arrays["pruning/linf/clean_accuracy"] = np.array([0.9, 0.89, 0.88, 0.8])
        arrays["pruning/linf/attack_success_rate"] = np.array([1.0, 0.5, 0.2, 0.1])
        path = write_bundle(
            tmp_path / "a.safetensors",
            "activations",
            arrays,
            {"conditions": ["clean", "triggered"], "layers": [{"name": "c1", "shape": [5, 2, 2]}]},
        )
        scene = build_scene(path, theme="paper")
    first = scene_to_glb(scene)
    assert first == scene_to_glb(scene)
    doc, blob = parse_glb(first)
    by_name = {n["name"]: n for n in doc["nodes"]}
    for item in scene.items:
        if item.kind in ("mesh", "ribbon", "lines", "points"):
            prim = doc["meshes"][by_name[item.name]["mesh"]]["primitives"][0]
            assert doc["accessors"][prim["attributes"]["POSITION"]]["count"] == item.positions.shape[0]
            if item.kind == "ribbon":
                mat = doc["materials"][prim["material"]]
                assert mat.get("emissiveFactor", [0.0, 0.0, 0.0]) == pytest.approx(
                    [float(c) * min(1, item.glow) for c in item.color[:3]]
                )
    if world == "activations":
        tiles = doc["meshes"][by_name["layer/0/clean"]["mesh"]]["primitives"][0]
        assert doc["accessors"][tiles["attributes"]["POSITION"]]["count"] == 5 * 20
        assert doc["accessors"][tiles["indices"]]["count"] == 5 * 10 * 3


def test_glb_export_rejects_other_suffixes_and_is_atomic(tmp_path):
    scene = landscape(tmp_path)
    with pytest.raises(InputError, match=".glb"):
        export_glb(scene, tmp_path / "scene.gltf")
    assert not (tmp_path / "scene.gltf").exists()
    target = tmp_path / "deep" / "scene.glb"
    export_glb(scene, target)
    assert target.exists() and [p.name for p in target.parent.iterdir()] == ["scene.glb"]
