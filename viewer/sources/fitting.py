"""Growth sources fitted on the fly, the way ``hubscape growth fit`` fits them."""

from __future__ import annotations

from pathlib import Path

from hubscape.core.bundle import Bundle


def growth_bundle_from_source(path: Path) -> Bundle:
    """Fit a growth source (children CSV or tree file) the way ``hubscape growth fit`` does."""
    from hubscape.analytics.growth.sources import load_series

    return growth_bundle(load_series([path]), source=str(path))


def growth_bundle(series: list, source: str, horizon: int = 12) -> Bundle:
    """An in-memory growth bundle of least-squares fits and forecasts of ``series``."""
    from hubscape.analytics.growth.analysis import analyze
    from hubscape.analytics.growth.growth_bundle import encode_results
    from hubscape.core.bundle import to_jsonable

    arrays, meta = encode_results([analyze(s, methods=("lsq",), horizon=horizon) for s in series], horizon)
    return Bundle(kind="growth", meta=to_jsonable(meta), arrays=arrays, provenance={"sources": [source]}, schema=1)
