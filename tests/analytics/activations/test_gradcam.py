"""Grad-CAM on a model whose class evidence is confined to known regions."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from hubscape.analytics.activations.gradcam import grad_cam
from hubscape.core.errors import InputError


def region_model():
    """Two 1x1-conv channels copy the two input channels; GAP; class k reads channel k only."""
    import torch
    import torch.nn as nn

    model = nn.Sequential(
        OrderedDict(
            [
                ("conv", nn.Conv2d(2, 2, 1)),
                ("relu", nn.ReLU()),
                ("gap", nn.AdaptiveAvgPool2d(1)),
                ("flat", nn.Flatten()),
                ("fc", nn.Linear(2, 2)),
            ]
        )
    )
    with torch.no_grad():
        model.conv.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        model.conv.bias.zero_()
        model.fc.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
        model.fc.bias.zero_()
    return model.eval()


def two_blobs(n=3, size=12):
    """Channel 0: a bright blob top-left; channel 1: a blob bottom-right; zero elsewhere."""
    rng = np.random.default_rng(0)
    x = np.zeros((n, 2, size, size), dtype=np.float32)
    x[:, 0, 1:4, 1:4] = rng.uniform(0.5, 1.0, (n, 3, 3))
    x[:, 1, 8:11, 7:11] = rng.uniform(0.5, 1.0, (n, 3, 4))
    return x


def test_each_class_lights_up_its_own_region():
    model, x = region_model(), two_blobs()
    top_left = np.zeros((12, 12), bool)
    top_left[1:4, 1:4] = True
    bottom_right = np.zeros((12, 12), bool)
    bottom_right[8:11, 7:11] = True
    for cls, inside, outside in ((0, top_left, bottom_right), (1, bottom_right, top_left)):
        maps = grad_cam(model, x, "relu", target_class=cls)
        assert maps.shape == (3, 12, 12)
        assert np.allclose(maps.max(axis=(1, 2)), 1.0)
        assert (maps[:, inside] > 0.45).all()
        assert np.all(maps[:, outside] == 0)
        assert np.all(maps[:, ~(inside | outside)] == 0)


def test_equals_class_activation_mapping_for_a_gap_head():
    """With GAP + linear head, d score / d A_k = w_ck / (H W): Grad-CAM is CAM (Zhou et al.)."""
    import torch

    model = region_model()
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor([[1.5, -0.5], [0.25, 2.0]]))
    x = two_blobs() + np.float32(0.1)
    w = model.fc.weight.detach().numpy().astype(np.float64)
    for cls in (0, 1):
        cam = np.maximum(np.einsum("k,nkhw->nhw", w[cls], x.astype(np.float64)), 0)
        cam /= cam.max(axis=(1, 2), keepdims=True)
        np.testing.assert_allclose(grad_cam(model, x, "relu", target_class=cls), cam, rtol=1e-5, atol=1e-6)


def test_predicted_class_by_default_and_bad_arguments():
    model, x = region_model(), two_blobs()
    x[:, 1] *= 5  # channel 1 (class 1, weight 3) dominates: every prediction is class 1
    np.testing.assert_allclose(grad_cam(model, x, "relu"), grad_cam(model, x, "relu", target_class=1))
    with pytest.raises(InputError, match="target class 7 is outside 0..1"):
        grad_cam(model, x, "relu", target_class=7)
    with pytest.raises(InputError, match="no layer named 'relu9'"):
        grad_cam(model, x, "relu9", target_class=0)
    with pytest.raises(InputError, match="needs a conv layer"):
        grad_cam(model, x, "flat", target_class=0)
