"""Benchmark: a landscape grid on Ray actors on this machine, 1 actor against 2, and the serial path.

The model is all-MiniLM-L6-v2 (22.7M parameters, the packaged ``minilm``) on ``--pairs``
sentence pairs (cosine-similarity MSE), a 2D filter-normalized grid, point by point: a point
takes ~0.2-0.5 s on one core, the regime the issue's target is stated for (2 actors >= 1.6x
one actor for points of >= 0.2 s). Every run computes the same grid in the same chunks:

1. serial, 1 torch thread and 2 torch threads (``compute_landscape`` without ``ray``);
2. Ray, 1 actor and 2 actors, 1 torch thread each (a local cluster of that many CPUs, started
   before the clock starts; the actors start, receive the task and load the model inside the
   timed run).

Reported: wall seconds of the whole run, the actors' start-up (until the first chunk came
back) and the steady rate (points per second after the first chunk), with the ratios; the
grids must agree. Wall time, not CPU time: the actors are other processes. Other jobs on the
2 shared cores slow the parallel runs most, so the load average is printed with the numbers.

Run: ``python3 bench/bench_landscape_ray.py`` (``--grid 6``, ``--pairs 48``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

SENTENCES = [
    ("A man is playing a guitar on a stage.", "A person plays an instrument for a crowd."),
    ("A woman is slicing an onion in the kitchen.", "Someone is cutting a vegetable."),
    ("A child rides a bicycle down the street.", "A kid is cycling on the road."),
    ("The stock market fell sharply on Monday.", "Shares dropped at the start of the week."),
    ("Two dogs are running through a field.", "A pair of dogs races across the grass."),
    ("The chef is preparing a large pot of soup.", "A cook makes soup in a big pot."),
    ("A plane is taking off from the runway.", "An aircraft departs from the airport."),
    ("The students are listening to a lecture.", "Pupils pay attention in class."),
]


def pairs_file(n: int, folder: Path) -> Path:
    """``n`` scored sentence pairs (tab-separated), matched and mismatched."""
    rows = []
    for i in range(n):
        a, b = SENTENCES[i % len(SENTENCES)]
        if i % 2:
            b = SENTENCES[(i + 3) % len(SENTENCES)][1]
        rows.append(f"{a}\t{b}\t{0.9 if i % 2 == 0 else 0.1}")
    path = folder / "pairs.tsv"
    path.write_text("\n".join(rows) + "\n")
    return path


def run(args, data: Path, ray_workers: int | None, threads: int) -> dict:
    import torch

    from hubscape.analytics.distributed import RayPool
    from hubscape.analytics.landscape import compute_landscape, random_directions
    from hubscape.analytics.landscape.models import load_objective

    torch.set_num_threads(threads)
    obj = load_objective("minilm", str(data), batch_size=args.pairs)
    dirs = random_directions(obj.model, seed=0)
    arrivals: list[float] = []
    real = RayPool.imap

    def timed(self, chunks):
        for item in real(self, chunks):
            arrivals.append(time.perf_counter())
            yield item

    RayPool.imap = timed
    kw = dict(grid=(args.grid, args.grid), span=0.5, chunk=args.chunk)
    try:
        if ray_workers:
            import ray

            temp = tempfile.mkdtemp(prefix="hsray", dir="/tmp")
            ray.init(num_cpus=ray_workers, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
            t0 = time.perf_counter()
            res = compute_landscape(obj, dirs, ray="auto", workers=ray_workers, **kw)
            wall = time.perf_counter() - t0
            ray.shutdown()
        else:
            t0 = time.perf_counter()
            res = compute_landscape(obj, dirs, **kw)
            wall = time.perf_counter() - t0
    finally:
        RayPool.imap = real
    n = res.loss.size
    out = {"wall": wall, "loss": res.loss, "points": n}
    if arrivals:
        steady = (n - args.chunk) / max(arrivals[-1] - arrivals[0], 1e-9)
        out.update(startup=arrivals[0] - t0, rate=steady)
    else:
        out.update(startup=0.0, rate=n / wall)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=6, help="points per axis (default 6: 36 points)")
    ap.add_argument("--pairs", type=int, default=48, help="sentence pairs per point (default 48)")
    ap.add_argument("--chunk", type=int, default=2, help="points per chunk (default 2)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = pairs_file(args.pairs, Path(tmp))
        runs = {
            "serial, 1 thread": run(args, data, None, 1),
            "serial, 2 threads": run(args, data, None, 2),
            "Ray, 1 actor": run(args, data, 1, 1),
            "Ray, 2 actors": run(args, data, 2, 1),
        }
    print(f"minilm, {args.pairs} pairs, {args.grid}x{args.grid} grid, chunks of {args.chunk}; wall seconds; "
          f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    for label, r in runs.items():
        print(f"  {label:18s} {r['wall']:7.1f} s  start-up {r['startup']:5.1f} s  {r['rate']:6.2f} points/s "
              f"({1 / r['rate']:.2f} s per point)")  # fmt: skip
    one, two = runs["Ray, 1 actor"], runs["Ray, 2 actors"]
    ref = runs["serial, 1 thread"]["loss"]
    diff = max(float(np.max(np.abs(r["loss"] - ref))) for r in runs.values())
    print(f"  2 actors / 1 actor: {two['rate'] / one['rate']:.2f}x steady, {one['wall'] / two['wall']:.2f}x whole run; "
          f"2 actors / serial 2 threads: {two['rate'] / runs['serial, 2 threads']['rate']:.2f}x steady; "
          f"max |grid - serial| = {diff:.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
