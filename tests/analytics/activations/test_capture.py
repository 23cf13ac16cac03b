"""Capture against independent computations: sub-networks run by hand, HF hidden states."""

from __future__ import annotations

import numpy as np
import pytest

from hubscape.analytics.activations.capture import ActivationRecorder, capture, resolve_layers
from hubscape.core.errors import InputError


def numpy_norms(a: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample, per-channel norms of (N, C, H, W) maps, by plain numpy."""
    flat = np.abs(a.reshape(a.shape[0], a.shape[1], -1))
    return {"l1": flat.sum(-1), "l2": np.sqrt((flat**2).sum(-1)), "linf": flat.max(-1)}


def test_conv_norms_and_mean_map_match_the_subnetwork_run_by_hand(tiny_backdoor):
    import torch

    model, x = tiny_backdoor.model, tiny_backdoor.x
    batches = [torch.as_tensor(x[:70]), torch.as_tensor(x[70:130]), torch.as_tensor(x[130:])]
    stats = capture(model, batches, ["relu1", "relu2"])
    with torch.no_grad():
        hand = {
            "relu1": model[:2](torch.as_tensor(x)).numpy().astype(np.float64),
            "relu2": model[:5](torch.as_tensor(x)).numpy().astype(np.float64),
        }
    for name, act in hand.items():
        ref = numpy_norms(act)
        s = stats[name]
        assert s.kind == "conv" and s.shape == list(act.shape[1:])
        for norm in ("l1", "l2", "linf"):
            np.testing.assert_allclose(s.samples[norm], ref[norm], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(s.batch(norm), ref[norm].mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s.mean_map, act.mean(0), rtol=1e-5, atol=1e-6)
    assert stats["relu1"].samples["linf"].shape == (len(x), 4)
    assert stats["relu2"].samples["linf"].shape == (len(x), 8)


def test_conditions_are_kept_apart(tiny_backdoor):
    import torch

    model, x, trig = tiny_backdoor.model, tiny_backdoor.x, tiny_backdoor.trigger
    rec = ActivationRecorder(model, ["relu2"])
    with rec:
        capture(model, [torch.as_tensor(x)], ["relu2"], "clean", rec)
        capture(model, [torch.as_tensor(trig.apply(x))], ["relu2"], "triggered", rec)
    with torch.no_grad():
        ref = numpy_norms(model[:5](torch.as_tensor(trig.apply(x))).numpy().astype(np.float64))
    np.testing.assert_allclose(rec.result("triggered")["relu2"].samples["linf"], ref["linf"], rtol=1e-5)
    assert rec.conditions == ["clean", "triggered"]
    assert not np.allclose(rec.result("clean")["relu2"].linf, rec.result("triggered")["relu2"].linf)
    # the hooks are gone after the block: nothing more is recorded
    model(torch.as_tensor(x[:5]))
    assert rec.result("triggered")["relu2"].samples["l1"].shape[0] == len(x)


@pytest.fixture(scope="module")
def tiny_bert():
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    return BertModel(cfg).eval()


def test_transformer_norms_skip_padding_and_match_hidden_states(tiny_bert):
    import torch

    lengths = [7, 4, 10]
    ids = torch.zeros((3, 10), dtype=torch.long)
    mask = torch.zeros((3, 10), dtype=torch.long)
    gen = torch.Generator().manual_seed(3)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(1, 50, (n,), generator=gen)
        mask[i, :n] = 1
    stats = capture(tiny_bert, [{"input_ids": ids, "attention_mask": mask}], ["encoder.layer.*"])
    assert list(stats) == ["encoder.layer.0", "encoder.layer.1"]
    for i, n in enumerate(lengths):
        # independent path: each sentence alone, no padding, HF's own hidden states
        with torch.no_grad():
            out = tiny_bert(input_ids=ids[i : i + 1, :n], output_hidden_states=True)
        for li, name in enumerate(stats):
            h = np.abs(out.hidden_states[li + 1][0].numpy().astype(np.float64))  # (n, D)
            s = stats[name]
            assert s.kind == "transformer"
            np.testing.assert_allclose(s.samples["l1"][i], h.sum(0), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(s.samples["l2"][i], np.sqrt((h**2).sum(0)), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(s.samples["linf"][i], h.max(0), rtol=1e-4, atol=1e-5)
    # token 9 exists only in the third sentence, so the mean map there is that sentence's row
    with torch.no_grad():
        third = tiny_bert(input_ids=ids[2:3], output_hidden_states=True).hidden_states[2][0].numpy()
    np.testing.assert_allclose(stats["encoder.layer.1"].mean_map[9], third[9], rtol=1e-4, atol=1e-5)


def test_layer_patterns_and_unknown_names(tiny_bert):
    assert resolve_layers(tiny_bert, ["encoder.layer.*"]) == ["encoder.layer.0", "encoder.layer.1"]
    assert resolve_layers(tiny_bert, ["re:encoder\\.layer\\.\\d\\.output"]) == [
        "encoder.layer.0.output",
        "encoder.layer.1.output",
    ]
    assert "encoder.layer.1.attention.self.query" in resolve_layers(tiny_bert, ["encoder.**.query"])
    assert resolve_layers(tiny_bert, ["encoder.layer.1", "embeddings"]) == ["embeddings", "encoder.layer.1"]
    with pytest.raises(
        InputError,
        match="no layer matches 'encoder.layer.9'; available layers include "
        "encoder.layer.1, encoder.layer.0, .*47 in all",
    ):
        resolve_layers(tiny_bert, ["encoder.layer.9"])
    with pytest.raises(InputError, match="not a valid regular expression"):
        resolve_layers(tiny_bert, ["re:("])


def test_nan_activations_are_a_one_line_error(tiny_backdoor):
    import copy

    import torch

    model = copy.deepcopy(tiny_backdoor.model)
    with torch.no_grad():
        model.conv2.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="layer 'relu2' produced NaN or inf activations under condition 'clean'"):
        capture(model, [torch.as_tensor(tiny_backdoor.x[:10])], ["relu1", "relu2"])
