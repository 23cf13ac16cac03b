"""Grad-CAM (Selvaraju et al. 2017): where in the input a conv layer sees evidence for a class.

For a target class c and a conv layer with activation maps A_k (k = channel), the weight of
channel k is the spatial mean of d score_c / d A_k; the map is ReLU(sum_k w_k A_k),
upsampled bilinearly to the input size and scaled to [0, 1] per sample (an all-zero map stays
zero: the layer holds no positive evidence for the class).

Example::

    >>> maps = grad_cam(model, x, layer="features.relu2", target_class=0)   # (N, H, W)
"""

from __future__ import annotations

import numpy as np

from hubscape.core.errors import InputError

from .capture import _few, first_tensor, layer_names


def grad_cam(model, inputs, layer: str, target_class: int | None = None, batch_size: int = 256) -> np.ndarray:
    """Grad-CAM maps (N, H, W) in [0, 1] of ``inputs`` (N, C, H, W) at conv ``layer``.

    ``target_class`` None uses each sample's predicted class.
    """
    import torch
    import torch.nn.functional as F

    modules = dict(model.named_modules())
    if layer not in modules:
        raise InputError(f"no layer named {layer!r}; available layers include {_few(layer_names(model), layer)}")
    x_all = torch.as_tensor(inputs, dtype=torch.float32)
    if x_all.dim() != 4:
        raise InputError(f"Grad-CAM needs image inputs (N, C, H, W), got shape {tuple(x_all.shape)}")
    store: dict = {}

    def hook(module, args, output):
        act = first_tensor(output)
        if act.dim() != 4:
            raise InputError(
                f"Grad-CAM needs a conv layer with (N, C, H, W) output; {layer!r} gives {tuple(act.shape)}"
            )
        act.retain_grad()
        store["act"] = act

    was_training = model.training
    model.eval()
    handle = modules[layer].register_forward_hook(hook)
    maps = []
    try:
        for start in range(0, len(x_all), batch_size):
            x = x_all[start : start + batch_size]
            model.zero_grad(set_to_none=True)
            with torch.enable_grad():
                logits = model(x)
                n_classes = logits.shape[1]
                if target_class is None:
                    cls = logits.argmax(1)
                else:
                    if not 0 <= int(target_class) < n_classes:
                        raise InputError(f"target class {target_class} is outside 0..{n_classes - 1}")
                    cls = torch.full((len(x),), int(target_class), dtype=torch.long)
                score = logits.gather(1, cls[:, None]).sum()
                score.backward()
            act, grad = store["act"], store["act"].grad
            weights = grad.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
            cam = F.relu((weights * act).sum(1, keepdim=True)).detach()  # (N, 1, h, w)
            cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
            peak = cam.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
            maps.append((cam / peak).double().numpy())
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return np.concatenate(maps, axis=0)
