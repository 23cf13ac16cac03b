"""Pruning: masked channels really are zero, and curves equal an independent recomputation."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from hubscape.analytics.activations.capture import ActivationRecorder, capture
from hubscape.analytics.activations.pruning import ChannelMask, default_layer, pruning_curve, rank_channels
from hubscape.core.errors import InputError


def test_default_layer_is_the_last_conv_activation(tiny_backdoor):
    assert default_layer(tiny_backdoor.model) == "relu2"


def test_masked_channels_produce_zero_and_the_others_are_untouched(tiny_backdoor):
    import torch

    model, x = tiny_backdoor.model, torch.as_tensor(tiny_backdoor.x[:20])
    with torch.no_grad():
        before = model[:5](x)
        seen = {}
        hook = model.pool2.register_forward_hook(lambda m, i, o: seen.update({"in": i[0].clone()}))
        with ChannelMask(model, "relu2") as mask:
            mask.pruned = [1, 6]
            model(x)
        hook.remove()
        after = model[:5](x)
    masked = seen["in"]
    assert torch.all(masked[:, [1, 6]] == 0)
    keep = [c for c in range(8) if c not in (1, 6)]
    assert torch.equal(masked[:, keep], before[:, keep])
    assert before[:, [1, 6]].abs().sum() > 0  # they were not zero to begin with
    assert torch.equal(after, before)  # the hook is gone after the block


def zeroed_copy(model, channels):
    """The independent way to prune: zero conv2's filters (weights and bias) of ``channels``."""
    import torch

    pruned = copy.deepcopy(model)
    with torch.no_grad():
        pruned.conv2.weight[channels] = 0
        pruned.conv2.bias[channels] = 0
    return pruned


def numpy_rates(model, x, x_trig, y, target):
    import torch

    with torch.no_grad():
        p_clean = model(torch.as_tensor(x)).numpy().argmax(1)
        p_trig = model(torch.as_tensor(x_trig)).numpy().argmax(1)
    other = y != target
    return (p_clean == y).sum() / len(y), (p_trig[other] == target).sum() / other.sum()


@pytest.mark.parametrize("reuse_prefix", [True, False])
def test_curve_equals_zeroed_weights_recomputed_independently(tiny_backdoor, reuse_prefix):
    model, x, y, trig = tiny_backdoor.model, tiny_backdoor.x, tiny_backdoor.y, tiny_backdoor.trigger
    x_trig = trig.apply(x)
    order = np.array([5, 2, 7, 0, 3, 1, 6, 4])
    curve = pruning_curve(model, "relu2", order, (x, y), (x_trig, y), trig.target, "linf", reuse_prefix=reuse_prefix)
    assert curve.pruned.tolist() == list(range(9))
    for k in range(9):
        acc, asr = numpy_rates(zeroed_copy(model, order[:k].tolist()), x, x_trig, y, trig.target)
        assert curve.clean_accuracy[k] == pytest.approx(acc, abs=1e-12)
        assert curve.attack_success_rate[k] == pytest.approx(asr, abs=1e-12)


def test_all_channels_pruned_gives_a_constant_prediction(tiny_backdoor):
    model, x, y, trig = tiny_backdoor.model, tiny_backdoor.x, tiny_backdoor.y, tiny_backdoor.trigger
    curve = pruning_curve(model, "relu2", np.arange(8), (x, y), (trig.apply(x), y), trig.target, "mean")
    import torch

    with torch.no_grad():  # with relu2 all zero the logits are those of a zero feature map
        const = int(model[5:](torch.zeros((1, 8, 8, 8))).argmax())
    assert curve.clean_accuracy[-1] == pytest.approx(np.mean(y == const))


def test_rankings(tiny_backdoor):
    import torch

    model, x, trig = tiny_backdoor.model, tiny_backdoor.x, tiny_backdoor.trigger
    rec = ActivationRecorder(model, ["relu2"])
    with rec:
        capture(model, [torch.as_tensor(x)], ["relu2"], "clean", rec)
        capture(model, [torch.as_tensor(trig.apply(x))], ["relu2"], "triggered", rec)
    clean, trig_stats = rec.result("clean")["relu2"], rec.result("triggered")["relu2"]
    order, scores = rank_channels("linf", clean, trig_stats, rank_by="difference")
    np.testing.assert_allclose(scores, trig_stats.linf - clean.linf)
    assert np.all(np.diff(scores[order]) <= 0)
    order, scores = rank_channels("linf", clean, trig_stats, rank_by="triggered")
    assert order[0] == np.argmax(trig_stats.linf)
    order, scores = rank_channels("mean", clean, trig_stats)
    np.testing.assert_allclose(scores, clean.mean_map.mean(axis=(1, 2)))
    assert np.all(np.diff(scores[order]) >= 0)
    with pytest.raises(InputError, match="needs triggered inputs"):
        rank_channels("linf", clean, None)
    with pytest.raises(InputError, match="unknown pruning method"):
        rank_channels("l2", clean, trig_stats)
