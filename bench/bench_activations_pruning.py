"""Benchmark: a full pruning curve (64 channels) of the demo CNN on the digits test set.

Compares, in one run and on the same curve:
  prefix  - hubscape's pruning_curve: the layers up to the pruned one run once, each step only
            runs the rest of the network on the masked activations (nn.Sequential models);
  hook    - pruning_curve(reuse_prefix=False): the whole model per step with a ChannelMask hook
            (the path any other model takes);
  copy    - the obvious alternative: per step deep-copy the model, zero the pruned filters'
            weights and biases, evaluate.
All three must give the same curve. Run: python3 bench/bench_activations_pruning.py
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch

from hubscape.analytics.activations.digits import load_digits_split, seeded_cnn
from hubscape.analytics.activations.pruning import pruning_curve
from hubscape.analytics.activations.trigger import PatchTrigger


def curve_by_copies(model, order, x, y, x_trig, target):
    acc, asr = [], []
    keep = y != target
    xt, xa = torch.as_tensor(x), torch.as_tensor(x_trig[keep])
    for k in range(len(order) + 1):
        pruned = copy.deepcopy(model)
        with torch.no_grad():
            pruned.conv2.weight[order[:k]] = 0
            pruned.conv2.bias[order[:k]] = 0
            acc.append(float(np.mean(pruned(xt).argmax(1).numpy() == y)))
            asr.append(float(np.mean(pruned(xa).argmax(1).numpy() == target)))
    return np.array(acc), np.array(asr)


def best_of(fn, repeats=3):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    torch.set_num_threads(1)
    data = load_digits_split(seed=0)
    trig = PatchTrigger()
    x, y = data.x_test, data.y_test
    x_trig = trig.apply(x)
    model = seeded_cnn(0).eval()
    order = np.random.default_rng(0).permutation(64)
    args = (model, "relu2", order, (x, y), (x_trig, y), trig.target, "linf")
    t_prefix, fast = best_of(lambda: pruning_curve(*args, reuse_prefix=True))
    t_hook, hooked = best_of(lambda: pruning_curve(*args, reuse_prefix=False))
    t_copy, (acc, asr) = best_of(lambda: curve_by_copies(model, order, x, y, x_trig, trig.target))
    for other_acc, other_asr in ((hooked.clean_accuracy, hooked.attack_success_rate), (acc, asr)):
        assert np.array_equal(fast.clean_accuracy, other_acc) and np.array_equal(fast.attack_success_rate, other_asr)
    n = len(order) + 1
    print(
        f"pruning curve, {n} steps x ({len(x)} clean + {int((y != trig.target).sum())} triggered images), "
        f"1 thread, best of 3"
    )
    print(f"  prefix reuse (hubscape default): {t_prefix:7.3f} s")
    print(f"  ChannelMask hook, full forward:  {t_hook:7.3f} s   ratio {t_hook / t_prefix:5.1f}x")
    print(f"  deepcopy + zeroed weights:       {t_copy:7.3f} s   ratio {t_copy / t_prefix:5.1f}x")


if __name__ == "__main__":
    main()
