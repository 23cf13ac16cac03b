"""Activation maps of any torch model on inputs grouped by condition: the notebook entry point.

Example::

    >>> result = activation_maps(model, {"clean": x, "triggered": trigger.apply(x)}, layers=["features.*"])
    >>> result.top_channels("features.4")        # the channels the trigger raises most
    >>> hs.show(result)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hubscape.core.errors import InputError

from .capture import ActivationRecorder, capture, resolve_layers
from .images import conv_activation_layers
from .result import ActivationResult


def activation_maps(
    model,
    inputs: Any,
    layers: Sequence[str] | None = None,
    batch_size: int = 256,
    model_info: dict[str, Any] | None = None,
) -> ActivationResult:
    """Per-layer, per-channel l1, l2 and l_inf norms of ``model``'s activations, per condition.

    ``inputs`` is one input (an array or tensor: the condition "clean") or a mapping
    ``{condition: input}``, where an input is an array/tensor (split into ``batch_size``
    batches), or an iterable of batches (tensors, or dicts of tensors for Hugging Face models).
    ``layers`` are names, globs or regexes (``hs.activations(m, x, layers=["layer*.relu"])``);
    the default is every conv layer's activation.
    """
    import torch

    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    conditions = dict(inputs) if isinstance(inputs, Mapping) else {"clean": inputs}
    if not conditions:
        raise InputError("inputs is empty: give an array or {condition: inputs}")
    names = resolve_layers(model, layers) if layers else conv_activation_layers(model)
    recorder = ActivationRecorder(model, names)
    with recorder:
        for cond, data in conditions.items():
            capture(model, _batches(data, batch_size, torch), names, str(cond), recorder)
    stats = {str(cond): recorder.result(str(cond)) for cond in conditions}
    n = {cond: int(next(iter(s.values())).samples["linf"].shape[0]) for cond, s in stats.items()}
    return ActivationResult(
        model=model_info or {"id": type(model).__name__, "revision": None},
        layers=stats,
        data={"n": n},
        provenance={"function": "hubscape.analytics.activations.activation_maps"},
    )


def _batches(data: Any, batch_size: int, torch) -> Iterable:
    if isinstance(data, (np.ndarray, torch.Tensor)):
        tensor = torch.as_tensor(data)
        if tensor.is_floating_point():
            tensor = tensor.float()
        if tensor.ndim == 0 or len(tensor) == 0:
            raise InputError(f"an input must hold at least one sample, got shape {tuple(tensor.shape)}")
        return [tensor[i : i + batch_size] for i in range(0, len(tensor), batch_size)]
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise InputError(f"an input is an array, a tensor or a list of batches, got {type(data).__name__}")
    return data
