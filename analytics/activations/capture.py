"""Capture activations of chosen layers of any torch module with forward hooks.

A layer's output is reduced per sample and per *channel* as it streams past, so memory stays
at one batch whatever the data size:

- conv layers, output (N, C, H, W): a channel is a feature map; its norms run over H x W;
- transformer layers, output (N, T, D): a channel is a hidden unit; its norms run over the
  sample's real tokens (padding excluded with the attention mask);
- dense layers, output (N, C): each unit is a channel of one value.

Per sample and channel we keep the l1, l2 and l_inf norms, and per condition the mean map
(the mean activation over samples, (C, H, W) or (T, D)).

Example::

    >>> layers = resolve_layers(model, ["features.*"])
    >>> with ActivationRecorder(model, layers) as rec:
    ...     model(x_clean)
    >>> stats = rec.result("clean")["features.4"]
    >>> stats.linf.shape        # (C,) batch mean of each channel's l_inf
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hubscape.core.errors import InputError

NORMS = ("l1", "l2", "linf")


@dataclass(repr=False)
class LayerStats:
    """The activations of one layer under one condition, reduced per sample and channel."""

    name: str
    kind: str  # "conv" | "transformer" | "dense"
    shape: list[int]  # per-sample output shape: [C, H, W], [T, D] or [C]
    samples: dict[str, np.ndarray]  # norm -> (N, C)
    mean_map: np.ndarray | None  # (C, H, W) or (T, D); NaN at token positions no sample has

    @property
    def l1(self) -> np.ndarray:
        return self.samples["l1"].mean(axis=0)

    @property
    def l2(self) -> np.ndarray:
        return self.samples["l2"].mean(axis=0)

    @property
    def linf(self) -> np.ndarray:
        return self.samples["linf"].mean(axis=0)

    def batch(self, norm: str) -> np.ndarray:
        """Batch mean (C,) of each channel's per-sample ``norm`` (l1, l2 or linf)."""
        return self.samples[norm].mean(axis=0)

    def __repr__(self) -> str:
        n, c = self.samples["linf"].shape
        return f"<LayerStats {self.name} ({self.kind} {'x'.join(map(str, self.shape))}): {n} samples x {c} channels>"


def layer_names(model) -> list[str]:
    """Names of all submodules of ``model`` that a layer pattern can select."""
    return [name for name, _ in model.named_modules() if name]


def resolve_layers(model, patterns: Sequence[str]) -> list[str]:
    """Module names matching ``patterns``: exact names, globs (``encoder.layer.*``: ``*``
    stays within one dotted part, ``**`` crosses dots) or regular expressions written
    ``re:PATTERN`` (full match). Order follows the model.

    An unknown pattern raises InputError naming a few layers that exist.
    """
    names = layer_names(model)
    chosen: list[str] = []
    for pattern in patterns:
        if pattern.startswith("re:"):
            try:
                rx = re.compile(pattern[3:])
            except re.error as exc:
                raise InputError(f"layer pattern {pattern!r} is not a valid regular expression: {exc}") from None
            hits = [n for n in names if rx.fullmatch(n)]
        elif any(ch in pattern for ch in "*?["):
            rx = _glob_regex(pattern)
            hits = [n for n in names if rx.fullmatch(n)]
        else:
            hits = [pattern] if pattern in names else []
        if not hits:
            raise InputError(f"no layer matches {pattern!r}; available layers include {_few(names, pattern)}")
        chosen.extend(h for h in hits if h not in chosen)
    order = {n: i for i, n in enumerate(names)}
    return sorted(chosen, key=order.__getitem__)


def _glob_regex(pattern: str) -> re.Pattern:
    """A glob over dotted module names: ``*`` stays within one name part, ``**`` crosses dots."""
    parts = re.split(r"(\*\*|\*)", pattern)
    out = []
    for part in parts:
        if part == "**":
            out.append(".*")
        elif part == "*":
            out.append("[^.]*")
        else:
            out.append(fnmatch.translate(part)[4:-3])  # '(?s:' ... ')\\Z' stripped: ?, [..] kept
    return re.compile("".join(out))


def _few(names: Sequence[str], query: str = "", k: int = 8) -> str:
    """A handful of layer names for an error message: those closest to ``query`` first, then
    the shallowest ones."""
    import difflib

    close = difflib.get_close_matches(query, names, n=4, cutoff=0.5) if query else []
    shallow = sorted(names, key=lambda n: (n.count("."), names.index(n)))
    picked = list(dict.fromkeys(close + shallow))[:k]
    more = f" ... ({len(names)} in all)" if len(names) > len(picked) else ""
    return ", ".join(picked) + more


def first_tensor(output: Any):
    """The activation tensor of a module output (HF layers may return tuples or ModelOutputs)."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    if hasattr(output, "last_hidden_state"):
        return output.last_hidden_state
    raise InputError(f"layer output of type {type(output).__name__} has no activation tensor")


def channel_norms(act, token_mask=None) -> dict[str, Any]:
    """Per-sample, per-channel l1, l2 and l_inf norms of a batch of activations (torch).

    ``act`` is (N, C, H, W), (N, T, D) or (N, C); returns norm -> (N, C) float64 tensors.
    For (N, T, D) the channels are the D hidden units and ``token_mask`` (N, T) marks the
    tokens that count (padding is left out).
    """
    a = act.detach().double()
    if a.dim() == 2:
        mag = a.abs().unsqueeze(-1)  # (N, C, 1)
    elif a.dim() == 3:
        mag = a.abs()
        if token_mask is not None:
            mag = mag * token_mask.to(mag.dtype).unsqueeze(-1)
        mag = mag.transpose(1, 2)  # (N, D, T)
    else:
        mag = a.abs().flatten(2)  # (N, C, H*W...)
    return {"l1": mag.sum(-1), "l2": mag.square().sum(-1).sqrt(), "linf": mag.amax(-1)}


@dataclass
class _Accumulator:
    kind: str = ""
    shape: list[int] = field(default_factory=list)
    norms: dict[str, list] = field(default_factory=lambda: {n: [] for n in NORMS})
    map_sum: Any = None
    map_count: Any = None


class ActivationRecorder:
    """Forward hooks that reduce the chosen layers' outputs while the model runs.

    Use as a context manager; call ``condition(name)`` to switch the condition subsequent
    forward passes count towards, and ``set_token_mask(mask)`` before a transformer batch.
    ``layers`` are names or patterns (see resolve_layers). ``result(condition)`` returns
    {layer name: LayerStats}. NaN or inf activations raise InputError naming the layer.
    """

    def __init__(self, model, layers: Iterable[str], mean_maps: bool = True):
        self.model = model
        self.layers = resolve_layers(model, list(layers))
        self.mean_maps = mean_maps
        self._modules = dict(model.named_modules())
        self._acc: dict[str, dict[str, _Accumulator]] = {}
        self._condition = "clean"
        self._token_mask = None
        self._handles: list = []

    def __enter__(self) -> ActivationRecorder:
        for name in self.layers:
            self._handles.append(self._modules[name].register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def condition(self, name: str) -> None:
        self._condition = name

    def set_token_mask(self, mask) -> None:
        self._token_mask = mask

    def _hook(self, name: str):
        def hook(module, inputs, output):
            self._record(name, first_tensor(output))

        return hook

    def _record(self, name: str, act) -> None:
        import torch

        if not torch.isfinite(act).all():
            raise InputError(
                f"layer {name!r} produced NaN or inf activations under condition "
                f"{self._condition!r}; check the model weights and inputs"
            )
        acc = self._acc.setdefault(self._condition, {}).setdefault(name, _Accumulator())
        mask = self._token_mask if act.dim() == 3 else None
        if mask is not None and mask.shape != act.shape[:2]:
            raise InputError(f"token mask {tuple(mask.shape)} does not fit layer {name!r} output {tuple(act.shape)}")
        kind = {2: "dense", 3: "transformer"}.get(act.dim(), "conv")
        if not acc.kind:
            acc.kind, acc.shape = kind, list(act.shape[1:])
        elif kind == "transformer" and acc.shape[1] == act.shape[2]:
            acc.shape[0] = max(acc.shape[0], act.shape[1])  # batches may differ in length
        elif list(act.shape[1:]) != acc.shape:
            raise InputError(
                f"layer {name!r} changed its output shape between batches: {acc.shape} then {list(act.shape[1:])}"
            )
        for key, value in channel_norms(act, mask).items():
            acc.norms[key].append(value.cpu().numpy())
        if self.mean_maps:
            self._add_map(acc, act.detach().double(), mask)

    @staticmethod
    def _add_map(acc: _Accumulator, a, mask) -> None:
        if a.dim() == 3:
            weight = mask.to(a.dtype) if mask is not None else a.new_ones(a.shape[:2])
            total = (a * weight.unsqueeze(-1)).sum(0).cpu().numpy()  # (T, D)
            count = weight.sum(0).cpu().numpy()  # (T,)
            if acc.map_sum is None:
                acc.map_sum, acc.map_count = total, count
            else:  # pad to the longer batch
                t = max(len(acc.map_count), len(count))
                acc.map_sum = _pad_rows(acc.map_sum, t) + _pad_rows(total, t)
                acc.map_count = _pad_rows(acc.map_count, t) + _pad_rows(count, t)
        else:
            total = a.sum(0).cpu().numpy()
            acc.map_sum = total if acc.map_sum is None else acc.map_sum + total
            acc.map_count = a.shape[0] + (acc.map_count or 0)

    def result(self, condition: str) -> dict[str, LayerStats]:
        """{layer: LayerStats} for one condition, in model order."""
        if condition not in self._acc:
            raise InputError(f"nothing was recorded under condition {condition!r}")
        out = {}
        for name in self.layers:
            acc = self._acc[condition].get(name)
            if acc is None:
                raise InputError(
                    f"layer {name!r} never ran under condition {condition!r}; is it part of the forward pass?"
                )
            samples = {k: np.concatenate(v, axis=0) for k, v in acc.norms.items()}
            mean_map = None
            if self.mean_maps:
                if acc.kind == "transformer":
                    with np.errstate(invalid="ignore", divide="ignore"):
                        mean_map = acc.map_sum / acc.map_count[:, None]
                    mean_map[acc.map_count == 0] = np.nan
                    acc.shape[0] = mean_map.shape[0]
                else:
                    mean_map = acc.map_sum / acc.map_count
            out[name] = LayerStats(name=name, kind=acc.kind, shape=list(acc.shape), samples=samples, mean_map=mean_map)
        return out

    @property
    def conditions(self) -> list[str]:
        return list(self._acc)


def _pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    if a.shape[0] == rows:
        return a
    pad = [(0, rows - a.shape[0])] + [(0, 0)] * (a.ndim - 1)
    return np.pad(a, pad)


def capture(
    model,
    batches: Iterable,
    layers: Sequence[str],
    condition: str = "clean",
    recorder: ActivationRecorder | None = None,
) -> dict[str, LayerStats]:
    """Run ``model`` over ``batches`` (tensors or dicts of tensors) and return the stats of
    ``layers`` under ``condition``. Pass a ``recorder`` to collect several conditions in one."""
    import torch

    own = recorder is None
    rec = recorder or ActivationRecorder(model, layers)
    was_training = model.training
    model.eval()
    try:
        if own:
            rec.__enter__()
        rec.condition(condition)
        with torch.no_grad():
            for batch in batches:
                if isinstance(batch, dict):
                    rec.set_token_mask(batch.get("attention_mask"))
                    model(**batch)
                else:
                    rec.set_token_mask(None)
                    model(batch)
    finally:
        if own:
            rec.__exit__(None, None, None)
        model.train(was_training)
    return rec.result(condition)
