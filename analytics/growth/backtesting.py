"""Backtests: fit each series up to a cutoff, forecast the held-out periods, score against baselines.

For every series and cutoff K (periods since release), each method is fitted on the data up to
K and its predictive distribution (:mod:`.forecast`) is scored at K + h for each horizon h:
the absolute percentage error of the point forecast and whether the 50% and 90% bands hold the
observed count. Two baselines are scored on the same rows: the last value carried forward and
the linear extrapolation of the last three periods. Methods:

- ``lsq``: least squares, parametric-bootstrap bands;
- ``mle``: maximum likelihood of the event times;
- ``mle+eb``: MAP under the empirical-Bayes Gamma prior on lambda (:mod:`.prior`), fitted at
  each cutoff across every series as it was at that age (Shen et al., AAAI 2014); where fewer
  than 5 series can inform a prior, plain maximum likelihood (what ``prior="auto"`` does).

Where a fit is not identifiable the method gives no point forecast to a user; the backtest
scores the median of its predictive distribution there (``identifiable`` is False on the row),
so that every method answers on every row and the comparison with the baselines is fair.

This is the test WSB failed in Wang, Mei & Hicks (Science 2014): on citations its long-range
forecasts lost to simple baselines. :func:`run_backtest` makes that comparison on any data::

    >>> bt = run_backtest(series, cutoffs=[6, 12], horizons=[3, 6, 12])
    >>> print(bt.report())                      # per method and horizon: median APE, coverage
    >>> bt.summary()["methods"][0]              # {"method": "lsq", "horizon": 3, ...}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.analytics.growth.threads import one_blas_thread
from hubscape.core.atomic import write_text
from hubscape.core.errors import InputError

METHODS: tuple[str, ...] = ("lsq", "mle", "mle+eb")
BASELINES: tuple[str, ...] = ("last value", "linear")
HORIZONS: tuple[int, ...] = (3, 6, 12)
#: Periods of history the linear baseline extrapolates.
LINEAR_WINDOW = 3
#: Fewest dated children before a cutoff for a series to be forecast there.
MIN_EVENTS = 5


def last_value(count_at_K: float, t: np.ndarray) -> np.ndarray:
    return np.full(t.shape, float(count_at_K))


def linear(past_t: np.ndarray, past_count: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The count's mean growth over the last LINEAR_WINDOW periods, carried on from the cutoff."""
    K, n_K = past_t[-1], past_count[-1]
    if past_t.size > LINEAR_WINDOW:
        slope = (n_K - past_count[-1 - LINEAR_WINDOW]) / (K - past_t[-1 - LINEAR_WINDOW])
    else:
        slope = n_K / K
    return n_K + slope * (t - K)


@dataclass
class BacktestResult:
    """Per-row forecasts and their per-method, per-horizon scores."""

    rows: list[dict[str, Any]]
    cutoffs: list[int]
    horizons: list[int]
    methods: list[str]
    unit: str
    priors: dict[int, dict | None] = field(default_factory=dict)
    """Per cutoff: the empirical-Bayes prior used by ``mle+eb`` (None: too few series)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """Models the sources had but that could not be counted (no usable children)."""

    def __repr__(self) -> str:
        n = len({(r["model"], r["cutoff"]) for r in self.rows})
        return (
            f"<BacktestResult: {n} forecasts (model x cutoff) at horizons {', '.join(map(str, self.horizons))} "
            f"{self.unit}s; methods {', '.join(self.methods)} vs {', '.join(BASELINES)}>"
        )

    def scores(self) -> list[dict[str, Any]]:
        out = []
        for method in [*self.methods, *BASELINES]:
            for h in self.horizons:
                rows = [r for r in self.rows if r["method"] == method and r["horizon"] == h and r["observed"] > 0]
                out.append(_score(method, h, rows, self.rows))
        return out

    def summary(self) -> dict[str, Any]:
        """Scores per method and horizon (``methods``) and every scored row (``rows``), JSON-able."""
        return {
            "unit": self.unit,
            "cutoffs": self.cutoffs,
            "horizons": self.horizons,
            "methods": self.scores(),
            "rows": self.rows,
            "priors": {str(k): v for k, v in self.priors.items()},
            "skipped": [{"model": m, "reason": why} for m, why in self.skipped],
        }

    def _repr_html_(self) -> str:
        import html

        head = [
            "method",
            "horizon",
            "n",
            "median APE",
            "coverage 50%",
            "coverage 90%",
            "beats last value",
            "beats linear",
        ]
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:right">{html.escape(str(c))}</td>'
                for c in (
                    s["method"],
                    s["horizon"],
                    s["n_series"],
                    _pct(s["median_ape"]),
                    _pct(s["coverage_50"]),
                    _pct(s["coverage_90"]),
                    _pct(s.get("beats_last_value")),
                    _pct(s.get("beats_linear")),
                )
            )
            + "</tr>"
            for s in self.scores()
        )
        return (
            f"<div><b>Backtest per {html.escape(self.unit)}</b><table><thead><tr>"
            + "".join(f"<th>{h}</th>" for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def save(self, path) -> Path:
        """Write :meth:`summary` as JSON, atomically (a backtest has no arrays worth a bundle)."""
        import json

        from hubscape.core.bundle import to_jsonable

        return write_text(path, json.dumps(to_jsonable(self.summary()), indent=1, allow_nan=False) + "\n")

    @classmethod
    def load(cls, path) -> BacktestResult:
        """Read a backtest written by :meth:`save`."""
        import json

        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            rows = [
                {k: (math.nan if v is None and k.startswith(("lower", "upper")) else v) for k, v in r.items()}
                for r in d["rows"]
            ]
            return cls(
                rows=rows,
                cutoffs=d["cutoffs"],
                horizons=d["horizons"],
                methods=list(dict.fromkeys(r["method"] for r in rows if r["method"] not in BASELINES)),
                unit=d["unit"],
                priors={int(k): v for k, v in d.get("priors", {}).items()},
                skipped=[(x["model"], x["reason"]) for x in d.get("skipped", [])],
            )
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path} is not a saved backtest ({exc})") from None

    def report(self) -> str:
        lines = [
            f"Backtest (cutoffs {', '.join(map(str, self.cutoffs))} {self.unit}s; horizons "
            f"{', '.join(map(str, self.horizons))}): median absolute percentage error, band coverage",
            f"{'method':12s} {'h':>3s} {'n':>4s} {'median APE':>10s} {'cov 50%':>8s} {'cov 90%':>8s} "
            f"{'beats last':>10s} {'beats linear':>12s}",
        ]
        for s in self.scores():
            lines.append(
                f"{s['method']:12s} {s['horizon']:3d} {s['n_series']:4d} {_pct(s['median_ape']):>10s} "
                f"{_pct(s['coverage_50']):>8s} {_pct(s['coverage_90']):>8s} "
                f"{_pct(s.get('beats_last_value')):>10s} {_pct(s.get('beats_linear')):>12s}"
            )
        return "\n".join(lines)


def _pct(value) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def _score(method: str, h: int, rows: list[dict], all_rows: list[dict]) -> dict[str, Any]:
    ape = np.array([abs(r["predicted"] - r["observed"]) / r["observed"] for r in rows])
    out: dict[str, Any] = {
        "method": method,
        "horizon": h,
        "n_series": len(rows),
        "median_ape": float(np.median(ape)) if ape.size else math.nan,
    }
    banded = [r for r in rows if math.isfinite(r["lower_90"])]
    out["coverage_50"] = (
        float(np.mean([r["lower_50"] <= r["observed"] <= r["upper_50"] for r in banded])) if banded else math.nan
    )
    out["coverage_90"] = (
        float(np.mean([r["lower_90"] <= r["observed"] <= r["upper_90"] for r in banded])) if banded else math.nan
    )
    if method not in BASELINES:
        ident = [r for r in rows if r["identifiable"]]
        out["n_identifiable"] = len(ident)
        out["median_ape_identifiable"] = (
            float(np.median([abs(r["predicted"] - r["observed"]) / r["observed"] for r in ident]))
            if ident
            else math.nan
        )
        index = {(r["model"], r["cutoff"], r["horizon"], r["method"]): r for r in all_rows}
        for base, key in zip(BASELINES, ("beats_last_value", "beats_linear")):
            wins = [
                abs(r["predicted"] - r["observed"])
                < abs(index[(r["model"], r["cutoff"], h, base)]["predicted"] - r["observed"])
                for r in rows
            ]
            out[key] = float(np.mean(wins)) if wins else math.nan
    return out


@one_blas_thread
def run_backtest(
    series: Sequence,
    cutoffs: Sequence[int] | None = None,
    horizons: Sequence[int] = HORIZONS,
    methods: Sequence[str] = METHODS,
    m: float = 30.0,
    seed: int = 0,
    progress=None,
) -> BacktestResult:
    """Backtest ``methods`` and the baselines on ``series`` (GrowthSeries, one unit)."""
    from hubscape.analytics.growth.forecast import forecast_at, point_or_median, truncate
    from hubscape.analytics.growth.lsq import fit_lsq
    from hubscape.analytics.growth.mle import fit_mle
    from hubscape.analytics.growth.prior import fit_gamma_prior

    series = list(series)
    if not series:
        raise InputError("a backtest needs at least one series")
    units = {s.unit for s in series}
    if len(units) > 1:
        raise InputError(f"a backtest needs one period unit, got {', '.join(sorted(units))}")
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods:
        raise InputError(f"unknown backtest method {', '.join(unknown) or '(none)'}; expected {', '.join(METHODS)}")
    horizons = sorted({int(h) for h in horizons})
    if not horizons or horizons[0] < 1:
        raise InputError("backtest horizons must be whole numbers of periods >= 1")
    longest = max(math.floor(s.observed_until + 1e-9) for s in series)
    if cutoffs is None:
        cutoffs = list(range(6, longest - horizons[0] + 1, 3))
    cutoffs = sorted({int(k) for k in cutoffs})
    if not cutoffs or cutoffs[0] < 1:
        raise InputError("backtest cutoffs must be whole numbers of periods >= 1")
    if cutoffs[0] + horizons[0] > longest:
        raise InputError(
            f"no series is observed beyond cutoff {cutoffs[0]} + horizon {horizons[0]} "
            f"(the longest has {longest} {series[0].unit}s)"
        )
    rows: list[dict[str, Any]] = []
    priors: dict[int, dict | None] = {}
    for K in cutoffs:
        seen = [s for s in series if s.observed_until >= K and s.events[s.events <= K].size >= MIN_EVENTS]
        pasts = [truncate(s, K) for s in seen]
        prior = fit_gamma_prior(pasts, m=m) if "mle+eb" in methods else None
        priors[K] = None if prior is None else prior.summary()
        for s, past in zip(seen, pasts):
            hs = [h for h in horizons if K + h <= math.floor(s.observed_until + 1e-9)]
            if not hs or past.t.size < 5:
                continue
            t = np.array([K + h for h in hs], dtype=float)
            observed = np.searchsorted(s.events, t, side="right").astype(float)
            for method in methods:
                if method == "lsq":
                    fit = fit_lsq(past, m=m, seed=seed)
                else:  # the forecast draws from the posterior itself: no profile interval needed
                    fit = fit_mle(past, m=m, prior=prior if method == "mle+eb" else None, intervals=False)
                fc = forecast_at(fit, past, t, seed=seed)
                point = point_or_median(fc)
                for j, h in enumerate(hs):
                    rows.append(
                        {
                            "model": s.model,
                            "cutoff": K,
                            "horizon": h,
                            "method": method,
                            "observed": float(observed[j]),
                            "predicted": float(point[j]),
                            "lower_50": float(fc.lo50[j]),
                            "upper_50": float(fc.hi50[j]),
                            "lower_90": float(fc.lo[j]),
                            "upper_90": float(fc.hi[j]),
                            "identifiable": bool(fit.identifiable),
                            "count_at_cutoff": float(past.count[-1]),
                        }
                    )
            for base, values in (
                ("last value", last_value(past.count[-1], t)),
                ("linear", linear(past.t, past.count, t)),
            ):
                for j, h in enumerate(hs):
                    rows.append(
                        {
                            "model": s.model,
                            "cutoff": K,
                            "horizon": h,
                            "method": base,
                            "observed": float(observed[j]),
                            "predicted": float(values[j]),
                            "lower_50": math.nan,
                            "upper_50": math.nan,
                            "lower_90": math.nan,
                            "upper_90": math.nan,
                            "identifiable": True,
                            "count_at_cutoff": float(past.count[-1]),
                        }
                    )
            if progress is not None:
                progress(s.model, K)
    return BacktestResult(
        rows=rows, cutoffs=cutoffs, horizons=horizons, methods=list(methods), unit=series[0].unit, priors=priors
    )
