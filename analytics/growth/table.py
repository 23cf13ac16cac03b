"""The growth table: one row per model, as text (terminal, logs) and HTML (Jupyter).

The same rows feed ``hubscape growth fit`` (a rich table), :meth:`GrowthResults.report` and
:meth:`GrowthResults._repr_html_`. A saturation count is shown only where the fit is
identifiable, with its 90% interval; elsewhere the count so far, a lower bound.

    >>> print(text_table(results, "mle"))
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence


def _pm(value: float, err: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.3g} ± {err:.2g}" if math.isfinite(err) else f"{value:.3g}"


def _interval(lo: float, hi: float) -> str:
    if not math.isfinite(lo):
        return ""
    return f" [{lo:.4g}, {hi:.4g}]" if math.isfinite(hi) else f" [{lo:.4g}, ∞)"


def _gof(fit) -> str:
    """The time-rescaling test's p-value, marked where it rejects the fitted process (a poor fit)."""
    if fit.gof is None or not math.isfinite(fit.gof.p_value):
        return "-"
    p = fit.gof.p_value
    text = f"{p:.2f}" if p >= 0.01 else (f"{p:.0e}" if p >= 1e-99 else "<1e-99")
    return text + (" (poor)" if fit.gof.rejects else "")


def columns(unit: str, horizon: int | None) -> list[str]:
    cols = ["model", "n", "mu", "sigma", "lambda", "c_inf (90%)", "R²", "GOF p", "identifiable", f"anomalous {unit}s"]
    if horizon is not None:
        cols.append(f"+{horizon} {unit}s (90%)")
    return cols


def rows(results: Sequence, method: str) -> list[dict[str, str]]:
    """Cells as strings, one dict per model (keys are :func:`columns`), plus ``note``."""
    out = []
    for r in results:
        fit = r.fits[method]
        se = fit.stderr
        fc = r.forecasts.get(method)
        unit = r.series.unit
        if fit.identifiable:
            c_inf = f"{fit.c_inf:.4g}" + _interval(*fit.c_inf_interval)
        else:
            c_inf = f"≥ {fit.c_inf_lower_bound:.0f}"
        row = {
            "model": r.model,
            "n": str(r.series.n_events),
            "mu": _pm(fit.mu, se[0]),
            "sigma": _pm(fit.sigma, se[1]),
            "lambda": _pm(fit.lam, se[2]),
            "c_inf (90%)": c_inf,
            "R²": "-" if not math.isfinite(fit.r2) else f"{fit.r2:.3f}",
            "GOF p": _gof(fit),
            "identifiable": "yes" if fit.identifiable else "no",
            f"anomalous {unit}s": " ".join(map(str, r.anomalous_periods)) or "-",
            "note": "" if fit.identifiable else fit.status,
        }
        if fc is not None and fc.t.size:
            key = f"+{fc.t.size} {unit}s (90%)"
            if math.isfinite(fc.point[-1]):
                row[key] = f"{fc.point[-1]:.4g}" + _interval(fc.lo[-1], fc.hi[-1])
            elif math.isfinite(fc.lo[-1]):
                row[key] = "no point" + _interval(fc.lo[-1], fc.hi[-1])
            else:
                row[key] = "-"
        out.append(row)
    return out


def title(results: Sequence, method: str) -> str:
    fit = results[0].fits[method]
    prior = ""
    if fit.prior is not None:
        prior = f", Gamma prior on lambda ({fit.prior.get('source', 'user')}: shape {fit.prior['shape']:.3g}, rate {fit.prior['rate']:.3g})"
    return f"WSB fits ({method}, m = {fit.m:g}, per {results[0].series.unit}{prior})"


def _horizon(results: Sequence, method: str) -> int | None:
    sizes = {r.forecasts[method].t.size for r in results if method in r.forecasts}
    return sizes.pop() if len(sizes) == 1 else None


def text_table(results: Sequence, method: str) -> str:
    """A fixed-width text table with the reasons for every model that is not identifiable.

    R² is of the method's ``fitted`` curve (mle: the count expected given the path's history);
    "GOF p" is the time-rescaling test of the fitted process, "(poor)" where it rejects.
    """
    if not results:
        return "no models"
    cols = columns(results[0].series.unit, _horizon(results, method))
    body = rows(results, method)
    widths = {c: max(len(c), *(len(r.get(c, "")) for r in body)) for c in cols}
    lines = [
        title(results, method),
        "  ".join(c.ljust(widths[c]) if i == 0 else c.rjust(widths[c]) for i, c in enumerate(cols)),
    ]
    for r in body:
        lines.append(
            "  ".join(
                r.get(c, "").ljust(widths[c]) if i == 0 else r.get(c, "").rjust(widths[c]) for i, c in enumerate(cols)
            )
        )
    notes = [f"  {r['model']}: {r['note']}" for r in body if r["note"]]
    if notes:
        lines += ["Not identifiable (c_inf shown as the count so far, a lower bound; no point forecast):", *notes]
    return "\n".join(lines)


def html_table(results: Sequence, method: str, notes: bool = True) -> str:
    """The same table as HTML for Jupyter (escaped; no styles beyond alignment)."""
    if not results:
        return "<p>no models</p>"
    cols = columns(results[0].series.unit, _horizon(results, method))
    body = rows(results, method)
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    trs = []
    for r in body:
        cells = "".join(
            f'<td style="text-align:{"left" if c == "model" else "right"}">{esc(r.get(c, ""))}</td>' for c in cols
        )
        trs.append(f'<tr title="{esc(r["note"])}">{cells}</tr>')
    items = "".join(f"<li><b>{esc(r['model'])}</b>: {esc(r['note'])}</li>" for r in body if r["note"]) if notes else ""
    return (
        f"<div><b>{esc(title(results, method))}</b><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(trs)}</tbody></table>"
        + (
            f"<p>Not identifiable (c_inf shown as the count so far; no point forecast):</p><ul>{items}</ul>"
            if items
            else ""
        )
        + "</div>"
    )


def _fmt_interval(pair) -> str:
    lo, hi = pair
    if not math.isfinite(lo):
        return "-"
    return f"[{lo:.4g}, {hi:.4g}]" if math.isfinite(hi) else f"[{lo:.4g}, inf)"


def result_report(result) -> str:
    """A text report of one GrowthResult: data and provenance, then per method fit and forecast."""
    s = result.series
    lines = [
        f"{s.model}: {s.n_events} dated children ({', '.join(s.relations)}) over {s.observed_until:.3g} {s.unit}s",
        f"  release {s.release_date:%Y-%m-%d} ({s.release_source}): {s.release_reason}",
        f"  snapshot {s.snapshot:%Y-%m-%d %H:%M} UTC" if s.snapshot else "  snapshot time unknown",
    ]
    lines += [f"  note: {note}" for note in s.notes]
    if result.anomalous_periods:
        lines.append(f"  abrupt jumps in {s.unit}s {' '.join(map(str, result.anomalous_periods))}")
    for name, fit in result.fits.items():
        se = fit.stderr
        lines.append(f"{name} (m = {fit.m:g}): {fit.status}")
        if math.isfinite(fit.lam):
            lines.append(
                f"  mu {_pm(fit.mu, se[0])}, sigma {_pm(fit.sigma, se[1])}, lambda {_pm(fit.lam, se[2])} "
                f"(90% {_fmt_interval(fit.lam_interval)}, {fit.interval_method or 'no interval'})"
            )
            c_inf = f"{fit.c_inf:.4g}" if fit.identifiable else f">= {fit.c_inf_lower_bound:.0f} (not identifiable)"
            curve = "E[N(t) | its history]" if fit.fitted_curve == "compensator" else "c(t)"
            lines.append(
                f"  c_inf {c_inf}, 90% {_fmt_interval(fit.c_inf_interval)}; R^2 {fit.r2:.3f} (of {curve}); "
                f"dispersion {fit.dispersion:.3g}"
            )
            if fit.gof is not None and math.isfinite(fit.gof.p_value):
                g = fit.gof
                verdict = "poor fit: the arrivals are not those of the fitted process" if g.rejects else "passes"
                lines.append(
                    f"  time-rescaling KS D {g.statistic:.3f}, p {g.p_value:.2g} over {g.n} gaps ({verdict}); "
                    f"{100 * g.short_fraction:.0f}% of the rescaled gaps below the process's 5% quantile"
                )
            if fit.prior:
                lines.append(
                    f"  Gamma prior on lambda: shape {fit.prior['shape']:.3g}, rate {fit.prior['rate']:.3g} "
                    f"({fit.prior.get('source', 'user')})"
                )
        fc = result.forecasts.get(name)
        if fc is not None and fc.t.size and math.isfinite(fc.lo[-1]):
            point = f"{fc.point[-1]:.4g}" if math.isfinite(fc.point[-1]) else "no point forecast"
            lines.append(
                f"  at {s.unit} {fc.t[-1]:.0f}: {point}, 50% [{fc.lo50[-1]:.4g}, {fc.hi50[-1]:.4g}], "
                f"90% [{fc.lo[-1]:.4g}, {fc.hi[-1]:.4g}]"
            )
        elif fc is not None and fc.note:
            lines.append(f"  forecast: {fc.note}")
    return "\n".join(lines)
