"""Chat prompts and batched generation for causal LMs (transformers), seeded and reproducible.

A query is put in the model's chat template as the user turn, after the system prompt if one
is given (a template with a default system prompt, like SmolLM2's, inserts its own otherwise),
followed by the generation prompt. Without a chat template the prompt is
``system + "\\n" + query + "\\n"``.

Sampling runs inside ``torch.random.fork_rng`` seeded per call, so results do not depend on
(and do not disturb) the caller's random state.

Example::

    >>> texts = generate(model, tok, ["How do I bake bread?"], GenerationSettings(max_new_tokens=24))
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from hubscape.core.errors import InputError

_PLACEHOLDER = "\x00QUERY\x00"


@dataclass
class GenerationSettings:
    """How responses are generated: greedy (``sample`` False) or sampled."""

    max_new_tokens: int = 32
    sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None  # None: no top-k cut
    batch_size: int = 32  # sequences per generate call

    def check(self) -> None:
        if self.max_new_tokens < 1:
            raise InputError(f"--max-new-tokens must be at least 1, got {self.max_new_tokens}")
        if self.sample and not self.temperature > 0:
            raise InputError(f"--temperature must be positive, got {self.temperature}")
        if self.sample and not 0 < self.top_p <= 1:
            raise InputError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.top_k is not None and self.top_k < 1:
            raise InputError(f"--top-k must be at least 1, got {self.top_k}")
        if self.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")

    def generate_kwargs(self, pad_id: int) -> dict:
        kw = {"max_new_tokens": self.max_new_tokens, "pad_token_id": pad_id, "do_sample": self.sample}
        if self.sample:
            kw.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k or 0)
        else:  # greedy: neutral sampling fields, so a model's generation_config cannot warn or interfere
            kw.update(temperature=None, top_p=None, top_k=None)
        return kw

    def to_dict(self) -> dict:
        return asdict(self)


def chat_text(tok, query: str, system: str | None = None) -> str:
    """The full prompt text for ``query`` (see the module docstring)."""
    prefix, suffix = prompt_frame(tok, system)
    return prefix + query + suffix


def prompt_frame(tok, system: str | None = None) -> tuple[str, str]:
    """The text before and after the query in the model's prompt."""
    if getattr(tok, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": _PLACEHOLDER}
        ]
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prefix, found, suffix = text.partition(_PLACEHOLDER)
        if not found:
            raise InputError("the tokenizer's chat template drops the user message")
        return prefix, suffix
    return (system + "\n" if system else ""), "\n"


def prompt_ids(tok, query: str, system: str | None = None) -> tuple[list[int], list[int], list[int]]:
    """Token ids of the fixed prefix, the query and the fixed suffix of the prompt, each
    tokenized on its own (as Gradient Cuff's reference does), so the query's tokens can be
    perturbed alone."""
    if not query.strip():
        raise InputError("the query is empty")
    prefix, suffix = prompt_frame(tok, system)

    def ids(s: str) -> list[int]:
        return list(tok(s, add_special_tokens=False)["input_ids"]) if s else []

    q = ids(query)
    if not q:
        raise InputError(f"the query {query[:40]!r} tokenizes to nothing")
    return ids(prefix), q, ids(suffix)


def pad_id(tok) -> int:
    pid = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    if pid is None:
        raise InputError("the tokenizer has neither a pad nor an end-of-sequence token")
    return int(pid)


@contextlib.contextmanager
def seeded(seed: int):
    """torch's global RNG seeded for the block and restored afterwards."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@dataclass
class EncodedPrompts:
    """Chat prompts tokenized once, to be answered many times (a weight-space grid asks the same
    prompts at every point): the shared prefix (system prompt and template before the query)
    and batches of the rest, left-padded so that every prompt ends at the last position."""

    prefix: list[int]
    batches: list[dict]


def encode_prompts(tok, prompts: Sequence[str], system: str | None = None, batch_size: int = 32) -> EncodedPrompts:
    """The prompts' shared prefix and their padded remainders (see :class:`EncodedPrompts`)."""
    import torch

    if not prompts:
        raise InputError("no prompts to generate from")
    parts = [prompt_ids(tok, p, system) for p in prompts]
    prefix = parts[0][0]
    rests = [q + suf for _, q, suf in parts]
    batches = []
    for i in range(0, len(rests), batch_size):
        chunk = rests[i : i + batch_size]
        width = max(len(r) for r in chunk)
        ids = torch.full((len(chunk), width), pad_id(tok), dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, r in enumerate(chunk):
            ids[row, width - len(r) :] = torch.tensor(r)
            mask[row, width - len(r) :] = 1
        batches.append({"input_ids": ids, "attention_mask": mask})
    return EncodedPrompts(prefix, batches)


def prefix_cache(model, prefix_ids: Sequence[int]):
    """The key/value cache of ``prefix_ids`` under the model's current weights (None if empty)."""
    import torch

    if not prefix_ids:
        return None
    device = next(model.parameters()).device
    ids = torch.tensor([list(prefix_ids)], dtype=torch.long, device=device)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
    return out.cache if hasattr(out, "cache") else out.past_key_values


def cache_kwarg(model, cache, batch: int) -> dict:
    """A copy of a batch-1 ``cache`` repeated for ``batch`` sequences, as generate's keyword
    (``cache`` in recent transformers, ``past_key_values`` before)."""
    if cache is None:
        return {}
    cache = copy.deepcopy(cache)
    cache.batch_repeat_interleave(batch)
    name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    return {name: cache}


def generate_encoded(model, tok, prompts: EncodedPrompts, settings: GenerationSettings, seed: int = 0) -> list[str]:
    """The new text of every prompt (from :func:`encode_prompts`), in order. The prefix runs once
    and its cache is shared by every sequence: [prefix][padding][query + suffix], the padding
    masked and the positions counted over real tokens, as if each prompt ran alone."""
    import torch

    device = next(model.parameters()).device
    kwargs = settings.generate_kwargs(pad_id(tok))
    cache = prefix_cache(model, prompts.prefix)
    head = torch.tensor(prompts.prefix, dtype=torch.long, device=device)
    out: list[str] = []
    with torch.no_grad():
        for b, batch in enumerate(prompts.batches):
            n = batch["input_ids"].shape[0]
            ids = torch.cat([head.expand(n, -1), batch["input_ids"].to(device)], dim=1)
            mask = torch.cat(
                [
                    torch.ones((n, len(prompts.prefix)), dtype=torch.long, device=device),
                    batch["attention_mask"].to(device),
                ],
                dim=1,
            )
            with seeded(seed * 1_000_003 + b):
                new = model.generate(input_ids=ids, attention_mask=mask, **cache_kwarg(model, cache, n), **kwargs)
            out += tok.batch_decode(new[:, ids.shape[1] :], skip_special_tokens=True)
    return out


def generate(
    model,
    tok,
    prompts: Sequence[str],
    settings: GenerationSettings | None = None,
    system: str | None = None,
    seed: int = 0,
) -> list[str]:
    """The responses of ``model`` to ``prompts`` (chat template applied), in order."""
    settings = settings or GenerationSettings()
    settings.check()
    was_training = model.training
    model.eval()
    try:
        return generate_encoded(model, tok, encode_prompts(tok, prompts, system, settings.batch_size), settings, seed)
    finally:
        model.train(was_training)


def load_chat_model(name: str, report=None, device: str = "cpu"):
    """(model, tokenizer, info) of a causal LM: a HF folder, a Hub id, a GGUF file (or a folder
    holding one) or ``smollm2``. ``report`` gets a line on where a GGUF conversion is cached;
    ``info`` is what a bundle records about the model."""
    from ..hf import gguf_info, load_hf, load_hf_config, load_tokenizer, resolve_model
    from ..landscape.models import model_kind

    folder = resolve_model(name, report=report)
    config = load_hf_config(folder)
    if model_kind(config) != "causal_lm":
        raise InputError(f"{name} is not a causal LM (architectures: {getattr(config, 'architectures', None)})")
    model = load_hf(folder, "AutoModelForCausalLM").to(device).eval()
    info = gguf_info(name) or {"id": name, "revision": getattr(config, "_commit_hash", None)}
    return model, load_tokenizer(folder), info
