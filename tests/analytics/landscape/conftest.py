"""Fixtures for landscape tests: small torch models, data, and a tiny offline causal LM."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def mlp_problem():
    """A small MLP classifier (with a LayerNorm) and 96 labelled points in two batches."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.LayerNorm(12), torch.nn.Tanh(), torch.nn.Linear(12, 3))
    X = torch.randn(96, 6)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    return model, [(X[:48], y[:48]), (X[48:], y[48:])], X, y


@pytest.fixture
def cnn_problem():
    """A small CNN (conv filters, batch norm in eval mode) on random 8x8 images."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 5),
    )
    model.eval()
    X = torch.randn(40, 1, 8, 8)
    y = torch.randint(0, 5, (40,))
    return model, [(X, y)], X, y


WORDS = [
    "<pad>",
    "<unk>",
    "<eos>",
    "sorry",
    "sure",
    "i",
    "cannot",
    "help",
    "here",
    "is",
    "how",
    "to",
    "pick",
    "a",
    "lock",
    "you",
    "are",
    "system",
    "be",
    "nice",
    "the",
    "answer",
    "ok",
    "bake",
    "cake",
]


def tiny_tokenizer():
    """A word-level tokenizer built in memory (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(WORDS)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")


def tiny_lm(seed: int = 0, always: str | None = None):
    """A 2-layer GPT-2 from a config; ``always`` makes it emit that word at every step."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=2,
        n_positions=64,
        vocab_size=len(WORDS),
        bos_token_id=2,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = GPT2LMHeadModel(cfg).eval()
    if always is not None:
        with torch.no_grad():
            wte = model.transformer.wte.weight
            target = wte[WORDS.index(always)]
            model.transformer.ln_f.weight.zero_()
            model.transformer.ln_f.bias.copy_(60.0 * target / target.norm() ** 2)
    return model


@pytest.fixture
def tiny_causal_lm():
    return tiny_lm(), tiny_tokenizer()


@pytest.fixture
def make_tiny_lm():
    """tiny_lm itself, for tests that need several (importlib mode cannot import conftest)."""
    return tiny_lm


@pytest.fixture
def tiny_tok():
    return tiny_tokenizer()
