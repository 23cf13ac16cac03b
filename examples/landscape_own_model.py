"""The loss landscape of your own model: train a small MLP on scikit-learn's digits, then
slice its loss along two filter-normalized random directions (Li et al. 2018) and export it.

    python examples/landscape_own_model.py [OUT_DIR]

About 15 s on two CPU cores (needs the torch extra).
"""

import sys
from pathlib import Path

import torch
from sklearn.datasets import load_digits

import hubscape as hs

out = Path(sys.argv[1] if len(sys.argv) > 1 else "landscape-example")
out.mkdir(parents=True, exist_ok=True)

digits = load_digits()
x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
y = torch.tensor(digits.target)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for _ in range(150):
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()

result = hs.landscape(
    model,
    [(x, y)],
    torch.nn.functional.cross_entropy,
    directions="filter",
    grid=(31, 31),
    span=1.0,
    metrics=["accuracy"],
    out=out / "landscape.safetensors",  # saved after every chunk: resumable with resume=True
)
print(result.report())

figure = hs.export(result, out / "landscape.png", size=(1200, 750), theme="paper", log_loss=True)
print(f"wrote {out / 'landscape.safetensors'} and {figure}")
