"""Gradient Cuff: jailbreak detection by exploring the refusal loss landscape.

Hu, Chen & Ho, "Gradient Cuff: Detecting Jailbreak Attacks on Large Language Models by
Exploring Refusal Loss Landscapes", NeurIPS 2024 (arXiv 2403.00867); reference implementation
IBM/Gradient-Cuff ``main.py`` (``gradient_cuff_reject``). Definitions, as there:

- The **refusal loss** of a query x is phi(x) = 1 - p(x), where p(x) is the probability that a
  response is a refusal (JB(y) = 1 when y contains a refusal keyword), estimated from N sampled
  responses: phi = 1 - (refusals / N). A model that always answers has phi = 1, one that
  always refuses phi = 0.
- **Stage 1** rejects x when phi(x) < 0.5 (more than half of the responses refuse).
- **Stage 2** estimates the gradient of phi by zeroth-order differences along P random
  directions u_j ~ N(0, I_d) (not normalized; the same u_j added to every query-token
  embedding, radius mu): g = (1/P) sum_j (phi(x ⊕ mu u_j) - phi(x)) / mu * u_j, with N samples
  at each shift, and rejects x when ||g|| > t. (The reference code writes the difference of
  refusal fractions, the negative of this; the norm is the same.)

Defaults are the reference's: N = P = 10, mu = 0.02, t = 100, seed 13, detection sampling
with temperature 0.6, top-p 0.9, 16 new tokens. The P directions are drawn once per run and
shared by all queries, as there. The threshold t is model-specific: :meth:`GradientCuffResult.
with_threshold_for_fpr` picks it for a target false positive rate on the benign queries.

Example::

    >>> res = run_gradient_cuff(model, tok, read_labelled("queries.tsv"), GradientCuffSettings())
    >>> res.rates()                       # detection rate on malicious, false positive rate on benign
    >>> res.with_threshold_for_fpr(0.05).rates()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hubscape.core.bundle import Bundle
from hubscape.core.errors import BundleError, InputError
from hubscape.core.results import Result

from .keywords import GRADIENT_CUFF_KEYWORDS, is_refusal
from .perturb import SamplingSettings, ShiftedQuery
from .prompts import BENIGN, MALICIOUS, LabelledPrompts

#: The refusal loss as this module (and the paper) defines it; stored in every bundle.
PHI_DEFINITION = "phi = 1 - p, p = fraction of the sampled responses that are refusals (Gradient Cuff)"


@dataclass
class GradientCuffSettings:
    """The detector's parameters (reference defaults)."""

    n: int = 10  # N: responses per estimate of phi
    p: int = 10  # P: random directions of the gradient estimate
    mu: float = 0.02  # perturbation radius
    threshold: float = 100.0  # t: stage 2 rejects when ||g|| > t
    seed: int = 13
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    keywords: Sequence[str] = GRADIENT_CUFF_KEYWORDS
    system: str | None = None
    all_stages: bool = False  # estimate the gradient also for queries stage 1 rejects

    def check(self) -> None:
        if self.n < 1:
            raise InputError(f"--n must be at least 1, got {self.n}")
        if self.p < 1:
            raise InputError(f"--p must be at least 1, got {self.p}")
        if not (self.mu > 0 and math.isfinite(self.mu)):
            raise InputError(f"--mu must be a positive number, got {self.mu}")
        if not self.threshold >= 0:
            raise InputError(f"--threshold must be 0 or more, got {self.threshold}")
        if not self.keywords:
            raise InputError("the refusal keyword list is empty")
        self.sampling.check()

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "p": self.p,
            "mu": self.mu,
            "threshold": self.threshold,
            "seed": self.seed,
            "sampling": self.sampling.to_dict(),
            "keywords": list(self.keywords),
            "system": self.system,
            "all_stages": self.all_stages,
        }


def refusal_loss(texts: Sequence[str], keywords: Sequence[str] = GRADIENT_CUFF_KEYWORDS) -> float:
    """phi = 1 - (fraction of ``texts`` that are refusals)."""
    if not texts:
        raise InputError("no responses to judge")
    return 1.0 - sum(is_refusal(t, keywords) for t in texts) / len(texts)


def gaussian_directions(dim: int, p: int, seed: int) -> np.ndarray:
    """P standard Gaussian vectors in embedding space (reference: ``torch.randn(P, d)``)."""
    return np.random.default_rng(seed).standard_normal((p, dim))


def zeroth_order_gradient(phi0: float, phis: Sequence[float], directions: np.ndarray, mu: float) -> np.ndarray:
    """g = (1/P) sum_j (phi_j - phi0) / mu * u_j."""
    phis = np.asarray(phis, dtype=np.float64)
    directions = np.asarray(directions, dtype=np.float64)
    if directions.shape[0] != phis.shape[0]:
        raise InputError(f"{phis.shape[0]} estimates of phi for {directions.shape[0]} directions")
    return ((phis - phi0) / mu) @ directions / len(phis)


@dataclass
class QueryScore:
    """Stage 1's phi and stage 2's gradient norm of one query (NaN: not estimated)."""

    phi: float
    grad_norm: float
    phis: list[float] = field(default_factory=list)  # phi at each of the P shifts


def score_query(
    model, tok, query: str, directions: np.ndarray, settings: GradientCuffSettings, seed: int
) -> QueryScore:
    """phi of ``query``, and the norm of its estimated gradient when stage 2 runs.

    Stage 1 samples N responses at zero shift; if it rejects (phi < 0.5) and
    ``settings.all_stages`` is off, stage 2 is skipped, as in the reference. Stage 2 samples
    N responses at each of the P shifts ``mu * u_j`` in one batched pass.
    """
    probe = ShiftedQuery(model, tok, query, settings.sampling, settings.system)
    if directions.shape[1] != probe.dim:
        raise InputError(f"directions have {directions.shape[1]} dimensions, the embeddings {probe.dim}")
    phi0 = refusal_loss(probe.responses(np.zeros((1, probe.dim)), settings.n, seed)[0], settings.keywords)
    if phi0 < 0.5 and not settings.all_stages:
        return QueryScore(phi=phi0, grad_norm=float("nan"))
    groups = probe.responses(settings.mu * directions, settings.n, seed + 1)
    phis = [refusal_loss(texts, settings.keywords) for texts in groups]
    g = zeroth_order_gradient(phi0, phis, directions, settings.mu)
    return QueryScore(phi=phi0, grad_norm=float(np.linalg.norm(g)), phis=phis)


class GradientCuffResult(Result):
    """Per-query phi, gradient norm and verdict of a Gradient Cuff run, with detection rates."""

    kind = "gradient_cuff"

    def __init__(
        self,
        queries: list[str],
        labels: list[str | None],
        phi: np.ndarray,
        grad_norm: np.ndarray,
        settings: dict,
        model: dict | None = None,
        threshold_choice: dict | None = None,
    ):
        self.queries, self.labels = list(queries), list(labels)
        self.phi = np.asarray(phi, dtype=np.float64)
        self.grad_norm = np.asarray(grad_norm, dtype=np.float64)
        self.settings = dict(settings)
        self.model = dict(model or {})
        self.threshold_choice = threshold_choice

    @property
    def threshold(self) -> float:
        """t; infinite (stored as null in JSON) when no false positive rate target could be met."""
        t = self.settings.get("threshold")
        return math.inf if t is None else float(t)

    def stage(self) -> np.ndarray:
        """Which stage rejects each query: 1, 2, or 0 (passed)."""
        s1 = self.phi < 0.5
        s2 = ~s1 & (np.nan_to_num(self.grad_norm, nan=-np.inf) > self.threshold)
        return np.where(s1, 1, np.where(s2, 2, 0))

    def rejected(self) -> np.ndarray:
        return self.stage() > 0

    def rates(self) -> dict:
        """Detection rate (true positive rate) on malicious and false positive rate on benign
        queries, with their counts; None where a class has no queries."""
        rej = self.rejected()
        out = {}
        for label, name in ((MALICIOUS, "detection_rate"), (BENIGN, "false_positive_rate")):
            mask = np.array([lab == label for lab in self.labels], dtype=bool)
            out[name] = float(rej[mask].mean()) if mask.any() else None
            out[f"n_{label}"] = int(mask.sum())
            out[f"rejected_{label}"] = int(rej[mask].sum())
        return out

    def with_threshold(self, threshold: float) -> GradientCuffResult:
        """The same scores judged with another threshold t."""
        return GradientCuffResult(
            self.queries,
            self.labels,
            self.phi,
            self.grad_norm,
            {**self.settings, "threshold": float(threshold)},
            self.model,
            None,
        )

    def with_threshold_for_fpr(self, target: float) -> GradientCuffResult:
        """The smallest threshold whose false positive rate on the benign queries is at most
        ``target`` (the most detections at that rate). When stage 1 alone rejects more benign
        queries than ``target`` allows, t is infinite (stage 2 rejects nothing) and the choice
        says the target was not reached."""
        if not 0 <= target <= 1:
            raise InputError(f"--target-fpr must be in [0, 1], got {target}")
        benign = np.array([lab == BENIGN for lab in self.labels], dtype=bool)
        if not benign.any():
            raise InputError("choosing a threshold for a false positive rate needs benign queries (--labels)")
        s1 = int((self.phi[benign] < 0.5).sum())
        norms = np.sort(self.grad_norm[benign & (self.phi >= 0.5)])[::-1]
        allowed = math.floor(target * int(benign.sum()) + 1e-9) - s1
        if allowed < 0:
            t = math.inf
        elif allowed < len(norms):
            t = float(norms[allowed])  # exactly the `allowed` largest lie strictly above (fewer on ties)
        else:
            t = 0.0
        out = self.with_threshold(t)
        fpr = out.rates()["false_positive_rate"]
        out.threshold_choice = {
            "target_fpr": float(target),
            "reached": bool(fpr <= target + 1e-12),
            "n_benign": int(benign.sum()),
            "stage1_benign_rejections": s1,
        }
        return out

    # -- Result ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        r = self.rates()
        tpr = "n/a" if r["detection_rate"] is None else f"{r['detection_rate']:.2f}"
        fpr = "n/a" if r["false_positive_rate"] is None else f"{r['false_positive_rate']:.2f}"
        return f"<GradientCuffResult {len(self.queries)} queries, t={self.threshold:.4g}, TPR {tpr}, FPR {fpr}>"

    def summary(self) -> dict:
        stage = self.stage()
        return {
            "model": self.model,
            "definition": PHI_DEFINITION,
            "settings": self.settings,
            "threshold": self.threshold,
            "threshold_choice": self.threshold_choice,
            **self.rates(),
            "queries": [
                {
                    "query": q,
                    "label": lab,
                    "phi": float(p),
                    "grad_norm": None if math.isnan(g) else float(g),
                    "rejected_by_stage": int(s),
                }
                for q, lab, p, g, s in zip(self.queries, self.labels, self.phi, self.grad_norm, stage)
            ],
        }

    def report(self) -> str:
        lines = [
            f"Gradient Cuff (N={self.settings['n']}, P={self.settings['p']}, mu={self.settings['mu']}, "
            f"t={self.threshold:.4g}); phi = 1 - refusal fraction, stage 1 rejects phi < 0.5"
        ]
        for q, lab, p, g, s in zip(self.queries, self.labels, self.phi, self.grad_norm, self.stage()):
            verdict = {0: "passed", 1: "rejected (stage 1)", 2: "rejected (stage 2)"}[int(s)]
            norm = "      -" if math.isnan(g) else f"{g:7.1f}"
            tag = f"[{lab}] " if lab else ""
            lines.append(f"  phi {p:.2f}  |g| {norm}  {verdict:<19} {tag}{q[:70]}")
        r = self.rates()
        if r["detection_rate"] is not None:
            lines.append(
                f"detection rate {r['detection_rate']:.3f} ({r['rejected_malicious']}/{r['n_malicious']} malicious)"
            )
        if r["false_positive_rate"] is not None:
            lines.append(
                f"false positive rate {r['false_positive_rate']:.3f} ({r['rejected_benign']}/{r['n_benign']} benign)"
            )
        if self.threshold_choice:
            c = self.threshold_choice
            lines.append(
                f"threshold t = {self.threshold:.4g} chosen for a false positive rate <= {c['target_fpr']:g} on the "
                f"{c['n_benign']} benign queries"
                + ("" if c["reached"] else " (not reachable: stage 1 alone exceeds it)")
            )
        return "\n".join(lines)

    def to_bundle(self) -> Bundle:
        arrays = {"phi": self.phi, "grad_norm": self.grad_norm}
        meta = {
            "definition": PHI_DEFINITION,
            "queries": self.queries,
            "labels": self.labels,
            "settings": self.settings,
            "model": self.model,
            "threshold_choice": self.threshold_choice,
        }
        return Bundle(kind=self.kind, meta=meta, arrays=arrays)

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> GradientCuffResult:
        m = bundle.meta
        phi, norms = bundle.array("phi"), bundle.array("grad_norm")
        queries = list(m.get("queries") or [])
        if not (len(queries) == len(phi) == len(norms) == len(m.get("labels") or [])):
            raise BundleError("gradient_cuff bundle: queries, labels, phi and grad_norm differ in length")
        return cls(
            queries,
            list(m["labels"]),
            phi,
            norms,
            dict(m.get("settings") or {}),
            m.get("model"),
            m.get("threshold_choice"),
        )


def run_gradient_cuff(
    model,
    tok,
    queries: LabelledPrompts | Sequence[str],
    settings: GradientCuffSettings | None = None,
    model_info: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GradientCuffResult:
    """Score every query (``LabelledPrompts`` for detection rates; plain strings have no label).

    Query i is sampled with seed ``settings.seed * 1_000_003 + 2 i`` (stage 1) and ``+ 1``
    (stage 2), so a run is reproducible and a query's scores do not depend on the others.
    """
    settings = settings or GradientCuffSettings()
    settings.check()
    if isinstance(queries, LabelledPrompts):
        texts, labels = queries.prompts, list(queries.labels)
    else:
        texts, labels = list(queries), [None] * len(queries)
    if not texts:
        raise InputError("no queries to score")
    dim = int(model.get_input_embeddings().weight.shape[-1])
    directions = gaussian_directions(dim, settings.p, settings.seed)
    phi, norms = [], []
    for i, q in enumerate(texts):
        score = score_query(model, tok, q, directions, settings, seed=settings.seed * 1_000_003 + 2 * i)
        phi.append(score.phi)
        norms.append(score.grad_norm)
        if progress is not None:
            progress(i + 1, len(texts))
    return GradientCuffResult(texts, labels, np.array(phi), np.array(norms), settings.to_dict(), model_info)
