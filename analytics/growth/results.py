"""Typed results of a growth analysis: one fit, one forecast, everything about one model.

These are what the estimators return, what the growth bundle stores and what the viewer
reads back (:func:`hubscape.analytics.growth.growth_bundle.read_growth_bundle`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.series import GrowthSeries

#: Parameter order of every params vector and covariance matrix.
PARAM_NAMES: tuple[str, str, str] = ("mu", "sigma", "lambda")


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
    """c(t) at the series' t."""
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
    prior: dict[str, float] | None = None
    """The Gamma prior on lambda (MLE only): {"shape": a, "rate": b}."""
    message: str = ""

    def __post_init__(self):
        # plain Python floats and float64 arrays, whatever numpy scalar a fitter handed in
        for name in ("m", "r2", "rmse", "aic", "bic", "log_likelihood", "c_inf_lower_bound"):
            setattr(self, name, float(getattr(self, name)))
        self.success, self.identifiable = bool(self.success), bool(self.identifiable)
        self.params = np.asarray(self.params, dtype=float)
        self.cov = np.asarray(self.cov, dtype=float)
        self.fitted = np.asarray(self.fitted, dtype=float)

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
    def t_peak(self) -> float:
        """When the fitted rate of new children peaks (in the series' unit); NaN without a fit."""
        if not np.all(np.isfinite(self.params)):
            return math.nan
        return wsb.peak_time(self.mu, self.sigma, self.lam)

    def curve(self, t) -> np.ndarray:
        """c(t) under the fitted parameters."""
        return wsb.cumulative(t, *self.params, m=self.m)

    def summary(self) -> dict[str, Any]:
        """Values and stderrs by name, fit quality and identifiability (JSON-ready but for NaN)."""
        se = self.stderr
        out: dict[str, Any] = {
            name: {"value": float(v), "stderr": float(e)} for name, v, e in zip(PARAM_NAMES, self.params, se)
        }
        out["c_inf"] = {"value": self.c_inf, "stderr": self.c_inf_stderr, "lower_bound": self.c_inf_lower_bound}
        out.update(
            r2=self.r2,
            rmse=self.rmse,
            aic=self.aic,
            bic=self.bic,
            identifiable=self.identifiable,
            reasons=list(self.reasons),
            success=self.success,
            message=self.message,
        )
        if self.method == "mle":
            out.update(log_likelihood=self.log_likelihood, prior=self.prior)
        return out


@dataclass
class Forecast:
    """c(t) beyond the data with a central band (default 90%) from parameter uncertainty."""

    t: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    level: float = 0.9


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
    """Whether the fit of the first k periods was identifiable (if not, expect a wild forecast)."""


@dataclass
class GrowthResult:
    """Everything hubscape knows about one base model's growth."""

    series: GrowthSeries
    fits: dict[str, FitResult] = field(default_factory=dict)
    forecasts: dict[str, Forecast] = field(default_factory=dict)
    backtests: dict[str, Backtest] = field(default_factory=dict)
    """Per method, when asked for: fit on the first k periods, forecast the rest."""
    anomalous_periods: list[int] = field(default_factory=list)
    """Periods (1-based) with an abrupt jump in new children."""
    poor_fit: bool = False
    """True if the model describes the series poorly (low R^2 on the first method's fit)."""

    @property
    def model(self) -> str:
        return self.series.model
