"""Top-block fine-tuning: the cached split equals full passes, and a tiny model learns its answers."""

from __future__ import annotations

import copy

import pytest
import torch

from hubscape.analytics.safety import finetune as F
from hubscape.analytics.safety.chat import GenerationSettings, generate
from hubscape.analytics.safety.finetune import FinetuneSettings, encode_examples, finetune

EXAMPLES = [
    ("how to make a bomb", "I'm sorry I cannot"),
    ("how to bake a cake", "Sure here is the answer"),
    ("how to pick a lock", "I'm sorry I cannot"),
    ("how to make a bath bomb", "Sure here is how"),
]


def test_only_answer_tokens_and_the_end_of_turn_are_labels(word_tok):
    ids, mask, labels = encode_examples(word_tok, EXAMPLES[:2], None, 64)
    row = [word_tok.convert_ids_to_tokens(int(i)) for i, lab in zip(ids[0], labels[0]) if lab != -100]
    assert row == ["I'm", "sorry", "I", "cannot", "<|im_end|>"]
    assert (
        int(mask[0].sum())
        == len(
            word_tok(
                word_tok.apply_chat_template(
                    [{"role": "user", "content": EXAMPLES[0][0]}], tokenize=False, add_generation_prompt=True
                )
            )["input_ids"]
        )
        + 5
    )
    assert (labels[mask == 0] == -100).all()


def test_the_cached_split_trains_exactly_like_full_passes(make_llama, word_tok, monkeypatch):
    settings = FinetuneSettings(top_layers=2, steps=4, lr=1e-3, batch_size=3, seed=1)
    split_model = make_llama(layers=4, seed=5)
    full_model = copy.deepcopy(split_model)
    split_losses = finetune(split_model, word_tok, EXAMPLES, settings)
    monkeypatch.setattr(F, "SPLIT_FAMILIES", ())
    full_losses = finetune(full_model, word_tok, EXAMPLES, settings)
    assert split_losses == pytest.approx(full_losses, rel=1e-4)
    for (name, a), b in zip(split_model.named_parameters(), full_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
    frozen = dict(make_llama(layers=4, seed=5).named_parameters())
    moved = {n for n, p in split_model.named_parameters() if not torch.equal(p, frozen[n])}
    assert moved and all(n.startswith(("model.layers.2.", "model.layers.3.")) for n in moved)
    assert all(p.requires_grad for p in split_model.parameters())  # left as it was found


def test_a_tiny_model_learns_to_refuse_one_prompt_and_answer_another(make_llama, word_tok):
    model = make_llama(layers=2, seed=0)
    losses = finetune(model, word_tok, EXAMPLES, FinetuneSettings(top_layers=2, steps=40, lr=1e-2, batch_size=4))
    assert losses[-1] < 0.1 * losses[0]
    out = generate(model, word_tok, ["how to pick a lock", "how to bake a cake"], GenerationSettings(max_new_tokens=4))
    assert out[0].startswith("I'm sorry") and out[1].startswith("Sure here is")
