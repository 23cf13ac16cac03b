"""Prompt sets: the packaged harmful and matched benign prompts, files of your own, labels, splits.

``harmful`` and ``benign`` name the packaged sets (data/README.md: 48 each, line i of one the
twin of line i of the other; prompts only). Anything else is a UTF-8 text file, one prompt per
line. A labelled file has ``LABEL<TAB>PROMPT`` lines, LABEL ``benign`` or ``malicious``
(``harmful`` is read as malicious).

Example::

    >>> harmful, benign = packaged_prompts("harmful"), packaged_prompts("benign")
    >>> train, test = split_indices(len(harmful), n_test=16, seed=0)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from hubscape.core.errors import InputError

PACKAGED = ("harmful", "benign")
BENIGN, MALICIOUS = "benign", "malicious"
_LABELS = {"benign": BENIGN, "malicious": MALICIOUS, "harmful": MALICIOUS}


@dataclass(frozen=True)
class LabelledPrompts:
    """Prompts with a label each (benign or malicious)."""

    prompts: list[str]
    labels: list[str]

    def __post_init__(self):
        if len(self.prompts) != len(self.labels):
            raise InputError(f"{len(self.prompts)} prompts but {len(self.labels)} labels")

    @property
    def malicious(self) -> np.ndarray:
        """Boolean mask of the malicious prompts."""
        return np.array([lab == MALICIOUS for lab in self.labels], dtype=bool)

    def __add__(self, other: LabelledPrompts) -> LabelledPrompts:
        return LabelledPrompts(self.prompts + other.prompts, self.labels + other.labels)


def packaged_prompts(name: str) -> list[str]:
    """The packaged ``harmful`` or ``benign`` prompts, in file order."""
    if name not in PACKAGED:
        raise InputError(f"no packaged prompt set {name!r}; there are {', '.join(PACKAGED)}")
    text = (files("hubscape.analytics.safety") / "data" / f"{name}.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def read_prompts(source: str | Path) -> list[str]:
    """A packaged set by name, or the non-empty lines of a UTF-8 text file."""
    if str(source) in PACKAGED:
        return packaged_prompts(str(source))
    lines = _lines(source)
    return [ln.strip() for ln in lines]


def read_labelled(source: str | Path) -> LabelledPrompts:
    """``LABEL<TAB>PROMPT`` lines (a packaged set by name takes its own label)."""
    if str(source) in PACKAGED:
        prompts = packaged_prompts(str(source))
        return LabelledPrompts(prompts, [_LABELS[str(source)]] * len(prompts))
    prompts, labels = [], []
    for n, line in enumerate(_lines(source), 1):
        label, sep, prompt = line.partition("\t")
        if not sep or label.strip().lower() not in _LABELS or not prompt.strip():
            raise InputError(
                f"{source} line {n}: expected 'LABEL<TAB>PROMPT' with LABEL benign or malicious, got {line[:60]!r}"
            )
        labels.append(_LABELS[label.strip().lower()])
        prompts.append(prompt.strip())
    return LabelledPrompts(prompts, labels)


def split_indices(n: int, n_test: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """A seeded random split of ``range(n)`` into (train, test) index lists, each in order.

    The packaged sets are twins line by line, so one split of the indices keeps every twin
    pair on the same side.
    """
    if not 0 < n_test < n:
        raise InputError(f"cannot hold out {n_test} of {n} prompts; need 0 < held out < {n}")
    order = np.random.default_rng(seed).permutation(n)
    return sorted(order[n_test:].tolist()), sorted(order[:n_test].tolist())


def _lines(source: str | Path) -> list[str]:
    path = Path(source)
    if not path.is_file():
        raise InputError(f"no such prompt file: {source} (or name a packaged set: {', '.join(PACKAGED)})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source} is not UTF-8 text (one prompt per line)") from None
    lines = [ln.rstrip("\r") for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{source} holds no prompts (one per line)")
    return lines
