"""The result of an activation analysis (bundle kind "activations", key layout in docs/bundles.md).

Example::

    >>> result = hs.activations(model, {"clean": x, "triggered": x_trig})
    >>> result                                   # one line: model, layers, conditions
    >>> print(result.report())                   # per layer: norms, trigger ratios, top channels
    >>> result.save("acts.safetensors"); ActivationResult.load("acts.safetensors")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError
from hubscape.core.results import Result

from .capture import NORMS, LayerStats
from .pruning import PruningCurve


@dataclass(repr=False)
class GradCam:
    """Grad-CAM maps of one condition and the inputs they belong to."""

    maps: np.ndarray  # (N, H, W) in [0, 1]
    inputs: np.ndarray  # (N, H, W) or (N, H, W, 3)

    def __repr__(self) -> str:
        return f"<GradCam {self.maps.shape[0]} maps of {self.maps.shape[1]}x{self.maps.shape[2]}>"


@dataclass(repr=False)
class ActivationResult(Result):
    """Everything an activation analysis found, as the viewer reads it.

    ``layers[condition][layer name]`` holds the LayerStats; every condition has the same
    layers. ``metrics`` holds headline numbers (clean accuracy, attack success rate, l_inf
    bias, pruning summaries); ``provenance`` is written into the bundle.
    """

    kind = "activations"

    model: dict[str, Any]
    layers: dict[str, dict[str, LayerStats]]
    trigger: dict[str, Any] | None = None
    gradcam: dict[str, GradCam] = field(default_factory=dict)
    gradcam_info: dict[str, Any] | None = None
    pruning: list[PruningCurve] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def conditions(self) -> list[str]:
        return list(self.layers)

    @property
    def layer_names(self) -> list[str]:
        first = next(iter(self.layers.values()), {})
        return list(first)

    # -- reading the result ----------------------------------------------------------------
    def trigger_ratio(self, layer: str, norm: str = "linf") -> np.ndarray:
        """Per channel of ``layer``: triggered / clean batch mean of ``norm`` (inf where clean is 0)."""
        clean, triggered = self._pair(layer)
        c, t = clean.batch(norm), triggered.batch(norm)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, t / np.where(c > 0, c, 1.0), np.where(t > 0, np.inf, 1.0))

    def top_channels(self, layer: str, k: int = 5, norm: str = "linf") -> list[int]:
        """The ``k`` channels of ``layer`` the trigger raises most (triggered minus clean ``norm``)."""
        clean, triggered = self._pair(layer)
        gain = triggered.batch(norm) - clean.batch(norm)
        return np.argsort(-gain, kind="stable")[:k].tolist()

    def _pair(self, layer: str) -> tuple[LayerStats, LayerStats]:
        if "clean" not in self.layers or "triggered" not in self.layers:
            raise BundleError(f"comparing conditions needs 'clean' and 'triggered'; this result has {self.conditions}")
        try:
            return self.layers["clean"][layer], self.layers["triggered"][layer]
        except KeyError:
            raise BundleError(f"no layer {layer!r}; the layers are {', '.join(self.layer_names)}") from None

    # -- the verbs of every result ---------------------------------------------------------
    def __repr__(self) -> str:
        model = self.model.get("id", "model")
        channels = sum(s.samples["linf"].shape[1] for s in next(iter(self.layers.values()), {}).values())
        extra = ""
        if "attack_success_rate" in self.metrics:
            extra = f", ASR {self.metrics['attack_success_rate']:.3f}"
        return (
            f"<ActivationResult {model}: {len(self.layer_names)} layers, {channels} channels, "
            f"conditions {'/'.join(self.conditions)}{extra}>"
        )

    def summary(self) -> dict[str, Any]:
        layers = []
        for name in self.layer_names:
            stats = self.layers[self.conditions[0]][name]
            entry: dict[str, Any] = {"name": name, "type": stats.kind, "channels": int(stats.samples["linf"].shape[1])}
            for cond in self.conditions:
                entry[cond] = {n: float(self.layers[cond][name].batch(n).mean()) for n in NORMS}
            if "triggered" in self.layers and "clean" in self.layers:
                entry["top_channels"] = self.top_channels(name)
                ratio = self.trigger_ratio(name)
                entry["max_linf_ratio"] = float(np.max(ratio[np.isfinite(ratio)], initial=1.0))
            layers.append(entry)
        pruning = [
            {"method": c.method, "rank_by": c.rank_by, "layer": c.layer, "steps": int(c.pruned.size)}
            for c in self.pruning
        ]
        return to_jsonable(
            {
                "kind": self.kind,
                "model": self.model,
                "conditions": self.conditions,
                "trigger": self.trigger,
                "layers": layers,
                "pruning": pruning,
                "metrics": self.metrics,
                "data": self.data,
            }
        )

    def report(self) -> str:
        s = self.metrics
        lines = [repr(self)]
        if "clean_accuracy" in s:
            line = f"clean accuracy {s['clean_accuracy']:.3f}"
            if "attack_success_rate" in s:
                line += f", attack success rate {s['attack_success_rate']:.3f}"
            lines.append(line)
        if "linf_bias" in s:
            b = s["linf_bias"]
            lines.append(
                f"trigger / clean on the top channels {b['channels']} of {b['layer']}: "
                + ", ".join(f"{n} x{b['ratio'][n]:.2f}" for n in NORMS)
            )
        for curve in self.pruning:
            p = s.get(f"pruning_{curve.method}", {})
            k = p.get("channels_to_goal")
            if k is not None:
                lines.append(
                    f"{curve.method} pruning: attack success rate < {p['asr_goal']} after {k} channels, "
                    f"clean accuracy {p['clean_accuracy_at_goal']:.3f}"
                )
            elif p:
                lines.append(f"{curve.method} pruning: the attack success rate never fell below the goal")
        for name, entry in (s.get("layers") or {}).items():
            line = f"{name}: mean l_inf {entry['linf']:.3f}"
            if "linf_triggered" in entry:
                line += (
                    f" -> {entry['linf_triggered']:.3f} triggered (l1 x{entry['l1_ratio']:.3f}, "
                    f"l2 x{entry['l2_ratio']:.3f}, linf x{entry['linf_ratio']:.3f}); largest l_inf gain: "
                    f"unit {entry['top_linf_gain_units'][0]} +{entry['top_linf_gain'][0]:.3f}"
                )
            lines.append(line)
        if not s.get("layers"):
            for entry in self.summary()["layers"]:
                line = f"{entry['name']} ({entry['type']}, {entry['channels']} channels): " + ", ".join(
                    f"{cond} l_inf {entry[cond]['linf']:.3g}" for cond in self.conditions
                )
                if "top_channels" in entry:
                    line += f"; trigger raises channels {entry['top_channels']} most"
                lines.append(line)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        rows = []
        for entry in self.summary()["layers"]:
            cells = [entry["name"], entry["type"], str(entry["channels"])]
            cells += [f"{entry[c]['linf']:.4g}" for c in self.conditions]
            cells.append(", ".join(map(str, entry.get("top_channels", []))))
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        head = ["layer", "type", "channels", *(f"l_inf {c}" for c in self.conditions), "top trigger channels"]
        return (
            f"<p>{html.escape(repr(self))}</p><table><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr>"
            + "".join(rows)
            + "</table>"
        )

    def to_bundle(self) -> Bundle:
        arrays: dict[str, np.ndarray] = {}
        layer_meta = []
        for li, name in enumerate(self.layer_names):
            first = self.layers[self.conditions[0]][name]
            layer_meta.append(
                {
                    "name": name,
                    "type": first.kind,
                    "shape": list(first.shape),
                    "channels": int(first.samples["linf"].shape[1]),
                }
            )
            for cond in self.conditions:
                stats = self.layers[cond][name]
                for norm in NORMS:
                    arrays[f"layers/{li}/{cond}/{norm}"] = stats.batch(norm)
                    arrays[f"layers/{li}/{cond}/{norm}_samples"] = stats.samples[norm]
                if stats.mean_map is not None:
                    arrays[f"layers/{li}/{cond}/mean_map"] = stats.mean_map
        for cond, cam in self.gradcam.items():
            arrays[f"gradcam/{cond}/maps"] = cam.maps
            arrays[f"gradcam/{cond}/inputs"] = cam.inputs
        for curve in self.pruning:
            base = f"pruning/{curve.method}"
            arrays[f"{base}/pruned"] = curve.pruned
            arrays[f"{base}/clean_accuracy"] = curve.clean_accuracy
            arrays[f"{base}/attack_success_rate"] = curve.attack_success_rate
            arrays[f"{base}/order"] = curve.order.astype(np.int64)
            arrays[f"{base}/scores"] = curve.scores
        pruning_meta = None
        if self.pruning:
            pruning_meta = {
                "layer": self.pruning[0].layer,
                "methods": [c.method for c in self.pruning],
                "rank_by": {c.method: c.rank_by for c in self.pruning},
            }
        meta = {
            "model": self.model,
            "conditions": self.conditions,
            "layers": layer_meta,
            "trigger": self.trigger,
            "gradcam": self.gradcam_info if self.gradcam else None,
            "pruning": pruning_meta,
            "summary": self.metrics,
            "data": self.data,
        }
        return Bundle(kind="activations", meta=to_jsonable(meta), arrays=arrays, provenance=self.provenance, schema=1)

    @classmethod
    def from_bundle(cls, b: Bundle) -> ActivationResult:
        if b.kind != "activations":
            raise BundleError(f"expected an activations bundle, got a {b.kind} bundle")
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
                f"activations bundle lacks {exc.args[0]!r}; it may be from another hubscape version"
            ) from None
        return cls(
            model=meta.get("model") or {},
            layers=layers,
            trigger=meta.get("trigger"),
            gradcam=gradcam,
            gradcam_info=meta.get("gradcam"),
            pruning=pruning,
            metrics=meta.get("summary") or {},
            provenance=b.provenance,
            data=meta.get("data") or {},
        )
