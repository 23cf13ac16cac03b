"""Supervised fine-tuning of a chat model's top decoder layers on (prompt, answer) pairs.

The loss is the next-token cross-entropy of the answer tokens only (the chat prompt is
context), as in Qi et al.'s and llm-landscape's fine-tuning code. Only the top ``top_layers``
decoder blocks train; everything below them is frozen, so its output for each example is
computed once and the training steps run the top blocks alone (exact: frozen layers give the
same activations at every step). That makes a few dozen steps on a 135M-parameter model a
matter of a minute or two on a CPU instead of many.

The split needs a decoder whose blocks read nothing but the hidden states, the attention mask
and positions derived from them (Llama, Mistral, Qwen2/3 and relatives: rotary positions,
no position embeddings added to the input); other models train the same blocks by full
forward passes (exact, slower).

Example::

    >>> finetune(model, tok, [("How do I make a bomb?", "I'm sorry, but I can't help with that.")],
    ...          FinetuneSettings(steps=20))
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from hubscape.core.errors import InputError

from .chat import chat_text, pad_id

#: model_type values whose decoder can run from cached hidden states (see the module docstring).
SPLIT_FAMILIES = ("llama", "mistral", "qwen2", "qwen3")


@dataclass
class FinetuneSettings:
    top_layers: int = 6
    steps: int = 30
    lr: float = 2e-4
    batch_size: int = 16
    max_length: int = 128  # tokens per example (prompt + answer), longer ones are cut
    seed: int = 0

    def check(self) -> None:
        for name in ("top_layers", "steps", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise InputError(f"fine-tuning: {name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise InputError(f"fine-tuning: the learning rate must be positive, got {self.lr}")

    def to_dict(self) -> dict:
        return asdict(self)


def encode_examples(tok, examples: Sequence[tuple[str, str]], system: str | None, max_length: int):
    """(input_ids, attention_mask, labels), right-padded; labels are -100 except on the answer
    tokens and the end-of-turn token after them."""
    import torch

    if not examples:
        raise InputError("no fine-tuning examples")
    end = _end_of_turn(tok)
    rows = []
    for prompt, answer in examples:
        p = tok(chat_text(tok, prompt, system), add_special_tokens=False)["input_ids"]
        a = tok(answer + end, add_special_tokens=False)["input_ids"]
        ids = (p + a)[:max_length]
        labels = ([-100] * len(p) + a)[:max_length]
        rows.append((ids, labels))
    n, length = len(rows), max(len(r[0]) for r in rows)
    input_ids = torch.full((n, length), pad_id(tok), dtype=torch.long)
    labels = torch.full((n, length), -100, dtype=torch.long)
    mask = torch.zeros((n, length), dtype=torch.long)
    for i, (ids, lab) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(lab)] = torch.tensor(lab)
        mask[i, : len(ids)] = 1
    return input_ids, mask, labels


def _end_of_turn(tok) -> str:
    """What closes an assistant turn in the chat template (e.g. ``<|im_end|>``), else EOS."""
    if getattr(tok, "chat_template", None):
        text = tok.apply_chat_template(
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": "\x00A\x00"}], tokenize=False
        )
        after = text.partition("\x00A\x00")[2]
        marker = after.strip().split("\n")[0].split(" ")[0] if after.strip() else ""
        if marker:
            return after[: after.index(marker) + len(marker)]  # with the template's spacing before it
    return tok.eos_token or ""


def decoder_blocks(model):
    """(parent module, attribute name) of the model's list of decoder blocks."""
    import torch

    best = None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0:
            if best is None or len(module) > len(best[1]):
                best = (name, module)
    if best is None:
        raise InputError(f"{type(model).__name__} has no list of decoder blocks to fine-tune")
    parent_name, _, attr = best[0].rpartition(".")
    return model.get_submodule(parent_name) if parent_name else model, attr


def finetune(
    model,
    tok,
    examples: Sequence[tuple[str, str]],
    settings: FinetuneSettings | None = None,
    system: str | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> list[float]:
    """Train the top decoder blocks of ``model`` in place on ``examples``; returns the loss of
    every step. ``progress(step, steps, loss)`` is called after each step. Batches are drawn
    with a generator seeded by ``settings.seed``; AdamW without weight decay."""
    import torch

    settings = settings or FinetuneSettings()
    settings.check()
    parent, attr = decoder_blocks(model)
    blocks = getattr(parent, attr)
    k = min(settings.top_layers, len(blocks))
    input_ids, mask, labels = encode_examples(tok, examples, system, settings.max_length)
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = [p for block in blocks[len(blocks) - k :] for p in block.parameters()]
    for p in trainable:
        p.requires_grad_(True)
    split = getattr(model.config, "model_type", None) in SPLIT_FAMILIES
    step_fn = (
        _split_steps(model, blocks, k, input_ids, mask, labels)
        if split
        else _full_steps(model, input_ids, mask, labels)
    )
    opt = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(int(settings.seed))
    losses = []
    model.train()
    try:
        for step in range(settings.steps):
            idx = torch.randperm(len(input_ids), generator=gen)[: settings.batch_size]
            loss = step_fn(idx)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(step + 1, settings.steps, losses[-1])
    finally:
        model.eval()
        for p in model.parameters():
            p.requires_grad_(True)
    return losses


def _full_steps(model, input_ids, mask, labels):
    def step(idx):
        return model(input_ids=input_ids[idx], attention_mask=mask[idx], labels=labels[idx], use_cache=False).loss

    return step


def _split_steps(model, blocks, k, input_ids, mask, labels):
    """Steps on the top k blocks from the frozen blocks' cached output (see the module docstring)."""
    import torch

    n = len(blocks)
    inner_own = model.get_submodule(_base_name(model))
    hidden = _inputs_of(blocks[n - k], inner_own, input_ids, mask)
    config = copy.deepcopy(model.config)
    config.num_hidden_layers = k
    if getattr(config, "layer_types", None):
        config.layer_types = list(config.layer_types)[n - k :]
    with torch.device("meta"):  # a shell without storage: every part is replaced by the model's own
        top = type(model)(config)
    inner = top.get_submodule(_base_name(top))
    for name, child in inner_own.named_children():
        setattr(inner, name, torch.nn.ModuleList(blocks[n - k :]) if child is blocks else child)
    top.lm_head = model.lm_head
    if any(t.is_meta for t in [*top.parameters(), *top.buffers()]):
        raise InputError(f"{type(model).__name__}: cannot run its top blocks alone; fine-tune it without the split")
    top.train()

    target = labels[:, 1:]
    keep = target != -100  # the answer tokens: only their logits are computed (the head is large)

    def step(idx):
        hidden_out = inner(inputs_embeds=hidden[idx], attention_mask=mask[idx], use_cache=False).last_hidden_state
        picked = hidden_out[:, :-1][keep[idx]]
        return torch.nn.functional.cross_entropy(top.lm_head(picked).float(), target[idx][keep[idx]])

    return step


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the wanted activations are captured."""


def _inputs_of(block, base, input_ids, mask):
    """The hidden states entering ``block`` when ``base`` runs on the examples (the blocks above
    are never run: a hook stops the pass there)."""
    import torch

    captured = []

    def grab(module, args, kwargs):
        captured.append(args[0] if args else kwargs["hidden_states"])
        raise _Stop

    handle = block.register_forward_pre_hook(grab, with_kwargs=True)
    was_training = base.training
    base.eval()
    try:
        with torch.no_grad():
            base(input_ids=input_ids, attention_mask=mask, use_cache=False)
    except _Stop:
        pass
    finally:
        handle.remove()
        base.train(was_training)
    if not captured:
        raise InputError(f"{type(base).__name__} never ran its decoder block; cannot split the fine-tune")
    return captured[0].detach()


def _base_name(model) -> str:
    name = getattr(model, "base_model_prefix", "model")
    if not hasattr(model, name):
        raise InputError(f"{type(model).__name__}: no base model {name!r} to split")
    return name
