"""Typed results of a growth analysis: one fit, one forecast, everything about one model, a run.

These are what the estimators return, what the growth bundle stores and what the viewer
reads back. Each has one serializer, ``summary()`` (JSON-able; NaN for what is unknown): the
CLI's ``--json``, the bundle's metadata (:func:`encode_results`, the codec of the growth
bundle) and the reports all read it. :class:`GrowthResult` (one model) and
:class:`GrowthResults` (a run, list-like) are hubscape Results: a one-line repr, ``report()``,
``_repr_html_()`` (the growth table), ``save(path)`` and ``load(path)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.gof import TimeRescaling, compensator
from hubscape.analytics.growth.series import GrowthSeries
from hubscape.core.bundle import Bundle
from hubscape.core.errors import BundleError
from hubscape.core.results import Result

#: Parameter order of every params vector and covariance matrix.
PARAM_NAMES: tuple[str, str, str] = ("mu", "sigma", "lambda")
#: The confidence level of every interval and of the outer forecast band.
INTERVAL_LEVEL = 0.9


@dataclass
class FitResult:
    """A fitted WSB curve: parameters, their covariance, fit quality and identifiability.

    ``c_inf`` is NaN when the fit is not identifiable (the data cannot bound the saturation
    count): then only ``c_inf_lower_bound`` (the count observed so far) is a safe statement.
    """

    method: str
    """"lsq" (least squares on the cumulative counts) or "mle" (likelihood of event times)."""
    m: float
    params: np.ndarray
    """(mu, sigma, lambda); NaN if no fit was possible."""
    cov: np.ndarray
    """3x3 covariance of (mu, sigma, lambda); NaN where not estimable."""
    fitted: np.ndarray
    """The fitted curve at the series' t, the one to compare with the counts (``fitted_curve`` says which)."""
    r2: float = math.nan
    rmse: float = math.nan
    aic: float = math.nan
    bic: float = math.nan
    log_likelihood: float = math.nan
    success: bool = False
    identifiable: bool = False
    reasons: list[str] = field(default_factory=list)
    """Why the fit is not identifiable (empty when it is)."""
    c_inf_lower_bound: float = math.nan
    prior: dict[str, Any] | None = None
    """The Gamma prior on lambda (MLE only): {"shape": a, "rate": b, "source": "user" | "empirical Bayes"}."""
    message: str = ""
    lam_interval: tuple[float, float] = (math.nan, math.nan)
    """The 90% interval of lambda (``interval_method`` says how); hi is inf when unbounded."""
    interval_method: str = ""
    dispersion: float = 1.0
    """Quasi-likelihood dispersion of the new counts per period around the fitted process (>= 1)."""
    gof: TimeRescaling | None = None
    """The time-rescaling test of the fitted process on the events (None where not computed)."""
    fitted_curve: str = "mean curve"
    """What ``fitted`` (and R^2) is: "compensator" (mle: the count expected given the path's own
    history, see :mod:`.gof`) or "mean curve" (lsq: the mean curve c(t) it fitted)."""
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)
    """(k, 3) parameter draws behind the forecast band (least squares: the bootstrap refits); not saved."""

    def __post_init__(self):
        # plain Python floats and float64 arrays, whatever numpy scalar a fitter handed in
        for name in ("m", "r2", "rmse", "aic", "bic", "log_likelihood", "c_inf_lower_bound", "dispersion"):
            setattr(self, name, float(getattr(self, name)))
        self.success, self.identifiable = bool(self.success), bool(self.identifiable)
        self.params = np.asarray(self.params, dtype=float)
        self.cov = np.asarray(self.cov, dtype=float)
        self.fitted = np.asarray(self.fitted, dtype=float)
        self.lam_interval = (float(self.lam_interval[0]), float(self.lam_interval[1]))

    @property
    def mu(self) -> float:
        return float(self.params[0])

    @property
    def sigma(self) -> float:
        return float(self.params[1])

    @property
    def lam(self) -> float:
        return float(self.params[2])

    @property
    def stderr(self) -> np.ndarray:
        """Standard errors of (mu, sigma, lambda); NaN where not estimable."""
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self.cov))

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix of (mu, sigma, lambda)."""
        s = self.stderr
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.cov / np.outer(s, s)

    @property
    def c_inf_estimate(self) -> float:
        """m (e^lambda - 1) at the fitted lambda, whether or not the data bound it."""
        return float(wsb.c_inf(self.lam, self.m)) if np.isfinite(self.lam) else math.nan

    @property
    def c_inf(self) -> float:
        """The saturation count, or NaN when the fit is not identifiable."""
        return self.c_inf_estimate if self.identifiable else math.nan

    @property
    def c_inf_stderr(self) -> float:
        """Delta-method standard error of c_inf (NaN when not identifiable)."""
        if not self.identifiable:
            return math.nan
        return float(self.m * math.exp(self.lam) * self.stderr[2])

    @property
    def c_inf_interval(self) -> tuple[float, float]:
        """The 90% interval of c_inf = m (e^lambda - 1) from that of lambda (NaN if none)."""
        lo, hi = self.lam_interval
        return (
            float(wsb.c_inf(lo, self.m)) if math.isfinite(lo) else math.nan,
            float(wsb.c_inf(hi, self.m)) if math.isfinite(hi) else (math.inf if hi == math.inf else math.nan),
        )

    @property
    def status(self) -> str:
        """ "identifiable", "not identifiable: <reasons>" or "not fitted: <reason>" (one line)."""
        if not np.all(np.isfinite(self.params)):
            why = self.reasons[0] if self.reasons else "not fitted"
            return why if why.startswith("not fitted") else f"not fitted: {why}"
        if self.identifiable:
            return "identifiable"
        return "not identifiable: " + "; ".join(self.reasons)

    @property
    def t_peak(self) -> float:
        """When the fitted rate of new children peaks (in the series' unit); NaN without a fit."""
        if not np.all(np.isfinite(self.params)):
            return math.nan
        return wsb.peak_time(self.mu, self.sigma, self.lam)

    def curve(self, t) -> np.ndarray:
        """c(t) under the fitted parameters."""
        return wsb.cumulative(t, *self.params, m=self.m)

    def summary(self) -> dict[str, Any]:
        """The fit as a JSON-able dict: THE serializer of a fit (CLI --json, bundle meta, reports).

        NaN stays NaN here (``core.bundle.to_jsonable`` makes it null); ``c_inf.value`` and
        ``c_inf.stderr`` are NaN unless the fit is identifiable, its interval is always given.
        """
        se = self.stderr
        out: dict[str, Any] = {"method": self.method, "m": self.m, "status": self.status}
        for name, v, e in zip(PARAM_NAMES, self.params, se, strict=True):
            out[name] = {"value": float(v), "stderr": float(e)}
        out["lambda"]["interval"] = list(self.lam_interval)
        out["c_inf"] = {
            "value": self.c_inf,
            "stderr": self.c_inf_stderr,
            "lower_bound": self.c_inf_lower_bound,
            "interval": list(self.c_inf_interval),
        }
        out.update(
            interval_level=INTERVAL_LEVEL,
            interval_method=self.interval_method,
            dispersion=self.dispersion,
            fitted_curve=self.fitted_curve,
            r2=self.r2,
            rmse=self.rmse,
            aic=self.aic,
            bic=self.bic,
            t_peak=self.t_peak,
            gof=None if self.gof is None else self.gof.summary(),
            identifiable=self.identifiable,
            reasons=list(self.reasons),
            success=self.success,
            message=self.message,
        )
        if self.method == "mle":
            out.update(log_likelihood=self.log_likelihood, prior=self.prior)
        return out

    @classmethod
    def from_summary(cls, d: dict[str, Any], params, cov, fitted) -> FitResult:
        """The fit back from :meth:`summary` and its arrays (as a growth bundle stores them)."""
        interval = (d.get("lambda") or {}).get("interval") or [None, None]
        prior = d.get("prior")
        return cls(
            method=d["method"],
            m=_float(d.get("m")),
            params=params,
            cov=cov,
            fitted=fitted,
            r2=_float(d.get("r2")),
            rmse=_float(d.get("rmse")),
            aic=_float(d.get("aic")),
            bic=_float(d.get("bic")),
            log_likelihood=_float(d.get("log_likelihood")),
            success=bool(d.get("success")),
            identifiable=bool(d.get("identifiable")),
            reasons=list(d.get("reasons", [])),
            c_inf_lower_bound=_float((d.get("c_inf") or {}).get("lower_bound")),
            prior=None if prior is None else dict(prior),
            message=d.get("message", ""),
            lam_interval=_interval(interval),
            interval_method=d.get("interval_method", ""),
            dispersion=_float(d.get("dispersion", 1.0)),
            gof=TimeRescaling.from_summary(d.get("gof")),
            fitted_curve=d.get("fitted_curve", "mean curve"),
        )


def _float(value: Any) -> float:
    """A JSON number back as a float (null is NaN)."""
    return math.nan if value is None else float(value)


def _interval(pair) -> tuple[float, float]:
    """An interval back from JSON: a null upper end above a number is unbounded (inf)."""
    lo, hi = _float(pair[0]), _float(pair[1])
    return lo, (math.inf if math.isfinite(lo) and pair[1] is None else hi)


@dataclass
class Forecast:
    """The predictive distribution of the count beyond the data (see :mod:`.forecast`).

    ``point`` is the point forecast, the median of the predictive distribution (NaN where the
    fit is not identifiable); ``lo``/``hi`` the central 90% and ``lo50``/``hi50`` the central
    50% of that same distribution (parameter uncertainty and the arrivals' own randomness), and
    ``median`` its median also where there is no point.
    """

    t: np.ndarray
    point: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    level: float = 0.9
    lo50: np.ndarray | None = None
    hi50: np.ndarray | None = None
    median: np.ndarray | None = None
    lower_bound: float = math.nan
    """The count at the snapshot: the count can only grow from there."""
    dispersion: float = 1.0
    note: str = ""
    """Why there is no point forecast or no band (empty when both exist)."""

    def __post_init__(self):
        nan = np.full(np.shape(self.t), np.nan)
        for name in ("t", "point", "lo", "hi", "lo50", "hi50", "median"):
            value = getattr(self, name)
            setattr(self, name, nan.copy() if value is None else np.asarray(value, dtype=float))
        self.level, self.lower_bound, self.dispersion = (
            float(self.level),
            float(self.lower_bound),
            float(self.dispersion),
        )

    #: summary() keys of the arrays, and the bundle array suffix each is stored under.
    ARRAYS = {
        "t": "forecast_t",
        "point": "forecast",
        "lower_90": "forecast_lo",
        "upper_90": "forecast_hi",
        "lower_50": "forecast_lo50",
        "upper_50": "forecast_hi50",
        "median": "forecast_median",
    }

    def summary(self) -> dict[str, Any]:
        """The forecast as a JSON-able dict (``point`` NaN where there is no point forecast)."""
        values = {
            "t": self.t,
            "point": self.point,
            "lower_90": self.lo,
            "upper_90": self.hi,
            "lower_50": self.lo50,
            "upper_50": self.hi50,
            "median": self.median,
        }
        return {
            **{k: v.tolist() for k, v in values.items()},
            "level": self.level,
            "lower_bound": self.lower_bound,
            "dispersion": self.dispersion,
            "note": self.note,
        }


@dataclass
class Backtest:
    """Fit on the first ``k`` periods, predict the rest: how far off was it?"""

    k: int
    t: np.ndarray
    observed: np.ndarray
    predicted: np.ndarray
    mape: float
    rmse: float
    identifiable: bool = False
    """Whether the fit of the first k periods was identifiable (if not, the prediction is the predictive median)."""

    def summary(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "mape": self.mape,
            "rmse": self.rmse,
            "identifiable": self.identifiable,
            "t": self.t.tolist(),
            "observed": self.observed.tolist(),
            "predicted": self.predicted.tolist(),
        }


def _months(periods: list[int], unit: str) -> list[int]:
    """The months (1-based, since release) that contain the given periods of ``unit``."""
    from hubscape.analytics.growth.series import PERIOD_DAYS

    scale = PERIOD_DAYS[unit] / PERIOD_DAYS["month"]
    return sorted({math.ceil(p * scale - 1e-9) for p in periods})


@dataclass(repr=False)
class GrowthResult(Result):
    """Everything hubscape knows about one base model's growth: its series, fits, forecasts.

    >>> r = hs.growth.fit("children.csv", methods="mle")[0]
    >>> r                                  # one line
    >>> print(r.report()); r.summary()["fits"]["mle"]["c_inf"]
    >>> r.save("phi-2.safetensors"); GrowthResult.load("phi-2.safetensors")
    """

    kind: ClassVar[str] = "growth"

    series: GrowthSeries
    fits: dict[str, FitResult] = field(default_factory=dict)
    forecasts: dict[str, Forecast] = field(default_factory=dict)
    backtests: dict[str, Backtest] = field(default_factory=dict)
    """Per method, when asked for: fit on the first k periods, forecast the rest."""
    anomalous_periods: list[int] = field(default_factory=list)
    """Periods (1-based) with an abrupt jump in new children."""
    poor_fit: bool = False
    """True if the first method's fitted process fails its goodness-of-fit test (time rescaling, :mod:`.gof`)."""

    @property
    def model(self) -> str:
        return self.series.model

    def fit_curve(self, method: str, t) -> np.ndarray:
        """The ``method`` fit at times ``t`` (<= the snapshot) as its ``fitted`` array shows it.

        mle: the compensator along the observed children (what the fitted process expects given
        this path's history); lsq: the mean curve c(t).
        """
        fit = self.fits[method]
        if fit.fitted_curve == "compensator":
            return compensator(t, self.series.events, fit.params, fit.m)
        return fit.curve(t)

    def __repr__(self) -> str:
        s = self.series
        head = f"<GrowthResult {s.model}: {s.n_events} children over {s.observed_until:.3g} {s.unit}s"
        parts = []
        for name, fit in self.fits.items():
            if fit.identifiable:
                lo, hi = fit.c_inf_interval
                band = f" [{lo:.4g}, {hi:.4g}]" if math.isfinite(lo) and math.isfinite(hi) else ""
                parts.append(f"{name} c_inf {fit.c_inf:.4g}{band}")
            else:
                parts.append(f"{name} {fit.status.split(':')[0]}")
        return head + ("; " + ", ".join(parts) if parts else "") + ">"

    def summary(self) -> dict[str, Any]:
        """The result as a JSON-able dict: series provenance, and per method fit, forecast, backtest."""
        return {
            "model": self.model,
            "series": self.series.summary(),
            "fits": {name: fit.summary() for name, fit in self.fits.items()},
            "forecasts": {name: fc.summary() for name, fc in self.forecasts.items()},
            "backtests": {name: bt.summary() for name, bt in self.backtests.items()},
            "anomalous_periods": list(self.anomalous_periods),
            "anomalous_months": _months(self.anomalous_periods, self.series.unit),
            "poor_fit": self.poor_fit,
        }

    def report(self) -> str:
        """A text report: the data and where its release date came from, then each method's fit."""
        from hubscape.analytics.growth.table import result_report

        return result_report(self)

    def _repr_html_(self) -> str:
        from hubscape.analytics.growth.table import html_table

        return html_table([self], next(iter(self.fits)), notes=True) if self.fits else super()._repr_html_()

    def to_bundle(self) -> Bundle:
        return GrowthResults([self]).to_bundle()

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> GrowthResult:
        results = GrowthResults.from_bundle(bundle)
        if len(results) != 1:
            raise BundleError(f"this growth bundle holds {len(results)} models; load it as GrowthResults")
        return results[0]


class GrowthResults(list, Result):
    """The results of a run, one per model, as a list; with a table report and one bundle.

    >>> results = hs.growth.fit(["a.csv", "trees/"], methods=("lsq", "mle"))
    >>> results                            # <GrowthResults: 21 models, ...>
    >>> results[0], len(results), results.skipped, results.prior
    >>> print(results.report()); results.save("fits.safetensors")
    """

    kind: ClassVar[str] = "growth"

    def __init__(self, results=(), skipped=(), prior=None, provenance=None):
        super().__init__(results)
        self.skipped: list[tuple[str, str]] = list(skipped)
        """Models left out, and why (no usable children)."""
        self.prior = prior
        """The empirical-Bayes Gamma prior on lambda used by "mle" (a GammaPrior), if any."""
        self.provenance: dict[str, Any] = dict(provenance or {})

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(name for r in self for name in r.fits))

    def __repr__(self) -> str:
        unit = self[0].series.unit if self else "month"
        counts = ", ".join(
            f"{sum(r.fits[m].identifiable for r in self if m in r.fits)} identifiable by {m}" for m in self.methods
        )
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        return f"<GrowthResults: {len(self)} models per {unit}{skipped}" + (f"; {counts}" if counts else "") + ">"

    def summary(self) -> dict[str, Any]:
        return {
            "unit": self[0].series.unit if self else None,
            "methods": self.methods,
            "prior": None if self.prior is None else self.prior.summary(),
            "skipped": [{"model": m, "reason": why} for m, why in self.skipped],
            "models": [r.summary() for r in self],
        }

    def report(self) -> str:
        from hubscape.analytics.growth.table import text_table

        parts = [text_table(self, method) for method in self.methods] or ["no models"]
        if self.skipped:
            parts.append("Skipped: " + "; ".join(f"{m} ({why})" for m, why in self.skipped))
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        from hubscape.analytics.growth.table import html_table

        return "".join(html_table(self, method, notes=True) for method in self.methods) or "<p>no models</p>"

    def to_bundle(self) -> Bundle:
        from hubscape.core.bundle import SCHEMAS, to_jsonable

        arrays, meta = encode_results(self)
        provenance = {"sources": sorted({r.series.source for r in self}), **self.provenance}
        return Bundle(
            kind="growth",
            meta=to_jsonable(meta),
            arrays=arrays,
            provenance=to_jsonable(provenance),
            schema=SCHEMAS["growth"],
        )

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> GrowthResults:
        return decode_results(bundle)


# --- the growth bundle codec (key layout: docs/bundles.md, "growth") -------------------------


def encode_results(results, horizon: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and meta of a growth bundle holding ``results`` (all in one unit).

    Every number comes from the results' ``summary()``: the bundle adds only the arrays.
    """
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
            **s.summary(),
            "fits": {},
            "anomalous_periods": list(r.anomalous_periods),
            "poor_fit": r.poor_fit,
        }
        for name, fit in r.fits.items():
            key = f"models/{i}/{name}"
            arrays[f"{key}/params"] = fit.params
            arrays[f"{key}/cov"] = fit.cov
            arrays[f"{key}/fitted"] = fit.fitted
            entry["fits"][name] = fit.summary()
            fc = r.forecasts.get(name)
            if fc is not None:
                fs = fc.summary()
                for field_name, suffix in Forecast.ARRAYS.items():
                    arrays[f"{key}/{suffix}"] = np.asarray(fs.pop(field_name), dtype=float)
                entry["fits"][name]["forecast"] = fs
                entry["fits"][name]["forecast_level"] = fc.level
            bt = r.backtests.get(name)
            if bt is not None:
                arrays[f"{key}/backtest_t"] = bt.t
                arrays[f"{key}/backtest_observed"] = bt.observed
                arrays[f"{key}/backtest_predicted"] = bt.predicted
                entry["fits"][name]["backtest"] = {
                    k: v for k, v in bt.summary().items() if k in ("k", "mape", "rmse", "identifiable")
                }
        models.append(entry)
    if horizon is None:
        sizes = {fc.t.size for r in results for fc in r.forecasts.values()}
        horizon = sizes.pop() if len(sizes) == 1 else None
    meta = {
        "unit": units.pop(),
        "m": ms.pop() if len(ms) == 1 else None,
        "methods": methods,
        "horizon": horizon,
        "models": models,
    }
    prior = getattr(results, "prior", None)
    if prior is not None:
        meta["prior"] = prior.summary()
    skipped = getattr(results, "skipped", None)
    if skipped:
        meta["skipped"] = [{"model": m, "reason": why} for m, why in skipped]
    return {k: np.asarray(v, dtype=float) for k, v in arrays.items()}, meta


def decode_results(bundle: Bundle, name: str = "growth bundle") -> GrowthResults:
    """GrowthResults back from a growth bundle (schema 1 or 2); BundleError if malformed."""
    from hubscape.analytics.growth.series import GrowthSeries

    meta = bundle.meta
    try:
        unit = meta["unit"]
        out = GrowthResults(skipped=[(d["model"], d["reason"]) for d in meta.get("skipped", [])])
        for i, entry in enumerate(meta["models"]):
            key = f"models/{i}"
            series = GrowthSeries.from_summary(
                entry, unit, bundle.array(f"{key}/t"), bundle.array(f"{key}/count"), bundle.array(f"{key}/events")
            )
            result = GrowthResult(
                series=series,
                anomalous_periods=[int(p) for p in entry.get("anomalous_periods", [])],
                poor_fit=bool(entry.get("poor_fit")),
            )
            for method, fm in entry.get("fits", {}).items():
                fkey = f"{key}/{method}"
                fm = {"method": method, "m": meta.get("m"), **fm}
                result.fits[method] = FitResult.from_summary(
                    fm, bundle.array(f"{fkey}/params"), bundle.array(f"{fkey}/cov"), bundle.array(f"{fkey}/fitted")
                )
                if f"{fkey}/forecast_t" in bundle.arrays:

                    def get(suffix, fkey=fkey):
                        k = f"{fkey}/{suffix}"
                        return bundle.array(k) if k in bundle.arrays else None

                    fs = fm.get("forecast") or {}
                    result.forecasts[method] = Forecast(
                        t=get("forecast_t"),
                        point=get("forecast"),
                        lo=get("forecast_lo"),
                        hi=get("forecast_hi"),
                        lo50=get("forecast_lo50"),
                        hi50=get("forecast_hi50"),
                        median=get("forecast_median"),
                        level=float(fm.get("forecast_level", 0.9)),
                        lower_bound=_float(fs.get("lower_bound")),
                        dispersion=_float(fs.get("dispersion", 1.0)),
                        note=fs.get("note", ""),
                    )
                bt = fm.get("backtest")
                if bt is not None:
                    result.backtests[method] = Backtest(
                        k=int(bt["k"]),
                        t=bundle.array(f"{fkey}/backtest_t"),
                        observed=bundle.array(f"{fkey}/backtest_observed"),
                        predicted=bundle.array(f"{fkey}/backtest_predicted"),
                        mape=_float(bt.get("mape")),
                        rmse=_float(bt.get("rmse")),
                        identifiable=bool(bt.get("identifiable")),
                    )
            out.append(result)
        if meta.get("prior"):
            from hubscape.analytics.growth.prior import GammaPrior

            p = meta["prior"]
            out.prior = GammaPrior(
                shape=float(p["shape"]),
                rate=float(p["rate"]),
                source=p.get("source", "user"),
                n_series=int(p.get("n_series", 0)),
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{name}: growth bundle meta is incomplete or malformed ({exc!r})") from None
    out.provenance = {k: v for k, v in bundle.provenance.items() if k != "sources"}
    return out
