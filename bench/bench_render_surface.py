"""Benchmark: a 3000x2000 PNG of a 512x512 surface, hubscape (pygfx offscreen) vs matplotlib plot_surface.

Both start from the same 512x512 height field and write a PNG of the same pixel size in the
same run (alternating, best of ``--repeat``); the ratio is matplotlib's time over hubscape's,
and hubscape's time is broken down into scene build, render + read-back and PNG encoding.
Also: time per frame of a ~1M-triangle surface rendered offscreen (after the first frame,
which compiles shaders).

    python3 bench/bench_render_surface.py            # full run (matplotlib takes a while)
    python3 bench/bench_render_surface.py --quick    # smaller sizes, for a smoke test
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np


def height_field(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.linspace(-1.0, 1.0, n)
    X, Y = np.meshgrid(x, x)
    Z = 0.4 + 1.5 * (X - 0.2) ** 2 + Y**2 + 0.1 * np.sin(9 * X) * np.cos(7 * Y)
    return X, Y, Z


def hubscape_surface_scene(n: int, theme: str = "paper"):
    from hubscape.viewer.scene.colormaps import apply_colormap
    from hubscape.viewer.scene.geometry import height_field as mesh_of
    from hubscape.viewer.scene.model import Camera, GridFloor, Scene

    X, Y, Z = height_field(n)
    xw = np.linspace(-5.0, 5.0, n)
    heights = 4.0 * (Z - Z.min()) / (Z.max() - Z.min())
    colors = apply_colormap(Z.ravel(), "viridis", float(Z.min()), float(Z.max()))
    mesh = mesh_of(xw, xw, heights, colors, values=Z.ravel(), name="surface")
    return Scene(
        world="landscape",
        items=[mesh],
        theme=theme,
        grid=GridFloor(size=20, spacing=1),
        camera=Camera(target=[0, 1.5, 0], azimuth=35, elevation=30, distance=16, fov=40),
    )


class Timer:
    """Wall-clock and CPU time (all threads of this process: lavapipe rasterizes on threads).

    On a shared machine the wall time swings with other processes' load; the CPU time is the
    work each side actually did.
    """

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


class Stages:
    """Wall and CPU time per stage of one hubscape export (they add up to its total)."""

    NAMES = ("scene build", "render + read-back", "PNG encoding")

    def __init__(self):
        self.timers: dict[str, Timer] = {}

    def __call__(self, name: str) -> Timer:
        return self.timers.setdefault(name, Timer())


def time_hubscape_png(n: int, size: tuple[int, int]) -> tuple[Timer, int, Stages]:
    """What ``render_png_bytes`` does (render_array, then encode_png), one stage at a time."""
    from hubscape.viewer.render.offscreen import encode_png, render_array

    stages = Stages()
    with Timer() as t:
        with stages("scene build"):
            scene = hubscape_surface_scene(n)
        with stages("render + read-back"):
            image = render_array(scene, *size)
        with stages("PNG encoding"):
            data = encode_png(image, dpi=300)
    return t, len(data), stages


def time_matplotlib_png(n: int, size: tuple[int, int]) -> tuple[Timer, int]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = Timer().__enter__()
    X, Y, Z = height_field(n)
    dpi = 100
    fig = plt.figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(X, Y, Z, cmap="viridis", rstride=1, cstride=1, linewidth=0, antialiased=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    t.__exit__()
    return t, len(buf.getvalue())


def time_per_frame(n: int, size: tuple[int, int], frames: int) -> tuple[float, int]:
    from hubscape.viewer.render.offscreen import OffscreenRenderer

    scene = hubscape_surface_scene(n, theme="tron")
    triangles = sum(item.indices.shape[0] for item in scene.items if item.kind == "mesh")
    renderer = OffscreenRenderer(scene, *size)
    renderer.render()  # first frame: shader compilation and uploads
    t0 = time.perf_counter()
    for _ in range(frames):
        renderer.render()
    return (time.perf_counter() - t0) / frames, triangles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke test")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, alternating (best is kept)")
    args = parser.parse_args()
    n, size = (128, (600, 400)) if args.quick else (512, (3000, 2000))
    big_n, frame_size, frames = (200, (400, 300), 3) if args.quick else (708, (1280, 800), 5)
    repeat = max(1, args.repeat)

    # Warm up pygfx (device, shader compilation) so the comparison measures the export itself.
    time_hubscape_png(16, (64, 64))
    hub_runs, mpl_runs = [], []
    for _ in range(repeat):  # alternate, so both sides see the same background load
        hub_runs.append(time_hubscape_png(n, size))
        mpl_runs.append(time_matplotlib_png(n, size))
    hub_s, hub_bytes, stages = min(hub_runs, key=lambda run: run[0].wall)
    mpl_s, mpl_bytes = min(mpl_runs, key=lambda run: run[0].wall)
    print(f"{n}x{n} surface -> {size[0]}x{size[1]} PNG, best of {repeat}      wall       cpu")
    print(f"  hubscape (pygfx offscreen): {hub_s.wall:8.3f} s {hub_s.cpu:8.3f} s  ({hub_bytes / 1e6:.2f} MB)")
    for name in Stages.NAMES:
        stage = stages.timers[name]
        print(f"    {name + ':':<24}{stage.wall:8.3f} s {stage.cpu:8.3f} s")
    print(f"  matplotlib plot_surface:    {mpl_s.wall:8.3f} s {mpl_s.cpu:8.3f} s  ({mpl_bytes / 1e6:.2f} MB)")
    print(f"  speed-up: {mpl_s.wall / hub_s.wall:.1f}x wall, {mpl_s.cpu / hub_s.cpu:.1f}x cpu")
    per_frame, triangles = time_per_frame(big_n, frame_size, frames)
    print(
        f"{triangles / 1e6:.2f}M triangles at {frame_size[0]}x{frame_size[1]}, tron theme with bloom: "
        f"{per_frame * 1000:.0f} ms per frame ({frames} frames)"
    )


if __name__ == "__main__":
    main()
