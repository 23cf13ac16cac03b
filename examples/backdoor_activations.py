"""Backdoor activations: train a small CNN with a BadNets trigger, see which channels the
trigger lights up, and export the activation world as a figure.

    python examples/backdoor_activations.py [OUT_DIR]

Runs in about ten seconds on two CPU cores (needs the torch extra).
"""

import sys
from pathlib import Path

import numpy as np

import hubscape as hs
from hubscape.analytics.activations import PatchTrigger
from hubscape.analytics.activations.digits import load_digits_split, poison, seeded_cnn, train

out = Path(sys.argv[1] if len(sys.argv) > 1 else "backdoor-example")
out.mkdir(parents=True, exist_ok=True)

# A 3x3 white patch in the bottom-right corner makes the model answer 0 (BadNets).
trigger = PatchTrigger(size=3, corner="br", target=0)
data = load_digits_split(seed=0)
x_poisoned, y_poisoned, _ = poison(data.x_train, data.y_train, trigger, fraction=0.1, seed=0)
model = seeded_cnn(0, {"channels": [8, 16], "hidden": 32})
train(model, x_poisoned, y_poisoned, epochs=6, seed=0)

x = data.x_test[:300]
result = hs.activations(model, {"clean": x, "triggered": trigger.apply(x)}, model_info={"id": "digits CNN (BadNets)"})
print(result.report())

layer = result.layer_names[-1]
ratio = result.trigger_ratio(layer)
top = result.top_channels(layer, k=3)
print(f"{layer}: the trigger raises channels {top} most (l_inf x{np.round(ratio[top], 2).tolist()})")

result.save(out / "activations.safetensors")
figure = hs.export(result, out / "activations.png", size=(1200, 750), theme="paper")
print(f"wrote {out / 'activations.safetensors'} and {figure}")
