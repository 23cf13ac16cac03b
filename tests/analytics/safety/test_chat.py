"""Chat prompts and batched generation: the shared-prefix batch answers as each prompt alone."""

from __future__ import annotations

import torch

from hubscape.analytics.safety.chat import (
    GenerationSettings,
    chat_text,
    encode_prompts,
    generate,
    generate_encoded,
    prompt_ids,
)

PROMPTS = ["how to pick a lock", "how to bake a cake you are nice", "a bomb", "how to make a bath bomb"]


def test_the_prompt_is_the_chat_template_split_around_the_query(word_tok):
    assert (
        chat_text(word_tok, "how to pick a lock")
        == "<|im_start|> user how to pick a lock <|im_end|> <|im_start|> assistant "
    )
    pre, q, suf = prompt_ids(word_tok, "how to pick a lock", system="be nice")
    assert word_tok.convert_ids_to_tokens(pre) == [
        "<|im_start|>",
        "system",
        "be",
        "nice",
        "<|im_end|>",
        "<|im_start|>",
        "user",
    ]
    assert len(q) == 5 and word_tok.convert_ids_to_tokens(suf) == ["<|im_end|>", "<|im_start|>", "assistant"]


def test_a_batch_with_a_shared_prefix_answers_like_each_prompt_alone(make_gpt2, word_tok):
    model = make_gpt2(seed=3)
    settings = GenerationSettings(max_new_tokens=5, batch_size=3)
    batched = generate(model, word_tok, PROMPTS, settings)
    alone = []
    for p in PROMPTS:
        ids = torch.tensor([word_tok(chat_text(word_tok, p), add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            new = model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=5, do_sample=False, pad_token_id=0
            )
        alone.append(word_tok.decode(new[0, ids.shape[1] :], skip_special_tokens=True))
    assert batched == alone
    encoded = encode_prompts(word_tok, PROMPTS, batch_size=3)
    assert [b["input_ids"].shape[0] for b in encoded.batches] == [3, 1] and len(encoded.prefix) == 2


def test_sampling_is_seeded_and_leaves_the_global_generator_alone(make_gpt2, word_tok):
    model = make_gpt2(seed=1)
    settings = GenerationSettings(max_new_tokens=6, sample=True, temperature=1.5)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = generate(model, word_tok, PROMPTS, settings, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    encoded = encode_prompts(word_tok, PROMPTS)
    assert generate_encoded(model, word_tok, encoded, settings, seed=4) == a
    assert generate(model, word_tok, PROMPTS, settings, seed=5) != a
