"""Activation maps: per-channel norms, Grad-CAM and backdoor pruning (needs torch, imported lazily).

Importing this package does not import torch. The Python API, for any ``torch.nn.Module``::

    from hubscape.analytics.activations import (ActivationRecorder, capture, grad_cam,
                                                analyze_images, PatchTrigger)

    result = activation_maps(model, {"clean": x, "triggered": x_trig})   # hs.activations
    result.top_channels("features.4")                             # channels the trigger raises
    stats = capture(model, [x_batch], ["features.*"])            # {layer: LayerStats}
    stats["features.4"].linf                                      # (C,) batch mean of l_inf
    maps = grad_cam(model, x, "features.4", target_class=0)       # (N, H, W) in [0, 1]
    result = analyze_images(model, x, y, trigger=PatchTrigger(target=0), prune=["linf", "mean"])
    result.save("acts.safetensors")                                # bundle kind "activations"

Modules: :mod:`.capture` (forward hooks, l1/l2/l_inf per sample and channel, mean maps),
:mod:`.gradcam`, :mod:`.pruning` (l_inf pruning after Cheng et al. 2020 and fine-pruning),
:mod:`.trigger` (BadNets patch), :mod:`.images` (the whole analysis of an image classifier),
:mod:`.text` (Hugging Face encoders such as all-MiniLM-L6-v2), :mod:`.digits` and
:mod:`.backdoor` (the ``hubscape demo backdoor`` experiment), :mod:`.maps` (any model,
inputs by condition), :mod:`.result` (ActivationResult, its bundle).
"""

from .capture import ActivationRecorder, LayerStats, capture, channel_norms, resolve_layers
from .gradcam import grad_cam
from .images import analyze_images
from .maps import activation_maps
from .pruning import ChannelMask, PruningCurve, default_layer, pruning_curve, rank_channels
from .result import ActivationResult, GradCam
from .trigger import PatchTrigger

__all__ = [
    "ActivationRecorder",
    "ActivationResult",
    "ChannelMask",
    "GradCam",
    "LayerStats",
    "PatchTrigger",
    "PruningCurve",
    "activation_maps",
    "analyze_images",
    "capture",
    "channel_norms",
    "default_layer",
    "grad_cam",
    "pruning_curve",
    "rank_channels",
    "resolve_layers",
]
