"""Paper-style growth report: per model a figure (data, fit, forecast band) and a summary table.

Figures are matplotlib (PNG at 150 dpi, vector PDF and SVG); the table is CSV and Markdown.
Everything is first written into a temporary folder beside the target and moved into place
only when every file is done, so a failed report leaves nothing behind.

    >>> paths = write_report(results, "report/", method="lsq")
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubscape.analytics.growth.results import GrowthResult
from hubscape.core.errors import InputError
from hubscape.viewer.scene.build_growth import fit_status

FIGURE_FORMATS = ("png", "pdf", "svg")

#: Columns of the summary table, in order (all read from the results' summary()).
COLUMNS = (
    "model",
    "method",
    "n_events",
    "mu",
    "mu_stderr",
    "sigma",
    "sigma_stderr",
    "lambda",
    "lambda_stderr",
    "lambda_lower_90",
    "lambda_upper_90",
    "c_inf",
    "c_inf_stderr",
    "c_inf_lower_90",
    "c_inf_upper_90",
    "c_inf_lower_bound",
    "interval_method",
    "dispersion",
    "r2",
    "fitted_curve",
    "gof_statistic",
    "gof_p_value",
    "rmse",
    "aic",
    "bic",
    "identifiable",
    "status",
    "t_peak",
    "forecast_t",
    "forecast",
    "forecast_lower_90",
    "forecast_upper_90",
    "anomalous_periods",
    "poor_fit",
    "backtest_k",
    "backtest_mape",
    "backtest_rmse",
    "release_date",
    "release_source",
    "release_reason",
    "reasons",
    "notes",
)


def file_stem(model: str) -> str:
    """A file name for a model id: ``meta-llama/Llama-2-7b`` -> ``meta-llama--Llama-2-7b``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model.replace("/", "--"))


def summary_row(result: GrowthResult, method: str) -> dict[str, Any]:
    """One table row: a model's fit by ``method``, flattened from ``result.summary()`` (floats may be NaN)."""
    d = result.summary()
    fit, series = d["fits"][method], d["series"]
    fc = d["forecasts"].get(method)
    bt = d["backtests"].get(method)
    lam_lo, lam_hi = fit["lambda"]["interval"]
    c_lo, c_hi = fit["c_inf"]["interval"]
    last = lambda key: fc[key][-1] if fc and fc[key] else math.nan  # noqa: E731
    return {
        "model": d["model"],
        "method": method,
        "n_events": series["n_events"],
        **{name: fit[key]["value"] for name, key in (("mu", "mu"), ("sigma", "sigma"), ("lambda", "lambda"))},
        **{f"{name}_stderr": fit[name]["stderr"] for name in ("mu", "sigma", "lambda")},
        "lambda_lower_90": lam_lo,
        "lambda_upper_90": lam_hi,
        "c_inf": fit["c_inf"]["value"],
        "c_inf_stderr": fit["c_inf"]["stderr"],
        "c_inf_lower_90": c_lo,
        "c_inf_upper_90": c_hi,
        "c_inf_lower_bound": fit["c_inf"]["lower_bound"],
        "interval_method": fit["interval_method"],
        "dispersion": fit["dispersion"],
        **{key: fit[key] for key in ("r2", "fitted_curve", "rmse", "aic", "bic", "identifiable", "status", "t_peak")},
        "gof_statistic": (fit.get("gof") or {}).get("statistic", math.nan),
        "gof_p_value": (fit.get("gof") or {}).get("p_value", math.nan),
        "forecast_t": last("t"),
        "forecast": last("point"),
        "forecast_lower_90": last("lower_90"),
        "forecast_upper_90": last("upper_90"),
        "anomalous_periods": d["anomalous_periods"],
        "backtest_k": "" if bt is None else bt["k"],
        "backtest_mape": math.nan if bt is None else bt["mape"],
        "backtest_rmse": math.nan if bt is None else bt["rmse"],
        "poor_fit": d["poor_fit"],
        "release_date": series["release_date"].isoformat(),
        "release_source": series["release_source"],
        "release_reason": series["release_reason"],
        "reasons": "; ".join(fit["reasons"]),
        "notes": "; ".join(series["notes"]),
    }


def _cell(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else f"{value:.{digits}g}"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def table_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c], 10) for c in COLUMNS])
    return out.getvalue()


def table_markdown(rows: Sequence[dict[str, Any]], unit: str) -> str:
    """A compact Markdown table (the CSV has every column)."""
    head = ["model", "n", "mu", "sigma", "lambda", "c_inf", "R²", "identifiable", f"anomalous {unit}s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def pm(row, name):
        v, e = row[name], row[f"{name}_stderr"]
        return "" if not math.isfinite(v) else (f"{v:.3g} ± {e:.2g}" if math.isfinite(e) else f"{v:.3g}")

    for row in rows:
        c_inf = pm(row, "c_inf") if row["identifiable"] else f"≥ {row['c_inf_lower_bound']:.0f} (not identifiable)"
        cells = [
            row["model"],
            str(row["n_events"]),
            pm(row, "mu"),
            pm(row, "sigma"),
            pm(row, "lambda"),
            c_inf,
            _cell(row["r2"]),
            _cell(row["identifiable"]),
            _cell(row["anomalous_periods"]) or "-",
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    reasons = [f"- **{r['model']}**: {r['reasons']}" for r in rows if r["reasons"]]
    if reasons:
        lines += ["", "Not identifiable or not fitted:", *reasons]
    notes = [f"- **{r['model']}**: {r['notes']}" for r in rows if r["notes"]]
    if notes:
        lines += ["", "Data notes:", *notes]
    return "\n".join(lines) + "\n"


def draw_figure(result: GrowthResult, method: str):
    """The figure of one model: observed counts, fitted c(t), forecast with its band."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    s, fit = result.series, result.fits[method]
    fc = result.forecasts.get(method)
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(s.t, s.count, "o", ms=3.5, color="#0072B2", label="observed (cumulative)")
    t_end = float(fc.t[-1]) if fc is not None else s.observed_until
    if np.all(np.isfinite(fit.params)):
        grid = np.linspace(min(0.05, s.t[0]), s.observed_until, 400)
        what = "E[N(t) | its history]" if fit.fitted_curve == "compensator" else "c(t)"
        ax.plot(
            grid,
            result.fit_curve(method, grid),
            "-",
            color="#D55E00",
            lw=1.6,
            label=f"WSB fit ({method}): {what}, R² = {fit.r2:.3f}",
        )
    top = float(s.count.max())
    if fc is not None:
        t = np.concatenate([[s.observed_until], fc.t])
        start = [s.count[-1]]
        if np.any(np.isfinite(fc.hi)):
            for lo, hi, alpha, label in ((fc.lo, fc.hi, 0.15, "90% predictive band"), (fc.lo50, fc.hi50, 0.3, "50%")):
                ax.fill_between(
                    t,
                    np.concatenate([start, lo]),
                    np.concatenate([start, hi]),
                    color="#009E73",
                    alpha=alpha,
                    lw=0,
                    label=label,
                )
            top = max(top, float(np.nanmax(fc.hi50)))
        if np.any(np.isfinite(fc.point)):
            point = np.concatenate([start, fc.point])
            ax.plot(t, point, "--", color="#009E73", lw=1.4, label="forecast (predictive median)")
            top = max(top, float(np.nanmax(point)))
        elif np.any(np.isfinite(fc.hi)):
            ax.plot([], [], " ", label="no point forecast (not identifiable)")
    for k, p in enumerate(result.anomalous_periods):
        ax.axvspan(p - 1, p, color="#CC79A7", alpha=0.25, lw=0, label="abrupt jump" if k == 0 else None)
    ax.axvline(s.observed_until, color="0.5", lw=0.8, ls=":")
    ax.set_ylim(0, top * 1.25 + 1)  # the 90% band may reach far beyond; keep the data and the 50% band readable
    ax.set_xlim(0, t_end * 1.02)
    ax.set_xlabel(f"{s.unit}s since release ({s.release_date:%Y-%m-%d}, {s.release_source})")
    ax.set_ylabel(f"children ({', '.join(s.relations)})")
    status = fit_status({"reasons": list(fit.reasons), "message": fit.message}, fit.params)
    if status is not None:  # never "mu = nan": say why there is no fit
        ax.set_title(f"{s.model}\n{status}", fontsize=9)
    else:
        if fit.identifiable:
            lo, hi = fit.c_inf_interval
            band = f" [{lo:.4g}, {hi:.4g}] (90%)" if math.isfinite(lo) and math.isfinite(hi) else ""
            verdict = f"c∞ = {fit.c_inf:.4g}{band}"
        else:
            verdict = f"c∞ ≥ {fit.c_inf_lower_bound:.0f}: not identifiable"
        ax.set_title(
            f"{s.model}\nμ = {fit.mu:.3g}, σ = {fit.sigma:.3g}, λ = {fit.lam:.3g}, m = {fit.m:g}; {verdict}", fontsize=9
        )
    fig.legend(fontsize=7, loc="outside lower center", ncols=3, frameon=False)  # outside: never over the data or bands
    ax.grid(alpha=0.3, lw=0.5)
    return fig


def write_report(results: Sequence[GrowthResult], out_dir: str | os.PathLike, method: str = "lsq") -> list[Path]:
    """Write the figures and the summary tables of ``results`` into ``out_dir``; returns the files."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} exists and is not a folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    unit = results[0].series.unit
    rows = [summary_row(r, method) for r in results]
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".part", dir=out_dir.parent))
    try:
        names = []
        for r in results:
            fig = draw_figure(r, method)
            for fmt in FIGURE_FORMATS:
                name = f"{file_stem(r.model)}.{fmt}"
                fig.savefig(stage / name, format=fmt, dpi=150)
                names.append(name)
        (stage / "summary.csv").write_text(table_csv(rows), encoding="utf-8")
        (stage / "summary.md").write_text(
            f"# Growth fits ({method}, per {unit})\n\n" + table_markdown(rows, unit), encoding="utf-8"
        )
        names += ["summary.csv", "summary.md"]
        if not out_dir.exists():
            os.replace(stage, out_dir)
        else:
            for name in names:
                os.replace(stage / name, out_dir / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out_dir / name for name in names]
