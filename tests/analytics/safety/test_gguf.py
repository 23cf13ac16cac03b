"""GGUF files as models: the real transformers reading path, the cache, names and errors."""

from __future__ import annotations

import pytest
import torch

from hubscape.analytics import gguf as G
from hubscape.analytics.hf import gguf_info, load_hf, load_tokenizer, resolve_model
from hubscape.core.errors import InputError


def test_a_gguf_file_converts_once_to_a_plain_folder_with_the_same_function(tiny_gguf, tmp_path, monkeypatch):
    path, original = tiny_gguf
    lines = []
    folder = resolve_model(str(path), report=lines.append)
    assert folder.startswith(str(tmp_path / "hf_home" / "hubscape" / "gguf" / "tiny-llama-"))
    assert any("converting" in ln for ln in lines) and folder in lines[-1]
    model = load_hf(folder, "AutoModelForCausalLM")
    assert type(model).__name__ == "LlamaForCausalLM" and "quantization_config" not in model.config.to_dict()
    tok = load_tokenizer(folder)
    ids = tok("the cat the dog", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, original(ids).logits, rtol=0, atol=1e-5)
    assert "<|im_start|>user\nhi<|im_end|>" in tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False
    )

    def no_second_conversion(*args):
        raise AssertionError("converted twice")

    monkeypatch.setattr(G, "_convert", no_second_conversion)
    again = []
    assert resolve_model(str(path), report=again.append) == folder
    assert again == [f"{path.name}: using its float32 conversion cached in {folder}"]
    assert resolve_model(str(path.parent)) == folder  # the folder holding the file
    info = gguf_info(str(path))
    assert info["gguf_sha256"] == G.file_sha256(path.resolve()) and info["converted_folder"] == folder


def test_a_changed_file_is_converted_again(tiny_gguf, gguf_llama, write_gguf):
    path, _ = tiny_gguf
    first = resolve_model(str(path))
    write_gguf(path, gguf_llama(seed=1))
    second = resolve_model(str(path))
    assert second != first
    a, b = (load_hf(f, "AutoModelForCausalLM").model.embed_tokens.weight for f in (first, second))
    assert not torch.equal(a, b)


def test_gguf_names_and_errors(tmp_path):
    assert G.find_gguf(tmp_path / "missing.gguf") is None
    assert resolve_model("owner/name") == "owner/name"
    (tmp_path / "a.gguf").write_bytes(b"")
    (tmp_path / "b.gguf").write_bytes(b"")
    with pytest.raises(InputError, match="holds 2 .gguf files"):
        G.find_gguf(tmp_path)
    bad = tmp_path / "sub"
    bad.mkdir()
    (bad / "broken.gguf").write_bytes(b"GGUF not really")
    with pytest.raises(InputError) as info:
        resolve_model(str(bad / "broken.gguf"))
    assert "cannot load this GGUF file" in str(info.value) and "\n" not in str(info.value)
    assert not any(p.name.endswith(".part") for p in (tmp_path / "hf_home" / "hubscape" / "gguf").iterdir())


def test_the_packaged_smollm2_is_a_real_chat_model(smollm2):
    model = load_hf(str(smollm2), "AutoModelForCausalLM")
    tok = load_tokenizer(str(smollm2))
    cfg = model.config
    assert (cfg.model_type, cfg.num_hidden_layers, cfg.hidden_size, cfg.tie_word_embeddings) == ("llama", 30, 576, True)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(134.5e6, rel=0.01)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], tokenize=False, add_generation_prompt=True
    )
    ids = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    answer = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in answer
