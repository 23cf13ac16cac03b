"""Benchmark: building scene geometry in numpy vs the obvious alternatives, in one run.

- the whole landscape scene of a 512x512 loss grid (surface, normals, colormap, 10 contour
  levels, markers, axes), and its serialized size;
- contour lines: hubscape's vectorized marching squares (pure numpy, runs in Pyodide) vs
  contourpy (C++, what matplotlib uses; not importable without its wheel in the browser);
- vertex normals: np.bincount accumulation vs the obvious np.add.at;
- glTF export (.glb bytes) of the same scene.

    python3 bench/bench_scene_build.py           # 512x512
    python3 bench/bench_scene_build.py --n 256
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def landscape_bundle(n: int):
    from hubscape.core.bundle import Bundle

    x = np.linspace(-1.0, 1.0, n)
    X, Y = np.meshgrid(x, x)
    loss = 0.4 + 1.5 * (X - 0.2) ** 2 + Y**2 + 0.1 * np.sin(9 * X) * np.cos(7 * Y)
    loss[n // 3 : n // 3 + n // 20, n // 2 : n // 2 + n // 20] = np.nan  # a gap, as real grids have
    meta = {
        "dims": 2,
        "method": "random",
        "loss": "cross_entropy",
        "center_loss": float(loss[n // 2, n // 2]),
        "model": {"id": "bench/surface"},
    }
    return Bundle(kind="landscape", meta=meta, arrays={"x": x, "y": x, "loss": loss}, schema=1)


def normals_add_at(positions, indices):
    face = np.cross(
        positions[indices[:, 1]] - positions[indices[:, 0]], positions[indices[:, 2]] - positions[indices[:, 0]]
    )
    normals = np.zeros_like(positions)
    for corner in range(3):
        np.add.at(normals, indices[:, corner], face)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True).clip(1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="grid side (default 512)")
    args = parser.parse_args()
    n = args.n

    from hubscape.viewer.export.gltf import scene_to_glb
    from hubscape.viewer.scene.builders import build_scene
    from hubscape.viewer.scene.contours import contour_segments
    from hubscape.viewer.scene.geometry import vertex_normals
    from hubscape.viewer.scene.serialize import scene_to_bundle

    bundle = landscape_bundle(n)
    scene = build_scene(bundle, theme="paper")
    t_scene = best_of(lambda: build_scene(bundle, theme="paper"))
    surface = scene.find("surface")
    arrays, _ = scene_to_bundle(scene)
    size_mb = sum(a.nbytes for a in arrays.values()) / 1e6
    print(
        f"landscape scene {n}x{n}: {t_scene * 1e3:.0f} ms  ({surface.indices.shape[0]:,} triangles, "
        f"{size_mb:.1f} MB of buffers)"
    )

    x = bundle.arrays["x"]
    z = bundle.arrays["loss"]
    levels = np.linspace(np.nanmin(z), np.nanmax(z), 12)[1:-1]
    t_ms = best_of(lambda: [contour_segments(x, x, z, lv) for lv in levels])
    try:
        import contourpy

        gen = contourpy.contour_generator(x, x, z, line_type="SeparateCode", corner_mask=False)
        t_cp = best_of(lambda: [gen.lines(lv) for lv in levels])
        print(
            f"contours, 10 levels: numpy marching squares {t_ms * 1e3:.0f} ms, contourpy {t_cp * 1e3:.0f} ms, "
            f"ratio contourpy/numpy = {t_cp / t_ms:.2f}"
        )
    except ImportError:
        print(f"contours, 10 levels: numpy marching squares {t_ms * 1e3:.0f} ms (contourpy not installed)")

    pos = surface.positions.astype(np.float64)
    idx = surface.indices.astype(np.intp)
    t_bc = best_of(lambda: vertex_normals(pos, idx))
    t_at = best_of(lambda: normals_add_at(pos, idx))
    agree = np.abs(vertex_normals(pos, idx)[np.unique(idx)] - normals_add_at(pos, idx)[np.unique(idx)]).max()
    print(
        f"vertex normals: bincount {t_bc * 1e3:.0f} ms, np.add.at {t_at * 1e3:.0f} ms, "
        f"speed-up = {t_at / t_bc:.1f}x (max difference {agree:.1e})"
    )

    t_glb = best_of(lambda: scene_to_glb(scene))
    print(f"glb export: {t_glb * 1e3:.0f} ms, {len(scene_to_glb(scene)) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
