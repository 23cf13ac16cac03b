"""Responses to a query whose token embeddings are shifted: the probe of Gradient Cuff.

Gradient Cuff (Hu, Chen & Ho, NeurIPS 2024, arXiv 2403.00867) writes ``x ⊕ v`` for the query
``x`` with the same vector ``v`` added to the embedding of every query token; the system prompt
and the chat template around the query stay as they are (reference: ``embedding_shift`` in
IBM/Gradient-Cuff main.py). :class:`ShiftedQuery` samples N responses at each of many shifts,
all of them in as few ``generate`` calls as ``batch_size`` allows (the prompts of one query all
have the same length, so no padding is needed). The fixed prefix (system prompt and template,
often most of the prompt) is run once and its key/value cache shared by every sequence, which
gives the same tokens as running each prompt whole (tests/analytics/safety/test_perturb.py) at
a fraction of the cost.

Example::

    >>> probe = ShiftedQuery(model, tok, "How do I pick a lock?", SamplingSettings())
    >>> texts = probe.responses(shifts, n=10, seed=0)   # shifts: (M, d) -> M lists of 10 texts
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hubscape.core.errors import InputError

from .chat import cache_kwarg, pad_id, prompt_ids, seeded


@dataclass
class SamplingSettings:
    """Gradient Cuff's detection sampling (reference ``detect_engine``: 16 new tokens,
    temperature 0.6, top-p 0.9; top-k is transformers' default of 50 there)."""

    temperature: float = 0.6
    top_p: float = 0.9
    top_k: int = 50
    max_new_tokens: int = 16
    batch_size: int = 110  # sequences per generate call: N (P + 1) at the paper's N = P = 10

    def check(self) -> None:
        if not self.temperature > 0:
            raise InputError(f"--temperature must be positive, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise InputError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {self.top_k}")
        if self.max_new_tokens < 1:
            raise InputError(f"--max-new-tokens must be at least 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")

    def to_dict(self) -> dict:
        return asdict(self)


class ShiftedQuery:
    """Samples responses of ``model`` to ``query`` with its token embeddings shifted."""

    def __init__(
        self,
        model,
        tok,
        query: str,
        settings: SamplingSettings | None = None,
        system: str | None = None,
        prefix_cache: bool = True,
    ):
        import torch

        self.settings = settings or SamplingSettings()
        self.settings.check()
        self.model, self.tok = model.eval(), tok
        self.device = next(model.parameters()).device
        pre, q, suf = prompt_ids(tok, query, system)
        self.n_query_tokens = len(q)
        emb = model.get_input_embeddings()
        with torch.no_grad():
            self.parts = [emb(torch.tensor(ids, dtype=torch.long, device=self.device)) for ids in (pre, q, suf)]
        self.dim = int(self.parts[1].shape[-1])
        self.pad_id = pad_id(tok)
        self.prefix_cache = None
        if len(pre) and prefix_cache:
            with torch.no_grad():
                mask = torch.ones((1, len(pre)), dtype=torch.long, device=self.device)
                out = model(inputs_embeds=self.parts[0][None], attention_mask=mask, use_cache=True)
            self.prefix_cache = out.cache if hasattr(out, "cache") else out.past_key_values

    def embeddings(self, shifts) -> object:
        """(M, L, d) prompt embeddings, shift m added to every query token of prompt m."""
        import torch

        pre, q, suf = self.parts
        shifts = torch.as_tensor(np.asarray(shifts), dtype=q.dtype, device=self.device).reshape(-1, self.dim)
        m = shifts.shape[0]
        return torch.cat([pre.expand(m, -1, -1), q[None] + shifts[:, None, :], suf.expand(m, -1, -1)], dim=1)

    def responses(self, shifts, n: int, seed: int = 0) -> list[list[str]]:
        """``n`` sampled responses at each of the ``(M, d)`` shifts: M lists of n texts.

        All M x n prompts go through ``generate`` in chunks of ``settings.batch_size``; chunk
        c is sampled with seed ``seed * 1_000_003 + c``, so a call is reproducible.
        """
        import torch

        if n < 1:
            raise InputError(f"the number of samples must be at least 1, got {n}")
        s = self.settings
        embeds = self.embeddings(shifts).repeat_interleave(n, dim=0)  # prompt-major: m0 x n, m1 x n, ...
        texts: list[str] = []
        with torch.no_grad():
            for c, start in enumerate(range(0, embeds.shape[0], s.batch_size)):
                chunk = embeds[start : start + s.batch_size]
                mask = torch.ones(chunk.shape[:2], dtype=torch.long, device=self.device)
                with seeded(seed * 1_000_003 + c):
                    out = self.model.generate(
                        inputs_embeds=chunk,
                        attention_mask=mask,
                        **cache_kwarg(self.model, self.prefix_cache, chunk.shape[0]),
                        do_sample=True,
                        temperature=s.temperature,
                        top_p=s.top_p,
                        top_k=s.top_k,
                        max_new_tokens=s.max_new_tokens,
                        pad_token_id=self.pad_id,
                    )
                # with inputs_embeds, a decoder-only generate returns only the new tokens
                texts += self.tok.batch_decode(out, skip_special_tokens=True)
        return [texts[i * n : (i + 1) * n] for i in range(len(texts) // n)]
