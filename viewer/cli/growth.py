"""``hubscape growth ...``: fetch model trees, fit Wang-Song-Barabasi curves, write reports.

hubscape growth fit trees.csv --method lsq --m 30 --unit month --horizon 12
hubscape growth fit trees.csv --json > fits.json
hubscape growth report trees.csv --out report/
"""

from __future__ import annotations

import argparse
import json
import math
import sys

WORLD = "growth"
COMMANDS = ["growth fetch", "growth fit", "growth report"]


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "growth",
        help="growth of model trees on the Hub: fetch, fit, report",
        description="Growth of Hugging Face model trees and Wang-Song-Barabasi fits.",
    )
    sub = group.add_subparsers(title="growth commands", metavar="COMMAND", parser_class=type(group))
    group.set_defaults(func=lambda args: _help(group))

    from hubscape.viewer.cli.growth_fetch import add_fetch_parser

    add_fetch_parser(sub)

    fit = sub.add_parser(
        "fit",
        help="fit WSB curves to model trees and print them",
        description="Fit c(t) = m(exp(lambda Phi((ln t - mu)/sigma)) - 1) to each model's "
        "cumulative children. SOURCE is a tree file or folder (growth fetch), a growth "
        "bundle, or a CSV with base_model, base_created_at, child_model, child_created_at.",
    )
    _common(fit)
    fit.add_argument("--json", action="store_true", help="print only a JSON list, one object per model")
    fit.add_argument("--out", metavar="BUNDLE", help="also write the results as a growth bundle (.safetensors)")
    fit.set_defaults(func=run_fit)

    report = sub.add_parser(
        "report",
        help="figures and summary tables of WSB fits",
        description="Per model a figure (data, fit, forecast band; PNG, PDF, SVG) and a summary "
        "table (CSV, Markdown), written into DIR.",
    )
    _common(report)
    report.add_argument("--out", metavar="DIR", required=True, help="folder to write the report into")
    report.set_defaults(func=run_report)


def _help(parser) -> int:
    parser.print_help()
    return 2


#: Forecast periods at most: 100 years of months (a forecast further out says nothing).
MAX_HORIZON = 1200


def _positive(kind, most: float = math.inf):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        if value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most:g}, got {text}")
        return value

    return parse


def _common(parser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="tree file/folder, growth bundle or children CSV")
    parser.add_argument(
        "--method",
        choices=["lsq", "mle"],
        default="lsq",
        help="least squares on the cumulative counts (lsq, default) or likelihood of event times (mle)",
    )
    parser.add_argument("--m", type=_positive(float), default=30.0, help="the WSB constant m (default 30)")
    parser.add_argument("--unit", choices=["month", "week", "day"], default="month", help="period unit (default month)")
    parser.add_argument(
        "--horizon",
        type=_positive(int, MAX_HORIZON),
        default=12,
        help=f"forecast periods (default 12, at most {MAX_HORIZON})",
    )
    parser.add_argument(
        "--relation", metavar="LIST", help="children to count, e.g. finetune,adapter (default: every relation listed)"
    )
    parser.add_argument(
        "--release-date",
        action="append",
        metavar="MODEL=DATE",
        help="the release date of MODEL (repeatable), e.g. bigscience/bloom=2022-07-06",
    )
    parser.add_argument(
        "--no-floor-rule",
        action="store_true",
        help="keep a base's own creation date even at the Hub's floor (2022-03-02T23:29:04Z); by default such a "
        "base's release is taken from its earliest dated child",
    )
    parser.add_argument(
        "--prior-shape",
        type=_positive(float),
        metavar="A",
        help="Gamma prior on lambda for --method mle: shape (with --prior-rate)",
    )
    parser.add_argument("--prior-rate", type=_positive(float), metavar="B", help="Gamma prior on lambda: rate")
    parser.add_argument(
        "--backtest",
        type=_positive(int),
        metavar="K",
        help="also fit only the first K periods and score the forecast of the rest (MAPE, RMSE)",
    )


def analyze_sources(args) -> list:
    """Load every SOURCE and analyze each model, with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    from hubscape.analytics.growth.analysis import analyze
    from hubscape.analytics.growth.sources import load_series
    from hubscape.core.errors import InputError

    if (args.prior_shape is None) != (args.prior_rate is None):
        raise InputError("give both --prior-shape and --prior-rate for a Gamma prior on lambda")
    prior = None if args.prior_shape is None else (args.prior_shape, args.prior_rate)
    if prior is not None and args.method != "mle":
        raise InputError("a prior on lambda applies to --method mle only")
    series = load_series(
        args.sources,
        unit=args.unit,
        relations=args.relation,
        release_dates=args.release_date,
        floor_rule=not args.no_floor_rule,
    )
    for model, why in series.skipped:
        print(f"skipped {model}: {why}", file=sys.stderr)
    results = []
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("fitting", total=len(series))
        for s in series:
            progress.update(task, description=f"fitting {s.model}")
            results.append(
                analyze(
                    s, methods=(args.method,), m=args.m, horizon=args.horizon, prior=prior, backtest_k=args.backtest
                )
            )
            progress.advance(task)
    return results


def result_json(result, method: str) -> dict:
    """One model's fit as the JSON object of ``growth fit --json``."""
    s, fit = result.series, result.fits[method]
    fc = result.forecasts[method]
    bt = result.backtests.get(method)
    se = fit.stderr
    return {
        "model": s.model,
        "n_events": s.n_events,
        "mu": fit.mu,
        "sigma": fit.sigma,
        "lambda": fit.lam,
        "mu_stderr": se[0],
        "sigma_stderr": se[1],
        "lambda_stderr": se[2],
        "c_inf": fit.c_inf,
        "c_inf_stderr": fit.c_inf_stderr,
        "c_inf_lower_bound": fit.c_inf_lower_bound,
        "r2": fit.r2,
        "rmse": fit.rmse,
        "aic": fit.aic,
        "bic": fit.bic,
        "identifiable": fit.identifiable,
        "reasons": fit.reasons,
        "anomalous_months": _as_months(result.anomalous_periods, s.unit),
        "anomalous_periods": result.anomalous_periods,
        "poor_fit": result.poor_fit,
        "method": method,
        "m": fit.m,
        "unit": s.unit,
        "prior": fit.prior,
        "release_date": s.release_date,
        "release_source": s.release_source,
        "release_reason": s.release_reason,
        "snapshot": s.snapshot,
        "n_missing_dates": s.n_missing_dates,
        "n_duplicates": s.n_duplicates,
        "n_before_release": s.n_before_release,
        "n_multi_base": s.n_multi_base,
        "floor_dated": s.floor_dated,
        "truncated": s.truncated,
        "notes": s.notes,
        "t_peak": fit.t_peak,
        "forecast": {"t": fc.t, "mean": fc.mean, "lo": fc.lo, "hi": fc.hi, "level": fc.level},
        "backtest": None
        if bt is None
        else {
            "k": bt.k,
            "mape": bt.mape,
            "rmse": bt.rmse,
            "identifiable": bt.identifiable,
            "t": bt.t,
            "observed": bt.observed,
            "predicted": bt.predicted,
        },
    }


def _as_months(periods: list[int], unit: str) -> list[int]:
    """The months (1-based, since release) that contain the given periods of ``unit``."""
    from hubscape.analytics.growth.series import PERIOD_DAYS

    scale = PERIOD_DAYS[unit] / PERIOD_DAYS["month"]
    return sorted({math.ceil(p * scale - 1e-9) for p in periods})


def _pm(value: float, err: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.3g} ± {err:.2g}" if math.isfinite(err) else f"{value:.3g}"


def print_table(results, method: str) -> None:
    from rich.console import Console
    from rich.table import Table

    unit = results[0].series.unit
    table = Table(title=f"WSB fits ({method}, m = {results[0].fits[method].m:g}, per {unit})", title_justify="left")
    for name, justify in [
        ("model", "left"),
        ("n", "right"),
        ("mu", "right"),
        ("sigma", "right"),
        ("lambda", "right"),
        ("c_inf", "right"),
        ("R²", "right"),
        ("identifiable", "center"),
        (f"anomalous {unit}s", "left"),
    ]:
        table.add_column(name, justify=justify, overflow="fold")
    with_backtest = any(method in r.backtests for r in results)
    if with_backtest:
        table.add_column("backtest MAPE", justify="right")
    notes = []
    for r in results:
        fit = r.fits[method]
        se = fit.stderr
        if fit.identifiable:
            c_inf = _pm(fit.c_inf, fit.c_inf_stderr)
        else:
            c_inf = f"≥ {fit.c_inf_lower_bound:.0f}"
            notes.append(f"{r.model}: {'; '.join(fit.reasons)}")
        row = [
            r.model,
            str(r.series.n_events),
            _pm(fit.mu, se[0]),
            _pm(fit.sigma, se[1]),
            _pm(fit.lam, se[2]),
            c_inf,
            "-" if not math.isfinite(fit.r2) else f"{fit.r2:.3f}" + (" [red](poor)[/red]" if r.poor_fit else ""),
            "yes" if fit.identifiable else "[red]no[/red]",
            " ".join(map(str, r.anomalous_periods)) or "-",
        ]
        if with_backtest:
            bt = r.backtests.get(method)
            row.append(
                "-"
                if bt is None or not math.isfinite(bt.mape)
                else f"{bt.mape:.1%} (k={bt.k}{'' if bt.identifiable else ', not identifiable'})"
            )
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:
        console = Console(width=180)  # piped into a file: keep one model per line
    table.columns[0].no_wrap = True
    console.print(table)
    if notes:
        console.print("Not identifiable (c_inf shown as the count so far, a lower bound):", style="bold")
        for line in notes:
            console.print(f"  {line}", markup=False)


def _check_out(path: str, folder: bool) -> None:
    """Refuse an --out that cannot be written before any work is done."""
    from hubscape.core.outputs import check_output_dir, check_output_file

    if folder:
        check_output_dir(path)
    else:
        check_output_file(path)


def _cannot_write(path, exc: OSError):
    from hubscape.core.errors import InputError

    return InputError(f"cannot write {path}: {exc.strerror or exc}")


def run_fit(args) -> int:
    if args.out:
        _check_out(args.out, folder=False)
    results = analyze_sources(args)
    if args.out:
        from hubscape.analytics.growth.growth_bundle import write_growth_bundle

        try:
            path = write_growth_bundle(
                args.out,
                results,
                horizon=args.horizon,
                provenance={"command": "growth fit", "sources": list(args.sources)},
            )
        except OSError as exc:
            raise _cannot_write(args.out, exc) from None
    if args.json:
        from hubscape.core.bundle import to_jsonable

        print(json.dumps(to_jsonable([result_json(r, args.method) for r in results]), allow_nan=False, indent=1))
    else:
        print_table(results, args.method)
    if args.out:
        print(f"wrote growth bundle {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def run_report(args) -> int:
    from hubscape.viewer.reports.growth import write_report

    _check_out(args.out, folder=True)
    results = analyze_sources(args)
    try:
        paths = write_report(results, args.out, method=args.method)
    except OSError as exc:
        raise _cannot_write(args.out, exc) from None
    print(
        f"wrote {len(paths)} files ({len(results)} figures in PNG, PDF and SVG; summary.csv, summary.md) to {args.out}"
    )
    return 0
