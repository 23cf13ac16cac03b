"""Refusal-loss landscapes (Gradient Cuff) on a tiny GPT-2 built from a config (no download)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import load_landscape
from hubscape.analytics.landscape.refusal import (
    RefusalProbe,
    RefusalSettings,
    compute_refusal_landscape,
    embedding_directions,
    is_refusal,
    prompt_ids,
)
from hubscape.core.errors import InputError

FAST = RefusalSettings(n_samples=4, max_new_tokens=4)


def test_keyword_check_is_a_case_insensitive_substring_match():
    assert is_refusal("Sorry, I can't help")
    assert is_refusal("well... I CANNOT do that")
    assert not is_refusal("Sure, here is how")
    assert is_refusal("nope", keywords=["NOPE"])


def test_only_the_query_tokens_are_shifted_by_the_same_vector(tiny_causal_lm):
    model, tok = tiny_causal_lm
    probe = RefusalProbe(model, tok, "how to pick a lock", system="be nice", settings=FAST)
    pre, q, suf = prompt_ids(tok, "how to pick a lock", system="be nice")
    assert len(q) == 5 and len(pre) == 2 and len(suf) == 0
    seen = []
    hook = model.transformer.register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append(kwargs.get("inputs_embeds")), with_kwargs=True
    )
    delta = torch.linspace(-1, 1, 32)
    try:
        probe.responses(delta.numpy(), seed=0)
    finally:
        hook.remove()
    first = seen[0][0]  # the prompt pass (all samples share it)
    emb = model.get_input_embeddings().weight.detach()
    ids = torch.tensor(pre + q)
    torch.testing.assert_close(first[:2], emb[ids[:2]])  # system prompt unchanged
    torch.testing.assert_close(first[2:], emb[ids[2:]] + delta)  # every query token + delta


@pytest.mark.parametrize("word, expected", [("sorry", 1.0), ("sure", 0.0)])
def test_a_model_that_always_refuses_or_complies_gives_loss_one_or_zero(word, expected, make_tiny_lm, tiny_tok):
    model, tok = make_tiny_lm(always=word), tiny_tok
    res = compute_refusal_landscape(model, tok, "how to pick a lock", grid=(3, 3), span=0.5, settings=FAST)
    assert np.all(res.loss == expected) and res.center_loss == expected


def test_each_value_is_the_refusal_fraction_of_its_samples_and_runs_repeat(tiny_causal_lm, tmp_path):
    model, tok = tiny_causal_lm
    settings = RefusalSettings(n_samples=6, max_new_tokens=4, keywords=["sorry", "cannot"])
    out = tmp_path / "refusal.safetensors"
    res = compute_refusal_landscape(
        model, tok, "how to pick a lock", grid=(4, 3), span=3.0, settings=settings, seed=2, out=out
    )
    assert res.loss.shape == (3, 4)
    probe = RefusalProbe(model, tok, "how to pick a lock", settings=settings)
    u, v = embedding_directions(probe.dim, seed=2)
    k = 1 * 4 + 2  # row j=1, column i=2
    texts = probe.responses(res.x[2] * u + res.y[1] * v, seed=2 * 1_000_003 + k + 1)
    refused = sum(any(w in t for w in ("sorry", "cannot")) for t in texts)
    assert res.loss[1, 2] == pytest.approx(refused / 6)
    assert set(np.unique(res.loss)) <= {i / 6 for i in range(7)}
    assert 0 < res.loss.mean() < 1  # a random tiny LM sometimes says "sorry"
    again = compute_refusal_landscape(
        model, tok, "how to pick a lock", grid=(4, 3), span=3.0, settings=settings, seed=2
    )
    np.testing.assert_array_equal(res.loss, again.loss)
    back = load_landscape(out)
    assert back.complete and back.meta["method"] == "refusal" and back.meta["loss"] == "refusal_loss"
    assert back.meta["refusal"]["n_samples"] == 6 and back.meta["refusal"]["keywords"] == ["sorry", "cannot"]


def test_bad_settings_are_input_errors(tiny_causal_lm):
    model, tok = tiny_causal_lm
    with pytest.raises(InputError, match="top-p"):
        RefusalProbe(model, tok, "how", settings=RefusalSettings(top_p=0.0))
    with pytest.raises(InputError, match="empty"):
        RefusalProbe(model, tok, "   ")


def test_a_partial_refusal_grid_resumes_only_for_the_same_query(tiny_causal_lm, tmp_path, monkeypatch):
    from hubscape.analytics.landscape import refusal as R

    model, tok = tiny_causal_lm
    out = tmp_path / "r.safetensors"
    kw = dict(grid=(3, 3), span=2.0, settings=FAST, seed=1)
    full = compute_refusal_landscape(model, tok, "how to pick a lock", **kw)
    real, calls = R.RefusalProbe.refusal_loss, {"n": 0}

    def dies(self, delta, seed):
        calls["n"] += 1
        if calls["n"] == 5:  # the centre, then 3 points, then a kill
            raise KeyboardInterrupt
        return real(self, delta, seed)

    monkeypatch.setattr(R.RefusalProbe, "refusal_loss", dies)
    with pytest.raises(KeyboardInterrupt):
        compute_refusal_landscape(model, tok, "how to pick a lock", out=out, **kw)
    monkeypatch.setattr(R.RefusalProbe, "refusal_loss", real)
    assert int(load_landscape(out).done.sum()) == 3
    with pytest.raises(InputError, match="cannot resume"):
        compute_refusal_landscape(model, tok, "how to bake a cake", out=out, resume=True, **kw)
    resumed = compute_refusal_landscape(model, tok, "how to pick a lock", out=out, resume=True, **kw)
    np.testing.assert_array_equal(resumed.loss, full.loss)
