"""Growth results <-> growth bundle files (the key layout is in docs/bundles.md, "growth").

The codec itself is :func:`~.results.encode_results` / :func:`~.results.decode_results`
(every number in the bundle's metadata is a result's ``summary()``); these are the file
functions. A bundle read back compares equal field by field (arrays bit for bit; NaN in the
JSON part is stored as null and read back as NaN)::

    >>> write_growth_bundle("fits.safetensors", results)
    >>> [r.model for r in read_growth_bundle("fits.safetensors")]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hubscape.analytics.growth.results import GrowthResult, GrowthResults, decode_results, encode_results
from hubscape.core.bundle import read_bundle

__all__ = ["encode_results", "read_growth_bundle", "write_growth_bundle"]


def write_growth_bundle(
    path: str | Path,
    results: Sequence[GrowthResult],
    horizon: int | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``results`` as one growth bundle, atomically (``horizon`` is kept for old callers)."""
    run = GrowthResults(
        results,
        skipped=getattr(results, "skipped", ()),
        prior=getattr(results, "prior", None),
        provenance={**getattr(results, "provenance", {}), **(provenance or {})},
    )
    return run.save(path)


def read_growth_bundle(path: str | Path) -> GrowthResults:
    """Read a growth bundle back into GrowthResults (one per model, in stored order)."""
    return decode_results(read_bundle(path, kind="growth"), name=str(path))
