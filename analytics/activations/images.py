"""Activation analysis of an image classifier: norms per condition, Grad-CAM, pruning curves.

Example::

    >>> result = analyze_images(model, x, y, trigger=PatchTrigger(target=0), prune=["linf", "mean"])
    >>> result.metrics["attack_success_rate"], result.metrics["linf_bias"]["ratio"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from hubscape.core.errors import InputError

from .capture import NORMS, ActivationRecorder, LayerStats, capture, resolve_layers
from .gradcam import grad_cam
from .pruning import (
    ACTIVATIONS,
    PruningCurve,
    accuracy,
    attack_success_rate,
    default_layer,
    pruning_values,
    rank_channels,
)
from .result import ActivationResult, GradCam
from .trigger import PatchTrigger

Progress = Callable[[str, int, int], None]


def conv_activation_layers(model) -> list[str]:
    """The activation module after each Conv2d (or the Conv2d itself if none follows)."""
    import torch.nn as nn

    named = [(n, m) for n, m in model.named_modules() if n]
    out = []
    for i, (name, module) in enumerate(named):
        if isinstance(module, nn.Conv2d):
            nxt = named[i + 1] if i + 1 < len(named) else None
            out.append(nxt[0] if nxt and type(nxt[1]).__name__ in ACTIVATIONS else name)
    if not out:
        raise InputError("the model has no Conv2d layer; name the layers to capture with --layers")
    return out


def linf_bias(clean: LayerStats, triggered: LayerStats, top: int = 5) -> dict:
    """How much the trigger raises each norm on the ``top`` channels it raises l_inf most:
    per norm the clean and triggered batch means (averaged over those channels) and their
    ratio. The paper's claim is that the l_inf ratio clearly exceeds the l1 and l2 ratios."""
    gain = triggered.linf - clean.linf
    channels = np.argsort(-gain, kind="stable")[:top]
    out = {"channels": channels.tolist(), "layer": clean.name}
    for norm in NORMS:
        c = float(clean.batch(norm)[channels].mean())
        t = float(triggered.batch(norm)[channels].mean())
        out[norm] = {"clean": c, "triggered": t, "ratio": t / c if c > 0 else float("inf")}
    out["ratio"] = {n: out[n]["ratio"] for n in NORMS}
    return out


def analyze_images(
    model,
    x: np.ndarray,
    y: np.ndarray,
    layers: Sequence[str] | None = None,
    trigger: PatchTrigger | None = None,
    prune: Sequence[str] = (),
    prune_layer: str | None = None,
    rank_by: str = "difference",
    gradcam_samples: int = 16,
    model_info: dict | None = None,
    data_info: dict | None = None,
    progress: Progress | None = None,
    ray: str | None = None,
    workers: int | None = None,
) -> ActivationResult:
    """Capture ``layers`` (patterns; default: every conv layer's activation) on clean inputs
    and, with a ``trigger``, on triggered ones; Grad-CAM at the pruning layer; pruning curves
    for each method in ``prune`` (needs a trigger), on Ray actors with ``ray``/``workers``
    (see pruning_curve)."""
    import torch

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if prune and trigger is None:
        raise InputError("pruning curves need a trigger (--trigger) to measure the attack success rate")
    names = resolve_layers(model, layers) if layers else conv_activation_layers(model)
    prune_layer = prune_layer or default_layer(model)
    if prune_layer not in dict(model.named_modules()):
        raise InputError(f"no layer named {prune_layer!r} to prune")
    conditions = {"clean": x}
    if trigger is not None:
        conditions["triggered"] = trigger.apply(x)
    capture_names = names if prune_layer in names or not prune else names + [prune_layer]
    _step(progress, "capture", 0, len(conditions))
    recorder = ActivationRecorder(model, capture_names)
    with recorder:
        for i, (cond, xc) in enumerate(conditions.items()):
            capture(model, _batches(torch.as_tensor(xc)), capture_names, cond, recorder)
            _step(progress, "capture", i + 1, len(conditions))
    stats = {cond: recorder.result(cond) for cond in conditions}
    summary: dict = {"n_samples": int(len(x)), "clean_accuracy": accuracy(model, x, y)}
    if trigger is not None:
        summary["attack_success_rate"] = attack_success_rate(model, conditions["triggered"], y, trigger.target)
        summary["linf_bias"] = linf_bias(stats["clean"][prune_layer], stats["triggered"][prune_layer])

    gradcam, gradcam_info = {}, None
    if gradcam_samples > 0:
        target = trigger.target if trigger is not None else None
        pick = (
            np.flatnonzero(y != target)[:gradcam_samples]
            if target is not None
            else np.arange(min(gradcam_samples, len(x)))
        )
        for cond, xc in conditions.items():
            maps = grad_cam(model, xc[pick], prune_layer, target_class=target)
            gradcam[cond] = GradCam(maps=maps, inputs=xc[pick, 0].astype(np.float64))
        gradcam_info = {
            "layer": prune_layer,
            "target_class": target,
            "conditions": list(conditions),
            "samples": pick.tolist(),
        }
        if trigger is not None:
            rows, cols = trigger.region(*x.shape[2:])
            summary["gradcam_trigger_share"] = {
                cond: float(np.mean(cam.maps[:, rows, cols].sum((1, 2)) / np.maximum(cam.maps.sum((1, 2)), 1e-12)))
                for cond, cam in gradcam.items()
            }

    curves: list[PruningCurve] = []
    ranked = [
        rank_channels(method, stats["clean"][prune_layer], stats.get("triggered", {}).get(prune_layer), rank_by=rank_by)
        for method in prune
    ]
    values = []
    if prune:  # every method's steps at once: on Ray, one pool of actors for all the curves
        values = pruning_values(
            model,
            prune_layer,
            [order for order, _ in ranked],
            (x, y),
            (conditions["triggered"], y),
            trigger.target,
            progress=lambda i, k, n: _step(progress, f"prune {prune[i]}", k, n),
            ray=ray,
            workers=workers,
        )
    for method, (order, scores), v in zip(prune, ranked, values):
        curve = PruningCurve(
            method=method,
            rank_by=rank_by if method == "linf" else "clean",
            layer=prune_layer,
            order=np.asarray(order, dtype=np.int64),
            scores=np.asarray(scores, float),
            pruned=np.arange(len(v), dtype=np.int64),
            clean_accuracy=v[:, 0].copy(),
            attack_success_rate=v[:, 1].copy(),
        )
        curves.append(curve)
        summary[f"pruning_{method}"] = pruning_summary(curve)

    kept = {cond: {n: s for n, s in layer_stats.items() if n in names} for cond, layer_stats in stats.items()}
    return ActivationResult(
        model=model_info or {"id": type(model).__name__, "revision": None},
        layers=kept,
        trigger=trigger.describe() if trigger else None,
        gradcam=gradcam,
        gradcam_info=gradcam_info,
        pruning=curves,
        metrics=summary,
        data=data_info or {"n": int(len(x))},
    )


def pruning_summary(curve: PruningCurve, asr_goal: float = 0.2, tolerance: float = 0.1) -> dict:
    """Where a pruning curve first brings the attack success rate below ``asr_goal``, and its
    lowest attack success rate while clean accuracy stays within ``tolerance`` of the start."""
    k = curve.first_below(asr_goal)
    start = float(curve.clean_accuracy[0])
    out = {
        "rank_by": curve.rank_by,
        "channels": int(len(curve.order)),
        "asr_goal": asr_goal,
        "start_clean_accuracy": start,
        "start_attack_success_rate": float(curve.attack_success_rate[0]),
        "channels_to_goal": k,
    }
    if k is not None:
        out["clean_accuracy_at_goal"] = float(curve.clean_accuracy[k])
        out["attack_success_rate_at_goal"] = float(curve.attack_success_rate[k])
        out["clean_accuracy_drop_at_goal"] = start - float(curve.clean_accuracy[k])
    ok = np.flatnonzero(curve.clean_accuracy >= start - tolerance)
    best = int(ok[np.argmin(curve.attack_success_rate[ok])])
    out["within_tolerance"] = {
        "tolerance": tolerance,
        "channels": best,
        "attack_success_rate": float(curve.attack_success_rate[best]),
        "clean_accuracy": float(curve.clean_accuracy[best]),
    }
    return out


def _batches(x, size: int = 512):
    return [x[i : i + size] for i in range(0, len(x), size)]


def _step(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)
