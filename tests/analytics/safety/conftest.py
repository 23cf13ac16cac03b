"""Fixtures of the safety tests: tiny chat models built from configs (no download), a GGUF
writer for tiny Llama models, and SmolLM2-135M-Instruct converted once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

WORDS = [
    "<pad>",
    "<unk>",
    "<eos>",
    "<|im_start|>",
    "<|im_end|>",
    "system",
    "user",
    "assistant",
    "I'm",
    "sorry",
    "Sorry",
    "I",
    "cannot",
    "Sure",
    "here",
    "is",
    "how",
    "to",
    "pick",
    "a",
    "lock",
    "bake",
    "cake",
    "make",
    "bomb",
    "bath",
    "the",
    "answer",
    "ok",
    "you",
    "are",
    "nice",
    "be",
]
TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|> ' + m['role'] + ' ' + m['content'] + ' <|im_end|> ' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|> assistant ' }}{% endif %}"
)


def word_tokenizer():
    """A word-level tokenizer with a chat template, built in memory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    tok.chat_template = TEMPLATE
    return tok


def tiny_gpt2(seed: int = 0, always: str | None = None):
    """A 2-layer GPT-2; ``always`` makes it emit that word at every step (final norm zeroed,
    its bias pointing at the word's embedding)."""
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
            target = model.transformer.wte.weight[WORDS.index(always)]
            model.transformer.ln_f.weight.zero_()
            model.transformer.ln_f.bias.copy_(60.0 * target / target.norm() ** 2)
    return model


def tiny_llama(vocab_size: int = len(WORDS), seed: int = 0, layers: int = 4, tied: bool = True):
    """A small Llama from a config (rotary positions, RMSNorm, grouped KV heads)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=tied,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=2,
    )
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)  # not all ones, so a wrong norm mapping shows
        model.model.embed_tokens.weight.mul_(25.0)  # word vectors of norm ~3: logits can be decisive
    return model


@pytest.fixture
def word_tok():
    return word_tokenizer()


@pytest.fixture
def make_gpt2():
    return tiny_gpt2


@pytest.fixture
def make_llama():
    return tiny_llama


# ------------------------------------------------------------------------------------ GGUF

GGUF_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
GGUF_TEMPLATE = (
    "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _permute(w, n_head: int, n_head_kv: int):
    """llama.cpp's convert_hf_to_gguf permutation of q/k rows (transformers undoes it on load)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def byte_bpe_vocab() -> tuple[list[str], list[str]]:
    """A byte-level BPE vocabulary (GPT-2 style): the specials, the 256 byte symbols, 3 merges."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return GGUF_SPECIAL + list(bytes_to_unicode().values()) + ["Ġt", "he", "Ġthe"], ["Ġ t", "h e", "Ġt he"]


def write_llama_gguf(path: Path, model) -> Path:
    """Write a Llama model (float32) and a byte-level BPE tokenizer as a GGUF file, laid out as
    llama.cpp's converter writes one."""
    import gguf

    cfg = model.config
    tokens, merges = byte_bpe_vocab()
    if cfg.vocab_size != len(tokens):
        raise ValueError(f"the model needs vocab_size {len(tokens)}")
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_rope_freq_base(10000.0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([gguf.TokenType.CONTROL if t in GGUF_SPECIAL else gguf.TokenType.NORMAL for t in tokens])
    w.add_token_merges(merges)
    w.add_bos_token_id(0)
    w.add_eos_token_id(2)
    w.add_pad_token_id(0)
    w.add_chat_template(GGUF_TEMPLATE)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    names = {
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
        "input_layernorm": "attn_norm",
        "post_attention_layernorm": "ffn_norm",
    }
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_q.weight", _permute(sd[p + "self_attn.q_proj.weight"], heads, heads))
        w.add_tensor(f"blk.{i}.attn_k.weight", _permute(sd[p + "self_attn.k_proj.weight"], heads, kv))
        for hf, gg in names.items():
            w.add_tensor(f"blk.{i}.{gg}.weight", sd[p + hf + ".weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    if not cfg.tie_word_embeddings:
        w.add_tensor("output.weight", sd["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def gguf_llama_model(seed: int = 0):
    """A tiny Llama whose vocabulary is byte_bpe_vocab()'s."""
    return tiny_llama(vocab_size=len(byte_bpe_vocab()[0]), seed=seed)


@pytest.fixture
def gguf_llama():
    return gguf_llama_model


@pytest.fixture
def write_gguf():
    return write_llama_gguf


@pytest.fixture
def tiny_gguf(tmp_path):
    """(path of a tiny Llama GGUF file, the HF model it was written from)."""
    model = gguf_llama_model()
    return write_llama_gguf(tmp_path / "tiny-llama.gguf", model), model


@pytest.fixture(scope="session")
def smollm2_home(tmp_path_factory) -> Path:
    """An HF_HOME in which the packaged SmolLM2 GGUF has been converted (once per session)."""
    import os

    from hubscape.analytics.hf import resolve_model

    home = tmp_path_factory.mktemp("smollm2_home")
    old = os.environ.get("HF_HOME")
    os.environ["HF_HOME"] = str(home)
    try:
        resolve_model("smollm2")
    finally:
        if old is None:
            os.environ.pop("HF_HOME", None)
        else:
            os.environ["HF_HOME"] = old
    return home


@pytest.fixture
def smollm2(smollm2_home, monkeypatch):
    """The converted SmolLM2-135M-Instruct folder (HF_HOME points at the session's cache)."""
    from hubscape.analytics.hf import resolve_model

    monkeypatch.setenv("HF_HOME", str(smollm2_home))
    return Path(resolve_model("smollm2"))
