"""Benchmark: laying out a scene's texts (viewer.scene.labels) vs the obvious alternatives, in one run.

The layout runs whenever a window's camera moves, so it must stay well under a frame budget:
- candidate boxes tested against the placed ones with one numpy comparison per label vs the
  obvious Python double loop over boxes;
- the coverage/depth mask of the opaque geometry (used once the camera rests) vs none.
Scenes: the real 21-model growth crawl, the landscape demo, and a 30 x 576 activation surface.

    python3 bench/bench_labels.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CSV = REPO.parent / "shared" / "data" / "hf-model-trees" / "hf_finetune_children_by_base.csv"


def best_of(fn, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def python_overlaps(boxes: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """The obvious version of labels._overlaps: every candidate against every placed box."""
    from hubscape.viewer.scene.labels import PAD

    out = np.zeros(len(boxes), bool)
    for i, b in enumerate(boxes.tolist()):
        for t in taken.tolist():
            if b[0] < t[2] + PAD and b[2] > t[0] - PAD and b[1] < t[3] + PAD and b[3] > t[1] - PAD:
                out[i] = True
                break
    return out


def wide_activations():
    from hubscape.core.bundle import Bundle

    rng = np.random.default_rng(0)
    arrays, layers = {}, []
    for li in range(30):
        layers.append({"name": f"layers.{li}", "type": "transformer", "shape": [12, 576]})
        clean = rng.gamma(2.0, 0.5, 576)
        for cond, v in (("clean", clean), ("triggered", clean * rng.uniform(0.9, 1.3, 576))):
            arrays[f"layers/{li}/{cond}/linf"] = v
    meta = {"model": {"id": "bench/lm"}, "conditions": ["clean", "triggered"], "layers": layers}
    return Bundle(kind="activations", meta=meta, arrays=arrays, schema=1)


def main() -> None:
    from hubscape.viewer.scene import labels
    from hubscape.viewer.scene.builders import build_scene
    from hubscape.viewer.scene.figure import figure_regions
    from hubscape.viewer.sources.fitting import growth_bundle_from_source
    from hubscape.viewer.sources.worlds import scene_from_source

    scenes = {
        "growth, 21 real models": build_scene(growth_bundle_from_source(CSV)),
        "landscape demo (81 x 81)": scene_from_source("demo:landscape"),
        "activations 30 x 576": build_scene(wide_activations()),
    }
    w, h = 1200, 800
    print(f"| scene ({w} x {h}) | texts | layout, numpy boxes | layout, Python loops | speed-up | with coverage mask |")
    print("|---|---|---|---|---|---|")
    vectorized = labels._overlaps
    for name, scene in scenes.items():
        regions = figure_regions(scene, w, h)
        obstacles = regions.obstacles()

        def run(mask):
            return labels.layout_scene(scene, w, h, scale=regions.scale, obstacles=obstacles, mask=mask)

        fast = best_of(lambda: run(False))
        labels._overlaps = python_overlaps
        try:
            slow = best_of(lambda: run(False))
            same = [p.box for p in run(False).placed]
        finally:
            labels._overlaps = vectorized
        assert same == [p.box for p in run(False).placed]  # the same layout either way
        masked = best_of(lambda: run(True), repeat=3)
        n = len(labels.requests_of(scene))
        print(
            f"| {name} | {n} | {1000 * fast:.1f} ms | {1000 * slow:.1f} ms | {slow / fast:.1f}x | {1000 * masked:.0f} ms |"
        )


if __name__ == "__main__":
    main()
