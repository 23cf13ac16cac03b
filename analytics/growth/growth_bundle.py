"""Growth results <-> growth bundles (the key layout is in docs/bundles.md, "growth").

Everything in a :class:`GrowthResult` goes into the bundle, so a bundle read back with
:func:`read_growth_bundle` compares equal field by field (arrays bit for bit; NaN in the
JSON part is stored as null and read back as NaN)::

    >>> write_growth_bundle("fits.safetensors", results, horizon=12)
    >>> [r.model for r in read_growth_bundle("fits.safetensors")]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.analytics.growth.results import PARAM_NAMES, Backtest, FitResult, Forecast, GrowthResult
from hubscape.analytics.growth.series import GrowthSeries
from hubscape.core.bundle import read_bundle, write_bundle
from hubscape.core.errors import BundleError

_SERIES_COUNTS = ("n_listed", "n_missing_dates", "n_duplicates", "n_before_release", "n_multi_base")


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _fit_meta(fit: FitResult) -> dict[str, Any]:
    se = fit.stderr
    out: dict[str, Any] = {
        name: {"value": float(v), "stderr": float(e)} for name, v, e in zip(PARAM_NAMES, fit.params, se)
    }
    out["c_inf"] = {"value": fit.c_inf, "stderr": fit.c_inf_stderr, "lower_bound": fit.c_inf_lower_bound}
    out.update(
        r2=fit.r2,
        rmse=fit.rmse,
        aic=fit.aic,
        bic=fit.bic,
        identifiable=fit.identifiable,
        reasons=list(fit.reasons),
        success=fit.success,
        message=fit.message,
        m=fit.m,
    )
    if fit.method == "mle":
        out.update(log_likelihood=fit.log_likelihood, prior=fit.prior)
    return out


def encode_results(results: Sequence[GrowthResult], horizon: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a growth bundle holding ``results`` (all in one unit and m)."""
    if not results:
        raise BundleError("a growth bundle needs at least one model")
    units = {r.series.unit for r in results}
    if len(units) > 1:
        raise BundleError(f"a growth bundle holds one period unit, got {', '.join(sorted(units))}")
    methods = list(dict.fromkeys(name for r in results for name in r.fits))
    ms = {fit.m for r in results for fit in r.fits.values()}
    arrays: dict[str, np.ndarray] = {}
    models = []
    for i, r in enumerate(results):
        s = r.series
        arrays[f"models/{i}/t"] = s.t
        arrays[f"models/{i}/count"] = s.count
        arrays[f"models/{i}/events"] = s.events
        entry: dict[str, Any] = {
            "model": s.model,
            "relations": list(s.relations),
            "release_date": s.release_date,
            "release_source": s.release_source,
            "release_reason": s.release_reason,
            "snapshot": s.snapshot,
            "source": s.source,
            "observed_until": s.observed_until,
            "n_events": s.n_events,
            **{name: getattr(s, name) for name in _SERIES_COUNTS},
            "floor_dated": s.floor_dated,
            "truncated": s.truncated,
            "notes": list(s.notes),
            "fits": {},
            "anomalous_periods": list(r.anomalous_periods),
            "poor_fit": r.poor_fit,
        }
        for name, fit in r.fits.items():
            key = f"models/{i}/{name}"
            arrays[f"{key}/params"] = fit.params
            arrays[f"{key}/cov"] = fit.cov
            arrays[f"{key}/fitted"] = fit.fitted
            entry["fits"][name] = _fit_meta(fit)
            fc = r.forecasts.get(name)
            if fc is not None:
                arrays[f"{key}/forecast_t"] = fc.t
                arrays[f"{key}/forecast"] = fc.mean
                arrays[f"{key}/forecast_lo"] = fc.lo
                arrays[f"{key}/forecast_hi"] = fc.hi
                entry["fits"][name]["forecast_level"] = fc.level
            bt = r.backtests.get(name)
            if bt is not None:
                arrays[f"{key}/backtest_t"] = bt.t
                arrays[f"{key}/backtest_observed"] = bt.observed
                arrays[f"{key}/backtest_predicted"] = bt.predicted
                entry["fits"][name]["backtest"] = {
                    "k": bt.k,
                    "mape": bt.mape,
                    "rmse": bt.rmse,
                    "identifiable": bt.identifiable,
                }
        models.append(entry)
    meta = {
        "unit": units.pop(),
        "m": ms.pop() if len(ms) == 1 else None,
        "methods": methods,
        "horizon": horizon,
        "models": models,
    }
    return {k: np.asarray(v, dtype=float) for k, v in arrays.items()}, meta


def write_growth_bundle(
    path: str | Path, results: Sequence[GrowthResult], horizon: int, provenance: dict[str, Any] | None = None
) -> Path:
    """Write ``results`` as one growth bundle, atomically."""
    arrays, meta = encode_results(results, horizon)
    sources = sorted({r.series.source for r in results})
    return write_bundle(path, "growth", arrays, meta, {"sources": sources, **(provenance or {})})


def _date(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def read_growth_bundle(path: str | Path) -> list[GrowthResult]:
    """Read a growth bundle back into GrowthResults (one per model, in stored order)."""
    bundle = read_bundle(path, kind="growth")
    meta = bundle.meta
    try:
        unit = meta["unit"]
        results = []
        for i, entry in enumerate(meta["models"]):
            key = f"models/{i}"
            series = GrowthSeries(
                model=entry["model"],
                unit=unit,
                t=bundle.array(f"{key}/t"),
                count=bundle.array(f"{key}/count"),
                events=bundle.array(f"{key}/events"),
                observed_until=float(entry["observed_until"]),
                release_date=_date(entry["release_date"]),
                release_source=entry["release_source"],
                release_reason=entry.get("release_reason", ""),
                snapshot=_date(entry.get("snapshot")),
                relations=tuple(entry.get("relations", ())),
                source=entry.get("source", ""),
                **{name: int(entry.get(name, 0)) for name in _SERIES_COUNTS},
                floor_dated=bool(entry.get("floor_dated")),
                truncated=bool(entry.get("truncated")),
                notes=list(entry.get("notes", [])),
            )
            result = GrowthResult(
                series=series,
                anomalous_periods=[int(p) for p in entry.get("anomalous_periods", [])],
                poor_fit=bool(entry.get("poor_fit")),
            )
            for name, fm in entry.get("fits", {}).items():
                fkey = f"{key}/{name}"
                prior = fm.get("prior")
                result.fits[name] = FitResult(
                    method=name,
                    m=float(fm.get("m", meta.get("m") or math.nan)),
                    params=bundle.array(f"{fkey}/params"),
                    cov=bundle.array(f"{fkey}/cov"),
                    fitted=bundle.array(f"{fkey}/fitted"),
                    r2=_float(fm.get("r2")),
                    rmse=_float(fm.get("rmse")),
                    aic=_float(fm.get("aic")),
                    bic=_float(fm.get("bic")),
                    log_likelihood=_float(fm.get("log_likelihood")),
                    success=bool(fm.get("success")),
                    identifiable=bool(fm.get("identifiable")),
                    reasons=list(fm.get("reasons", [])),
                    c_inf_lower_bound=_float((fm.get("c_inf") or {}).get("lower_bound")),
                    prior=None if prior is None else {k: float(v) for k, v in prior.items()},
                    message=fm.get("message", ""),
                )
                if f"{fkey}/forecast_t" in bundle.arrays:
                    result.forecasts[name] = Forecast(
                        t=bundle.array(f"{fkey}/forecast_t"),
                        mean=bundle.array(f"{fkey}/forecast"),
                        lo=bundle.array(f"{fkey}/forecast_lo"),
                        hi=bundle.array(f"{fkey}/forecast_hi"),
                        level=float(fm.get("forecast_level", 0.9)),
                    )
                bt = fm.get("backtest")
                if bt is not None:
                    result.backtests[name] = Backtest(
                        k=int(bt["k"]),
                        t=bundle.array(f"{fkey}/backtest_t"),
                        observed=bundle.array(f"{fkey}/backtest_observed"),
                        predicted=bundle.array(f"{fkey}/backtest_predicted"),
                        mape=_float(bt.get("mape")),
                        rmse=_float(bt.get("rmse")),
                        identifiable=bool(bt.get("identifiable")),
                    )
            results.append(result)
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: growth bundle meta is incomplete or malformed ({exc!r})") from None
    return results
