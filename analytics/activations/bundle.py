"""Activation results <-> activations bundles (key layout in docs/bundles.md, schema 1).

Example::

    >>> write_activations("acts.safetensors", result)
    >>> again = read_activations("acts.safetensors")
    >>> again.layers["clean"]["relu2"].linf        # (C,)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.core.bundle import read_bundle, write_bundle
from hubscape.core.errors import BundleError

from .capture import NORMS, LayerStats
from .pruning import PruningCurve


@dataclass
class GradCam:
    """Grad-CAM maps of one condition and the inputs they belong to."""

    maps: np.ndarray  # (N, H, W) in [0, 1]
    inputs: np.ndarray  # (N, H, W) or (N, H, W, 3)


@dataclass
class ActivationResult:
    """Everything an activation analysis found, as the viewer reads it.

    ``layers[condition][layer name]`` holds the LayerStats; every condition has the same
    layers. ``summary`` holds headline numbers (clean accuracy, attack success rate, ...).
    """

    model: dict[str, Any]
    layers: dict[str, dict[str, LayerStats]]
    trigger: dict[str, Any] | None = None
    gradcam: dict[str, GradCam] = field(default_factory=dict)
    gradcam_info: dict[str, Any] | None = None
    pruning: list[PruningCurve] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def conditions(self) -> list[str]:
        return list(self.layers)

    @property
    def layer_names(self) -> list[str]:
        first = next(iter(self.layers.values()), {})
        return list(first)


def to_bundle(result: ActivationResult) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, meta) of an activations bundle."""
    arrays: dict[str, np.ndarray] = {}
    layer_meta = []
    for li, name in enumerate(result.layer_names):
        first = result.layers[result.conditions[0]][name]
        layer_meta.append(
            {
                "name": name,
                "type": first.kind,
                "shape": list(first.shape),
                "channels": int(first.samples["linf"].shape[1]),
            }
        )
        for cond in result.conditions:
            stats = result.layers[cond][name]
            for norm in NORMS:
                arrays[f"layers/{li}/{cond}/{norm}"] = stats.batch(norm)
                arrays[f"layers/{li}/{cond}/{norm}_samples"] = stats.samples[norm]
            if stats.mean_map is not None:
                arrays[f"layers/{li}/{cond}/mean_map"] = stats.mean_map
    for cond, cam in result.gradcam.items():
        arrays[f"gradcam/{cond}/maps"] = cam.maps
        arrays[f"gradcam/{cond}/inputs"] = cam.inputs
    for curve in result.pruning:
        base = f"pruning/{curve.method}"
        arrays[f"{base}/pruned"] = curve.pruned
        arrays[f"{base}/clean_accuracy"] = curve.clean_accuracy
        arrays[f"{base}/attack_success_rate"] = curve.attack_success_rate
        arrays[f"{base}/order"] = curve.order.astype(np.int64)
        arrays[f"{base}/scores"] = curve.scores
    pruning_meta = None
    if result.pruning:
        pruning_meta = {
            "layer": result.pruning[0].layer,
            "methods": [c.method for c in result.pruning],
            "rank_by": {c.method: c.rank_by for c in result.pruning},
        }
    meta = {
        "model": result.model,
        "conditions": result.conditions,
        "layers": layer_meta,
        "trigger": result.trigger,
        "gradcam": result.gradcam_info if result.gradcam else None,
        "pruning": pruning_meta,
        "summary": result.summary,
        "data": result.data,
    }
    return arrays, meta


def write_activations(path: str | Path, result: ActivationResult, provenance: dict[str, Any] | None = None) -> Path:
    """Write ``result`` atomically as an activations bundle."""
    arrays, meta = to_bundle(result)
    return write_bundle(path, "activations", arrays, meta, provenance)


def read_activations(path: str | Path) -> ActivationResult:
    """Read an activations bundle back into an ActivationResult."""
    b = read_bundle(path, kind="activations")
    meta, arrays = b.meta, b.arrays
    try:
        layers: dict[str, dict[str, LayerStats]] = {}
        for cond in meta["conditions"]:
            layers[cond] = {}
            for li, info in enumerate(meta["layers"]):
                key = f"layers/{li}/{cond}"
                samples = {n: arrays[f"{key}/{n}_samples"] for n in NORMS}
                layers[cond][info["name"]] = LayerStats(
                    name=info["name"],
                    kind=info["type"],
                    shape=list(info["shape"]),
                    samples=samples,
                    mean_map=arrays.get(f"{key}/mean_map"),
                )
        gradcam = {
            c: GradCam(arrays[f"gradcam/{c}/maps"], arrays[f"gradcam/{c}/inputs"])
            for c in ((meta.get("gradcam") or {}).get("conditions") or [])
        }
        pruning = []
        pmeta = meta.get("pruning") or {}
        for method in pmeta.get("methods", []):
            base = f"pruning/{method}"
            pruning.append(
                PruningCurve(
                    method=method,
                    rank_by=(pmeta.get("rank_by") or {}).get(method, ""),
                    layer=pmeta["layer"],
                    order=arrays[f"{base}/order"],
                    scores=arrays.get(f"{base}/scores", np.zeros(0)),
                    pruned=arrays[f"{base}/pruned"],
                    clean_accuracy=arrays[f"{base}/clean_accuracy"],
                    attack_success_rate=arrays[f"{base}/attack_success_rate"],
                )
            )
    except KeyError as exc:
        raise BundleError(
            f"{path}: activations bundle lacks {exc.args[0]!r}; it may be from another hubscape version"
        ) from None
    return ActivationResult(
        model=meta.get("model") or {},
        layers=layers,
        trigger=meta.get("trigger"),
        gradcam=gradcam,
        gradcam_info=meta.get("gradcam"),
        pruning=pruning,
        summary=meta.get("summary") or {},
        data=meta.get("data") or {},
    )
