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

FIGURE_FORMATS = ("png", "pdf", "svg")

#: Columns of the summary table, in order.
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
    "c_inf",
    "c_inf_stderr",
    "c_inf_lower_bound",
    "r2",
    "rmse",
    "aic",
    "bic",
    "identifiable",
    "t_peak",
    "anomalous_periods",
    "poor_fit",
    "backtest_k",
    "backtest_mape",
    "backtest_rmse",
    "release_date",
    "release_source",
    "reasons",
    "notes",
)


def file_stem(model: str) -> str:
    """A file name for a model id: ``meta-llama/Llama-2-7b`` -> ``meta-llama--Llama-2-7b``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model.replace("/", "--"))


def summary_row(result: GrowthResult, method: str) -> dict[str, Any]:
    """One table row: a model's fit by ``method`` (floats may be NaN)."""
    fit = result.fits[method]
    s = result.series
    se = fit.stderr
    bt = result.backtests.get(method)
    return {
        "model": s.model,
        "method": method,
        "n_events": s.n_events,
        "mu": fit.mu,
        "mu_stderr": se[0],
        "sigma": fit.sigma,
        "sigma_stderr": se[1],
        "lambda": fit.lam,
        "lambda_stderr": se[2],
        "c_inf": fit.c_inf,
        "c_inf_stderr": fit.c_inf_stderr,
        "c_inf_lower_bound": fit.c_inf_lower_bound,
        "r2": fit.r2,
        "rmse": fit.rmse,
        "aic": fit.aic,
        "bic": fit.bic,
        "identifiable": fit.identifiable,
        "t_peak": fit.t_peak,
        "anomalous_periods": list(result.anomalous_periods),
        "backtest_k": "" if bt is None else bt.k,
        "backtest_mape": math.nan if bt is None else bt.mape,
        "backtest_rmse": math.nan if bt is None else bt.rmse,
        "poor_fit": result.poor_fit,
        "release_date": s.release_date.isoformat(),
        "release_source": s.release_source,
        "reasons": "; ".join(fit.reasons),
        "notes": "; ".join(s.notes),
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
        grid = np.linspace(min(0.05, s.t[0]), t_end, 400)
        ax.plot(grid, fit.curve(grid), "-", color="#D55E00", lw=1.6, label=f"WSB fit ({method}), R² = {fit.r2:.3f}")
    top = float(s.count.max())
    if fc is not None and np.any(np.isfinite(fc.mean)):
        t = np.concatenate([[s.observed_until], fc.t])
        mean = np.concatenate([[s.count[-1]], fc.mean])
        ax.plot(t, mean, "--", color="#009E73", lw=1.4, label="forecast")
        if np.any(np.isfinite(fc.hi)):
            lo = np.concatenate([[s.count[-1]], fc.lo])
            hi = np.concatenate([[s.count[-1]], fc.hi])
            ax.fill_between(t, lo, hi, color="#009E73", alpha=0.2, lw=0, label=f"{fc.level:.0%} band")
        top = max(top, float(np.nanmax(mean)))
    for k, p in enumerate(result.anomalous_periods):
        ax.axvspan(p - 1, p, color="#CC79A7", alpha=0.25, lw=0, label="abrupt jump" if k == 0 else None)
    ax.axvline(s.observed_until, color="0.5", lw=0.8, ls=":")
    ax.set_ylim(0, top * 1.6 + 1)  # a non-identifiable band may reach far beyond; keep the data readable
    ax.set_xlim(0, t_end * 1.02)
    ax.set_xlabel(f"{s.unit}s since release ({s.release_date:%Y-%m-%d}, {s.release_source})")
    ax.set_ylabel(f"children ({', '.join(s.relations)})")
    if fit.identifiable:
        verdict = f"c∞ = {fit.c_inf:.4g} ± {fit.c_inf_stderr:.2g}"
    else:
        verdict = f"c∞ ≥ {fit.c_inf_lower_bound:.0f}: not identifiable"
    ax.set_title(
        f"{s.model}\nμ = {fit.mu:.3g}, σ = {fit.sigma:.3g}, λ = {fit.lam:.3g}, m = {fit.m:g}; {verdict}", fontsize=9
    )
    ax.legend(fontsize=7, loc="upper left", frameon=False)
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
