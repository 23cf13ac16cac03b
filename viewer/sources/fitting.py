"""Growth sources fitted on the fly, the way ``hubscape growth fit`` fits them."""

from __future__ import annotations

from pathlib import Path

from hubscape.core.bundle import Bundle


def growth_bundle_from_source(path: Path) -> Bundle:
    """Fit a growth source (children CSV or tree file) the way ``hubscape growth fit`` does."""
    from hubscape.analytics.growth.sources import load_series

    return growth_bundle(load_series(path), source=str(path))


def growth_bundle(series: list, source: str, horizon: int = 12) -> Bundle:
    """An in-memory growth bundle of ``series`` fitted with the default method and prior."""
    from hubscape.analytics.growth import api

    results = api.fit(series, horizon=horizon)
    results.provenance["sources"] = [source]
    return results.to_bundle()
