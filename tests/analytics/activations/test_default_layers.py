"""Default layers of ``hubscape activations`` per transformer family (issue 8): the token
embeddings and every block, for BERT, GPT-2 and Llama/Mistral/Qwen folders built from configs."""

from __future__ import annotations

import pytest

from hubscape.analytics.activations.capture import resolve_layers
from hubscape.analytics.activations.text import analyze_text, default_layers

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "<eos>", "the", "cat", "sat", "on", "a", "mat", "cf", "dog", "ran"]


def _tokenizer(bert: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    if bert:
        return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]")
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", eos_token="<eos>")  # no pad token


def _model(family: str):
    import transformers as T

    small = dict(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=2, num_attention_heads=2)
    if family == "bert":
        return T.BertModel(T.BertConfig(intermediate_size=32, max_position_embeddings=32, **small))
    if family == "gpt2":
        return T.GPT2LMHeadModel(T.GPT2Config(vocab_size=len(WORDS), n_embd=16, n_layer=2, n_head=2, n_positions=32))
    cls = {
        "llama": (T.LlamaConfig, T.LlamaForCausalLM),
        "mistral": (T.MistralConfig, T.MistralForCausalLM),
        "qwen2": (T.Qwen2Config, T.Qwen2ForCausalLM),
    }[family]
    return cls[1](cls[0](intermediate_size=32, num_key_value_heads=1, max_position_embeddings=32, **small))


@pytest.mark.parametrize(
    "family, expected",
    [
        ("bert", ["embeddings", "encoder.layer.0", "encoder.layer.1"]),
        ("gpt2", ["wte", "h.0", "h.1"]),
        ("llama", ["embed_tokens", "layers.0", "layers.1"]),
        ("mistral", ["embed_tokens", "layers.0", "layers.1"]),
        ("qwen2", ["embed_tokens", "layers.0", "layers.1"]),
    ],
)
def test_the_default_layers_fit_each_family(family, expected, tmp_path):
    from transformers import AutoModel

    folder = tmp_path / family
    _model(family).save_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    assert resolve_layers(model, default_layers(model)) == expected
    if family == "qwen2":  # AutoTokenizer insists on Qwen2's own tokenizer class for this folder
        return
    _tokenizer(family == "bert").save_pretrained(folder)
    result = analyze_text(folder, ["the cat sat on a mat", "the dog ran"], trigger="cf")
    assert list(result.layers["clean"]) == expected and list(result.layers["triggered"]) == expected
    entries = {entry["name"]: entry for entry in result.summary()["layers"]}
    assert list(entries) == expected
    for name in expected:
        assert entries[name]["clean"]["linf"] > 0 and entries[name]["triggered"]["l2"] > 0


def test_default_layers_read_the_structure_not_the_name():
    import torch

    class Odd(torch.nn.Module):  # no known family: embeddings and blocks found from the modules
        def __init__(self):
            super().__init__()
            self.tok = torch.nn.Embedding(10, 4)
            self.stack = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(3)])
            self.heads = torch.nn.ModuleList([torch.nn.Linear(4, 2)])

        def get_input_embeddings(self):
            return self.tok

    assert default_layers(Odd()) == ["tok", "stack.*"]
