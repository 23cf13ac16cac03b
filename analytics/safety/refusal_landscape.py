"""Refusal-loss landscapes of one or more queries on a shared plane (Gradient Cuff, Fig. 1b).

For each query x the refusal loss phi (gradient_cuff.py: 1 - fraction of refusals among N
sampled responses) is estimated at every point of a grid of query-embedding shifts
``x ⊕ (a u + b v)``, the same shift added to every query token. u and v are the kind of
direction Gradient Cuff's gradient estimate probes, u_j ~ N(0, I_d): v is drawn the same way
and made orthogonal to u (Gram-Schmidt, then rescaled to its own norm), so with the default
span mu = 0.02 the grid covers the neighbourhood the detector samples. All queries share u, v,
the grid and the sampling settings, so their landscapes can be compared side by side (the
paper's benign vs malicious query).

The grid is saved after every chunk of points (``complete: false``, a ``done`` mask) and a
rerun with ``resume=True`` continues it; sampling is seeded per query and point, so a resumed
grid equals an uninterrupted one. Bundle kind ``refusal`` (docs/bundles.md). Refusal
landscapes written before this module (kind ``landscape``, method ``refusal``) held the refusal
*fraction*, the inverse of phi: :func:`load_refusal_landscapes` reads them as phi and says so.

Example::

    >>> res = compute_refusal_landscapes(model, tok, LabelledPrompts([benign, harmful], ["benign", "malicious"]),
    ...                                  grid=(9, 9), out="refusal.safetensors")
    >>> res.phi.shape          # (2, 9, 9): query, y, x
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hubscape.core.bundle import Bundle, read_bundle, to_jsonable
from hubscape.core.errors import BundleError, InputError
from hubscape.core.results import Result

from .gradient_cuff import PHI_DEFINITION, refusal_loss
from .keywords import GRADIENT_CUFF_KEYWORDS
from .perturb import SamplingSettings, ShiftedQuery
from .prompts import LabelledPrompts

#: How the first refusal landscapes (kind landscape, method refusal) defined their values.
LEGACY_DEFINITION = "1 - P(response is not a refusal), from n_samples responses"


@dataclass
class RefusalGridSettings:
    """Samples per grid point and how they are drawn and judged."""

    n: int = 10
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    keywords: Sequence[str] = GRADIENT_CUFF_KEYWORDS
    system: str | None = None

    def check(self) -> None:
        if self.n < 1:
            raise InputError(f"--n-samples must be at least 1, got {self.n}")
        if not self.keywords:
            raise InputError("the refusal keyword list is empty")
        self.sampling.check()

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "sampling": self.sampling.to_dict(),
            "keywords": list(self.keywords),
            "system": self.system,
        }


def plane_directions(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """u, v ~ N(0, I_d), v made orthogonal to u and rescaled to its drawn norm."""
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal(dim), rng.standard_normal(dim)
    norm_v = np.linalg.norm(v)
    v = v - (v @ u) / (u @ u) * u
    return u, v * (norm_v / np.linalg.norm(v))


class RefusalLandscapes(Result):
    """phi of several queries on one grid: ``phi[q, j, i]`` at shift ``x[i] u + y[j] v``."""

    kind = "refusal"

    def __init__(self, x, y, phi, done, queries, labels, meta: dict, complete: bool = False):
        self.x, self.y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        self.phi = np.asarray(phi, np.float64)
        self.done = np.asarray(done, bool)
        self.queries, self.labels = list(queries), list(labels)
        self.meta = dict(meta)
        self.complete = bool(complete)
        expected = (len(self.queries), len(self.y), len(self.x))
        if self.phi.shape != expected or self.done.shape != expected:
            raise BundleError(f"refusal landscapes: phi has shape {self.phi.shape}, expected {expected}")

    def centre(self) -> list[float | None]:
        """phi at the unshifted query (the grid point at 0, 0), per query; None if not on the grid."""
        i, j = np.flatnonzero(np.isclose(self.x, 0.0)), np.flatnonzero(np.isclose(self.y, 0.0))
        if not len(i) or not len(j):
            return [None] * len(self.queries)
        return [
            None if not self.done[q, j[0], i[0]] else float(self.phi[q, j[0], i[0]]) for q in range(len(self.queries))
        ]

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"{int(self.done.sum())}/{self.done.size} points"
        return f"<RefusalLandscapes {len(self.queries)} queries on {len(self.x)}x{len(self.y)}, {state}>"

    def summary(self) -> dict:
        out = []
        for q, (text, label, c) in enumerate(zip(self.queries, self.labels, self.centre())):
            vals = self.phi[q][self.done[q]]
            out.append(
                {
                    "query": text,
                    "label": label,
                    "phi_centre": c,
                    "phi_mean": float(vals.mean()) if vals.size else None,
                    "phi_min": float(vals.min()) if vals.size else None,
                    "phi_max": float(vals.max()) if vals.size else None,
                }
            )
        return {
            "definition": self.meta.get("definition"),
            "grid": [len(self.x), len(self.y)],
            "span": self.meta.get("span"),
            "complete": self.complete,
            "queries": out,
            "settings": self.meta.get("settings"),
            "model": self.meta.get("model"),
        }

    def report(self) -> str:
        lines = [
            f"refusal landscapes ({len(self.x)}x{len(self.y)} shifts of the query embeddings, span "
            f"{self.meta.get('span')}); {self.meta.get('definition')}"
        ]
        for s in self.summary()["queries"]:
            c = "n/a" if s["phi_centre"] is None else f"{s['phi_centre']:.2f}"
            rng = "n/a" if s["phi_min"] is None else f"{s['phi_min']:.2f}..{s['phi_max']:.2f}"
            lines.append(
                f"  phi at centre {c}, range {rng}, mean {s['phi_mean'] if s['phi_mean'] is None else round(s['phi_mean'], 3)}"
                f"  [{s['label'] or '-'}] {s['query'][:70]}"
            )
        return "\n".join(lines)

    def to_bundle(self) -> Bundle:
        arrays = {"x": self.x, "y": self.y, "phi": self.phi, "done": self.done}
        meta = {**self.meta, "queries": self.queries, "labels": self.labels, "complete": self.complete}
        return Bundle(kind=self.kind, meta=to_jsonable(meta), arrays=arrays)

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> RefusalLandscapes:
        if bundle.kind == "landscape":
            return _from_legacy(bundle)
        m = dict(bundle.meta)
        queries, labels = m.pop("queries", None), m.pop("labels", None)
        if not isinstance(queries, list) or not isinstance(labels, list) or len(queries) != len(labels):
            raise BundleError("refusal bundle: meta.queries and meta.labels must be lists of one length")
        complete = bool(m.pop("complete", True))
        return cls(
            bundle.array("x"),
            bundle.array("y"),
            bundle.array("phi"),
            bundle.array("done"),
            queries,
            labels,
            m,
            complete,
        )


def _from_legacy(bundle: Bundle) -> RefusalLandscapes:
    """A first-generation refusal landscape (kind landscape) as phi: its values were refusal
    fractions p, so phi = 1 - p."""
    m = bundle.meta
    if m.get("method") != "refusal":
        raise BundleError("this landscape bundle is not a refusal landscape (method is not 'refusal')")
    ref = dict(m.get("refusal") or {})
    definition = ref.get("definition", LEGACY_DEFINITION)
    loss = np.asarray(bundle.array("loss"), np.float64)
    phi = loss if definition == PHI_DEFINITION else 1.0 - loss
    done = np.asarray(bundle.arrays.get("done", np.isfinite(loss)), bool)
    meta = {
        "definition": PHI_DEFINITION,
        "converted_from": {"kind": "landscape", "definition": definition},
        "span": m.get("span"),
        "model": m.get("model", {}),
        "direction": m.get("direction", {}),
        "settings": {
            "n": ref.get("n_samples"),
            "sampling": {k: ref.get(k) for k in ("temperature", "top_p", "max_new_tokens")},
            "keywords": ref.get("keywords"),
            "system": ref.get("system"),
        },
    }
    return RefusalLandscapes(
        bundle.array("x"),
        bundle.array("y"),
        phi[None],
        done[None],
        [ref.get("query", "")],
        [None],
        meta,
        complete=bool(m.get("complete", True)),
    )


def load_refusal_landscapes(path: str | Path) -> RefusalLandscapes:
    """A refusal bundle, or a first-generation refusal landscape bundle read as phi."""
    bundle = read_bundle(path)
    if bundle.kind not in ("refusal", "landscape"):
        raise BundleError(f"{path} is a {bundle.kind} bundle, not refusal landscapes")
    return RefusalLandscapes.from_bundle(bundle)


def compute_refusal_landscapes(
    model,
    tok,
    queries: LabelledPrompts | Sequence[str],
    grid: Sequence[int] = (11, 11),
    span: float = 0.02,
    settings: RefusalGridSettings | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    resume: bool = False,
    model_info: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
    ray: str | None = None,
    workers: int | None = None,
    load: Callable[[], tuple] | None = None,
) -> RefusalLandscapes:
    """phi of every query on a (nx, ny) grid of shifts in [-span, span]^2 (see the module docstring).

    Points go through ``generate`` as many at once as ``settings.sampling.batch_size`` holds
    (``n`` sequences each); the chunk of query q that starts at point k is sampled with seed
    ``seed * 1_000_003 + q * 100_003 + k``. ``progress(done, total)`` is called after every chunk.
    ``ray``: sample the chunks on Ray actors ("local", "auto" or a cluster address; ``workers``
    of them; see hubscape.analytics.distributed); ``load() -> (model, tok)`` is how an actor
    gets the model (default: ``model`` and ``tok``, sent to it). The chunks and their seeds are
    the same as in this process, so the values are too, whatever actor samples them.
    """
    from ..landscape.lock import hold_output
    from ..landscape.runner import Serial

    settings = settings or RefusalGridSettings()
    settings.check()
    if isinstance(queries, LabelledPrompts):
        texts, labels = queries.prompts, list(queries.labels)
    else:
        texts, labels = list(queries), [None] * len(queries)
    if not texts:
        raise InputError("no queries for a refusal landscape")
    grid = tuple(int(g) for g in grid)
    if len(grid) != 2 or min(grid) < 1:
        raise InputError(f"a refusal landscape is a 2D grid, e.g. 11x11; got {grid}")
    if not (span > 0 and math.isfinite(span)):
        raise InputError(f"--span must be a positive number, got {span}")
    probes = [ShiftedQuery(model, tok, q, settings.sampling, settings.system) for q in texts]
    dim = probes[0].dim
    u, v = plane_directions(dim, seed)
    nx, ny = grid
    x, y = np.linspace(-span, span, nx), np.linspace(-span, span, ny)
    meta = {
        "definition": PHI_DEFINITION,
        "span": float(span),
        "seed": int(seed),
        "settings": settings.to_dict(),
        "model": dict(model_info or {}),
        "direction": {
            "space": "query token embeddings",
            "distribution": "N(0, I)",
            "dim": dim,
            "orthogonalized": True,
            "fingerprint": [round(float(u.sum()), 9), round(float(v.sum()), 9)],
        },
    }
    result = RefusalLandscapes(
        x, y, np.full((len(texts), ny, nx), np.nan), np.zeros((len(texts), ny, nx), bool), texts, labels, meta
    )
    xx, yy = np.meshgrid(x, y)  # (ny, nx): phi[q, j, i] at (x[i], y[j])
    shifts = xx.reshape(-1, 1) * u + yy.reshape(-1, 1) * v
    if ray is None:
        executor = Serial(RefusalChunks(probes, shifts, settings, seed), None)
    else:
        from ..distributed import RayPool

        task = RefusalTask(load or SendModel(model, tok), texts, settings, shifts, seed)
        executor = RayPool(task, ray, workers)
    with hold_output(out):  # one run at a time on this bundle, from reading it to the final save
        if resume and out is not None and Path(out).exists():
            _continue(result, load_refusal_landscapes(out))
        per_call = max(1, settings.sampling.batch_size // settings.n)
        flat_done = result.done.reshape(len(texts), -1)
        chunks = []  # (indices into phi.reshape(-1), query, points of the query's grid)
        for q in range(len(texts)):
            todo = np.flatnonzero(~flat_done[q])
            for start in range(0, len(todo), per_call):
                idx = todo[start : start + per_call]
                chunks.append((q * shifts.shape[0] + idx, np.full(len(idx), q), idx))
        total, finished = result.done.size, int(result.done.sum())
        with executor:
            for flat, values in executor.imap(chunks):
                result.phi.reshape(-1)[flat] = np.asarray(values, np.float64).reshape(-1)
                result.done.reshape(-1)[flat] = True
                finished += len(flat)
                if out is not None and finished < total:
                    result.save(out)
                if progress is not None:
                    progress(finished, total)
        if ray is not None:
            result.meta["ray"] = executor.describe()
        result.complete = True
        if out is not None:
            result.save(out)
    return result


class RefusalChunks:
    """phi at a chunk of grid points of one query: its responses sampled in one ``generate``
    batch, seeded by the query and the chunk's first point (see compute_refusal_landscapes)."""

    def __init__(self, probes: list[ShiftedQuery], shifts: np.ndarray, settings: RefusalGridSettings, seed: int):
        self.probes, self.shifts, self.settings, self.seed = probes, shifts, settings, int(seed)

    def __call__(self, qs, idx) -> list[list[float]]:
        q, idx = int(qs[0]), np.asarray(idx)
        seed = self.seed * 1_000_003 + q * 100_003 + int(idx[0])
        groups = self.probes[q].responses(self.shifts[idx], self.settings.n, seed=seed)
        return [[refusal_loss(g, self.settings.keywords)] for g in groups]


@dataclass
class RefusalTask:
    """What a Ray actor needs to sample refusal-landscape chunks: a way to get the model and
    tokenizer there, the queries, the settings and every grid point's shift."""

    load: Callable[[], tuple]
    texts: list[str]
    settings: RefusalGridSettings
    shifts: np.ndarray
    seed: int

    def open(self) -> RefusalChunks:
        model, tok = self.load()
        probes = [ShiftedQuery(model, tok, q, self.settings.sampling, self.settings.system) for q in self.texts]
        return RefusalChunks(probes, self.shifts, self.settings, self.seed)


class LoadChatModel:
    """How a Ray actor loads MODEL itself (the CLI's way; picklable): on its GPU if Ray gave it one."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self) -> tuple:
        import torch

        from .chat import load_chat_model

        model, tok, _ = load_chat_model(self.name, device="cuda" if torch.cuda.is_available() else "cpu")
        return model, tok


class SendModel:
    """The caller's model and tokenizer, pickled into the task (the CLI has each actor load
    MODEL itself: LoadChatModel)."""

    def __init__(self, model, tok):
        self.model, self.tok = model, tok

    def __call__(self) -> tuple:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"  # Ray hides the GPUs it did not give
        return self.model.to(device), self.tok


def _continue(result: RefusalLandscapes, previous: RefusalLandscapes) -> None:
    """Take the points ``previous`` has done, if it holds the same experiment."""
    for key in ("definition", "span", "seed", "settings", "direction", "model"):
        a, b = previous.meta.get(key), to_jsonable(result.meta.get(key))
        if a != b:
            raise InputError(
                f"cannot resume: the partial grid has {key}={a!r}, this run {key}={b!r}; "
                "rerun with the same settings or delete the bundle"
            )
    if previous.queries != result.queries or previous.labels != result.labels:
        raise InputError("cannot resume: the partial grid holds other queries; delete the bundle to start over")
    if previous.phi.shape != result.phi.shape or not np.allclose(previous.x, result.x):
        raise InputError("cannot resume: the partial grid has another grid or span")
    result.phi[...] = previous.phi
    result.done[...] = previous.done
