"""Benchmark: the LLM-safety hot paths on SmolLM2-135M-Instruct (the packaged GGUF), each against
the obvious way to do the same work, in one run.

  gradient cuff - one query scored with N = P = 10 (110 sampled responses of 16 tokens):
                  hubscape (all responses of a stage in one generate call, the system prompt's
                  key/value cache computed once) vs the reference's loop shape (IBM/Gradient-Cuff
                  main.py: one generate call per direction, each prompt run whole);
  safety metric - one attack-success-rate evaluation (16 harmful prompts, 16 greedy tokens), as at
                  every point of a weight-space landscape: shared prefix cache vs left-padded whole
                  prompts (the same responses are checked to agree);
  fine-tune     - 5 steps of the demo's safety fine-tune (top 10 blocks, batch 16): the lower blocks'
                  output computed once vs full forward passes with those blocks frozen (the losses
                  are checked to agree).

Run: OMP_WAIT_POLICY=PASSIVE python3 bench/bench_safety.py  (numbers go to BENCHMARKS.md)
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch

from hubscape.analytics.safety import finetune as F
from hubscape.analytics.safety.chat import GenerationSettings, chat_text, generate, load_chat_model, pad_id
from hubscape.analytics.safety.gradient_cuff import GradientCuffSettings, gaussian_directions, score_query
from hubscape.analytics.safety.perturb import ShiftedQuery
from hubscape.analytics.safety.prompts import packaged_prompts


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def gradient_cuff_reference_loop(model, tok, query, directions, settings):
    """The reference's shape: N zero-shift samples, then one generate call per direction."""
    probe = ShiftedQuery(model, tok, query, settings.sampling, prefix_cache=False)
    texts = probe.responses(np.zeros((1, probe.dim)), settings.n, seed=0)
    for j, u in enumerate(directions):
        texts += probe.responses(settings.mu * u[None], settings.n, seed=1 + j)
    return texts


def metric_left_padded(model, tok, prompts, settings):
    texts = [chat_text(tok, p) for p in prompts]
    tok.padding_side = "left"
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=settings.max_new_tokens, do_sample=False, pad_token_id=pad_id(tok))
    return tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)


def main():
    model, tok, _ = load_chat_model("smollm2")
    harmful = packaged_prompts("harmful")
    query = harmful[0]
    settings = GradientCuffSettings(all_stages=True)
    directions = gaussian_directions(model.config.hidden_size, settings.p, settings.seed)
    t_fast, _ = timed(lambda: score_query(model, tok, query, directions, settings, seed=0))
    t_loop, _ = timed(lambda: gradient_cuff_reference_loop(model, tok, query, directions, settings))
    print(
        f"gradient cuff, one query (N=P=10, 110 responses): batched + prefix cache {t_fast:.1f} s, "
        f"reference loop {t_loop:.1f} s, x{t_loop / t_fast:.2f}"
    )

    greedy = GenerationSettings(max_new_tokens=16)
    prompts = harmful[:16]
    t_cached, a = timed(lambda: generate(model, tok, prompts, greedy))
    t_padded, b = timed(lambda: metric_left_padded(model, tok, prompts, greedy))
    same = sum(x == y for x, y in zip(a, b))
    print(
        f"safety metric, 16 prompts x 16 tokens: prefix cache {t_cached:.1f} s, left-padded {t_padded:.1f} s, "
        f"x{t_padded / t_cached:.2f} ({same}/16 identical responses)"
    )

    benign = packaged_prompts("benign")
    examples = [(h, "I'm sorry, but I can't help with that.") for h in harmful[:16]]
    examples += [(b, "Here is a short answer to your question.") for b in benign[:16]]
    ft = F.FinetuneSettings(top_layers=10, steps=5, lr=1e-4, batch_size=16)
    twin = copy.deepcopy(model)
    t_split, l_split = timed(lambda: F.finetune(model, tok, examples, ft))
    F.SPLIT_FAMILIES, families = (), F.SPLIT_FAMILIES
    t_full, l_full = timed(lambda: F.finetune(twin, tok, examples, ft))
    F.SPLIT_FAMILIES = families
    gap = max(abs(x - y) for x, y in zip(l_split, l_full))
    print(
        f"fine-tune, 5 steps (top 10 of 30 blocks, batch 16): cached lower blocks {t_split:.1f} s, full passes "
        f"{t_full:.1f} s, x{t_full / t_split:.2f} (largest loss difference {gap:.2g})"
    )


if __name__ == "__main__":
    main()
