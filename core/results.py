"""The verbs every hubscape result shares, as lmfit's ModelResult and huggingface_hub's typed
results have them: a one-line repr, a JSON summary, a text report, an HTML report for Jupyter,
and a round trip through its bundle, in memory or on disk.

A result type subclasses :class:`Result`, sets ``kind`` (its bundle kind, docs/bundles.md),
writes a one-line ``__repr__`` and implements ``summary``, ``report``, ``to_bundle`` and
``from_bundle``; ``save``, ``load`` and ``_repr_html_`` come from those (a type may draw an HTML
table of its own). ``summary()`` is the one serializer of a result's numbers: the CLI's
``--json``, bundle metadata and reports all read it. ``to_bundle()`` is how ``hs.scene``,
``hs.show`` and ``hs.export`` take a result without a file round trip.

Example::

    >>> results = hs.growth.fit("children.csv")
    >>> results[0]                   # <GrowthResult microsoft/phi-2 ...> (one line)
    >>> results[0].summary()         # JSON-able numbers
    >>> results.save("fits.safetensors"); hs.load("fits.safetensors")
"""

from __future__ import annotations

import abc
import html
import os
from pathlib import Path
from typing import Any, ClassVar

from .bundle import Bundle, read_bundle, write_bundle


class Result(abc.ABC):
    """Base class of hubscape's result types (growth fits, landscapes, activation maps)."""

    #: The bundle kind this result is saved as.
    kind: ClassVar[str]

    @abc.abstractmethod
    def summary(self) -> dict[str, Any]:
        """The result's numbers as a JSON-able dict (no long arrays)."""

    @abc.abstractmethod
    def report(self) -> str:
        """A plain-text report for a terminal or a log: what was computed and what it says."""

    @abc.abstractmethod
    def to_bundle(self) -> Bundle:
        """The result as an in-memory bundle of its kind (arrays, metadata, provenance)."""

    @classmethod
    @abc.abstractmethod
    def from_bundle(cls, bundle: Bundle) -> Result:
        """The result a bundle of this kind holds; BundleError if its insides do not fit."""

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result's bundle atomically to ``path`` and return the path."""
        b = self.to_bundle()
        return write_bundle(path, b.kind, b.arrays, b.meta, b.provenance)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Result:
        """Read a result back from its bundle file; BundleError if the file is not one."""
        return cls.from_bundle(read_bundle(path, kind=cls.kind))

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.report())}</pre>"
