"""The backdoor demo: a BadNets attack on a small digits CNN, seen through its activations.

Steps (deterministic for a seed, about half a minute on 2 CPU cores):

1. train a clean CNN and a backdoored one (10% of the training set stamped with a 3x3
   checker patch in the bottom-right corner and relabelled to 0) from the same initial weights;
2. clean accuracy and attack success rate of both on the held-out test set;
3. per-channel l1/l2/l_inf norms of every conv layer on clean and triggered test inputs,
   the l_inf bias on the channels the trigger excites most, Grad-CAM for the target class;
4. pruning curves of the last conv layer: l_inf pruning (ranked by triggered minus clean
   l_inf; the ranking by triggered l_inf alone is summarised too) and fine-pruning by mean
   clean activation;
5. landscapes (hubscape.analytics.landscape): a 2D filter-normalized landscape of the
   backdoored model on (a seeded subset of) the clean test data, and the line from the clean to the backdoored model
   on clean data and on triggered data (whose accuracy is the attack success rate).

Example::

    >>> demo = run_backdoor_demo("demo-out")
    >>> demo.summary["backdoored"]["attack_success_rate"], demo.files
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hubscape.core.atomic import write_text
from hubscape.core.bundle import to_jsonable

from .digits import DEFAULT_CONFIG, load_digits_split, poison, save_checkpoint, seeded_cnn, train
from .images import analyze_images, pruning_summary
from .pruning import accuracy, attack_success_rate, default_layer, pruning_curve, rank_channels
from .trigger import PatchTrigger

Progress = Callable[[str, int, int], None]


@dataclass
class BackdoorConfig:
    seed: int = 0
    poison_fraction: float = 0.1
    trigger: PatchTrigger = field(default_factory=PatchTrigger)
    epochs: int = 12
    model: dict = field(default_factory=lambda: dict(DEFAULT_CONFIG))
    landscape_grid: tuple[int, int] = (21, 21)
    landscape_samples: int = 256  # test images the landscapes are evaluated on
    interpolation_points: int = 31
    asr_goal: float = 0.2
    threads: int | None = 1  # torch intra-op threads: 1 gives the same numbers on any
    # machine and steady timings on a busy one (None: torch's)


@dataclass
class BackdoorDemo:
    summary: dict
    files: dict[str, Path]


FILES = {
    "activations": "activations.safetensors",
    "landscape": "landscape_backdoored.safetensors",
    "interpolation_clean": "interpolation_clean_data.safetensors",
    "interpolation_triggered": "interpolation_triggered_data.safetensors",
    "summary_json": "summary.json",
    "summary_text": "summary.txt",
    "clean_model": "clean.pt",
    "backdoored_model": "backdoored.pt",
    "test_inputs": "digits_test.npz",
}


def run_backdoor_demo(
    out_dir: str | Path, config: BackdoorConfig | None = None, landscapes: bool = True, progress: Progress | None = None
) -> BackdoorDemo:
    """Run the whole experiment and write its files into ``out_dir`` (see FILES)."""
    import torch

    cfg = config or BackdoorConfig()
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(out_dir, cfg, landscapes, progress)
    finally:
        torch.set_num_threads(threads)


def _run(out_dir, cfg: BackdoorConfig, landscapes: bool, progress: Progress | None) -> BackdoorDemo:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trig = cfg.trigger
    data = load_digits_split(seed=cfg.seed)
    x_poison, y_poison, poisoned = poison(data.x_train, data.y_train, trig, cfg.poison_fraction, cfg.seed)

    tick = (lambda stage: lambda e, n, loss=None: progress(stage, e, n)) if progress else (lambda stage: None)
    clean_model = seeded_cnn(cfg.seed, cfg.model)
    train(clean_model, data.x_train, data.y_train, cfg.epochs, cfg.seed, progress=tick("train clean"))
    backdoored = seeded_cnn(cfg.seed, cfg.model)
    train(backdoored, x_poison, y_poison, cfg.epochs, cfg.seed, progress=tick("train backdoored"))

    x_test, y_test = data.x_test, data.y_test
    x_trig = trig.apply(x_test)
    files = {k: out / v for k, v in FILES.items()}
    save_checkpoint(files["clean_model"], clean_model, cfg.model, None, {"seed": cfg.seed})
    save_checkpoint(
        files["backdoored_model"],
        backdoored,
        cfg.model,
        trig,
        {"seed": cfg.seed, "poison_fraction": cfg.poison_fraction},
    )
    _save_npz(files["test_inputs"], X=x_test, y=y_test)

    layer = default_layer(backdoored)
    result = analyze_images(
        backdoored,
        x_test,
        y_test,
        trigger=trig,
        prune=["linf", "mean"],
        prune_layer=layer,
        rank_by="difference",
        model_info={
            "id": "hubscape-digits-cnn (backdoored)",
            "revision": None,
            "checkpoint": FILES["backdoored_model"],
        },
        data_info={"name": "sklearn digits test split (16x16)", "n": int(len(x_test)), "seed": cfg.seed},
        progress=progress,
    )
    triggered_ranking = _linf_by_triggered(backdoored, result, layer, x_test, y_test, x_trig, trig, cfg.asr_goal)

    summary = {
        "experiment": "BadNets backdoor on scikit-learn digits, small CNN",
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "model_config": cfg.model,
        "trigger": trig.describe(),
        "poison_fraction": cfg.poison_fraction,
        "n_poisoned": int(len(poisoned)),
        "n_train": int(len(y_poison)),
        "n_test": int(len(y_test)),
        "clean_model": {
            "clean_accuracy": accuracy(clean_model, x_test, y_test),
            "attack_success_rate": attack_success_rate(clean_model, x_trig, y_test, trig.target),
        },
        "backdoored": {
            "clean_accuracy": result.metrics["clean_accuracy"],
            "attack_success_rate": result.metrics["attack_success_rate"],
        },
        "pruning_layer": layer,
        "linf_bias": result.metrics["linf_bias"],
        "gradcam_trigger_share": result.metrics.get("gradcam_trigger_share"),
        "pruning": {
            "linf (triggered - clean)": result.metrics["pruning_linf"],
            "linf (triggered only)": triggered_ranking,
            "mean (fine-pruning)": result.metrics["pruning_mean"],
        },
    }
    result.metrics.update(clean_model=summary["clean_model"], pruning_linf_triggered_only=triggered_ranking)
    result.provenance["experiment"] = "hubscape demo backdoor"
    result.save(files["activations"])

    if landscapes:
        summary["landscapes"] = _landscapes(clean_model, backdoored, x_test, y_test, x_trig, trig, cfg, files, progress)
    else:
        for key in ("landscape", "interpolation_clean", "interpolation_triggered"):
            files.pop(key)
    summary["files"] = {k: str(v) for k, v in files.items()}
    summary["reproduce"] = {
        "activations": (
            f"hubscape activations {files['backdoored_model']} --inputs {files['test_inputs']} "
            f"--trigger {trig.spec()} --prune linf --prune mean --out acts.safetensors"
        ),
    }
    write_text(files["summary_json"], json.dumps(to_jsonable(summary), indent=2) + "\n")
    write_text(files["summary_text"], summary_text(summary))
    return BackdoorDemo(summary=summary, files=files)


def _linf_by_triggered(model, result, layer, x, y, x_trig, trig, goal) -> dict:
    """The l_inf curve ranked by the triggered inputs' l_inf alone (summary only)."""
    order, scores = rank_channels(
        "linf", result.layers["clean"][layer], result.layers["triggered"][layer], rank_by="triggered"
    )
    curve = pruning_curve(model, layer, order, (x, y), (x_trig, y), trig.target, "linf", "triggered", scores)
    return pruning_summary(curve, goal)


def _landscapes(clean_model, backdoored, x, y, x_trig, trig, cfg, files, progress) -> dict:
    """The 2D landscape and the two interpolation lines. One model call per grid point
    (vectorize=False): for this conv net it measured ~3x faster than vmap over stacked weights."""
    import torch
    import torch.nn.functional as F

    from ..landscape import Objective, compute_landscape, interpolation_direction, random_directions

    pick = np.sort(np.random.default_rng(cfg.seed).permutation(len(y))[: cfg.landscape_samples])
    x, y, x_trig = x[pick], y[pick], x_trig[pick]
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    keep = y != trig.target
    xa = torch.as_tensor(x_trig[keep])
    ya = torch.full((int(keep.sum()),), trig.target, dtype=torch.long)
    data_clean = {"name": "digits test split, clean", "n": int(len(y))}
    data_trig = {
        "name": "digits test split, triggered, labels = target (accuracy = attack success rate)",
        "n": int(keep.sum()),
    }
    model_info = {"id": "hubscape-digits-cnn (backdoored)", "revision": None}
    step = (lambda k: progress("landscapes", k, 3)) if progress else (lambda k: None)
    step(0)
    plane = compute_landscape(
        Objective(backdoored, [(xt, yt)], F.cross_entropy, metrics=["accuracy"], loss_name="cross_entropy"),
        random_directions(backdoored, dims=2, seed=cfg.seed),
        grid=cfg.landscape_grid,
        span=1.0,
        out=files["landscape"],
        info={"model": model_info, "data": data_clean},
        vectorize=False,
    )
    line_info = {"id": "hubscape-digits-cnn clean -> backdoored", "revision": None}
    step(1)
    lines = {}
    line_data = [("interpolation_clean", (xt, yt), data_clean), ("interpolation_triggered", (xa, ya), data_trig)]
    for i, (key, batch, info) in enumerate(line_data):
        res = compute_landscape(
            Objective(clean_model, [batch], F.cross_entropy, metrics=["accuracy"], loss_name="cross_entropy"),
            interpolation_direction(clean_model, backdoored, names=("clean", "backdoored")),
            grid=(cfg.interpolation_points,),
            span=(-0.25, 1.25),
            out=files[key],
            info={"model": line_info, "data": info},
            vectorize=False,
        )
        lines[key] = {"x": res.x, "loss": res.loss, "accuracy": res.metrics["accuracy"]}
        step(2 + i)
    return {
        "plane": {
            "grid": list(cfg.landscape_grid),
            "center_loss": plane.center_loss,
            "loss_min": float(np.nanmin(plane.loss)),
            "loss_max": float(np.nanmax(plane.loss)),
        },
        "interpolation": {
            k: {"x": v["x"].tolist(), "loss": v["loss"].tolist(), "accuracy": v["accuracy"].tolist()}
            for k, v in lines.items()
        },
    }


def _save_npz(path: Path, **arrays) -> None:
    from hubscape.core.atomic import atomic_open

    with atomic_open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def summary_text(s: dict) -> str:
    """A short human-readable report of the demo's numbers."""
    b, c = s["backdoored"], s["clean_model"]
    bias = s["linf_bias"]
    lines = [
        f"{s['experiment']} (seed {s['seed']}, {s['epochs']} epochs)",
        f"trigger: {s['trigger']['description']}; poisoned {s['n_poisoned']} of {s['n_train']} training images",
        f"clean model:      clean accuracy {c['clean_accuracy']:.3f}, attack success rate {c['attack_success_rate']:.3f}",
        f"backdoored model: clean accuracy {b['clean_accuracy']:.3f}, attack success rate {b['attack_success_rate']:.3f}",
        f"norm bias on the {len(bias['channels'])} channels of {bias['layer']} the trigger excites most "
        f"(channels {bias['channels']}), triggered / clean:",
    ]
    for norm in ("l1", "l2", "linf"):
        lines.append(
            f"  {norm:>4}: {bias[norm]['clean']:.3f} -> {bias[norm]['triggered']:.3f}  (x{bias[norm]['ratio']:.2f})"
        )
    share = s.get("gradcam_trigger_share") or {}
    if share:
        lines.append(
            "Grad-CAM (target class) mass inside the trigger patch: "
            + ", ".join(f"{c} {v:.3f}" for c, v in share.items())
        )
    lines.append(
        f"pruning {s['pruning_layer']} until the attack success rate < {s['pruning']['mean (fine-pruning)']['asr_goal']}:"
    )
    for name, p in s["pruning"].items():
        if p["channels_to_goal"] is None:
            lines.append(f"  {name}: never (clean accuracy starts at {p['start_clean_accuracy']:.3f})")
        else:
            lines.append(
                f"  {name}: {p['channels_to_goal']} of {p['channels']} channels, clean accuracy "
                f"{p['start_clean_accuracy']:.3f} -> {p['clean_accuracy_at_goal']:.3f}, "
                f"attack success rate {p['attack_success_rate_at_goal']:.3f}"
            )
        best = p["within_tolerance"]
        lines.append(
            f"    lowest attack success rate losing at most {best['tolerance']} clean accuracy: "
            f"{best['attack_success_rate']:.3f} after {best['channels']} channels "
            f"(clean accuracy {best['clean_accuracy']:.3f})"
        )
    if "landscapes" in s:
        interp = s["landscapes"]["interpolation"]["interpolation_triggered"]
        lines.append(
            f"landscape: 2D {s['landscapes']['plane']['grid']} around the backdoored model, centre loss "
            f"{s['landscapes']['plane']['center_loss']:.4f}; attack success rate along clean -> backdoored: "
            + ", ".join(f"{x:.2f}:{a:.2f}" for x, a in list(zip(interp["x"], interp["accuracy"]))[::5])
        )
    return "\n".join(lines) + "\n"
