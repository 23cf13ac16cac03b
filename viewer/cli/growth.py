"""``hubscape growth ...``: fetch model trees, fit Wang-Song-Barabasi curves, backtest, write reports.

A thin layer: loading, validation, fitting and the tables are the library's
(:mod:`hubscape.analytics.growth.api`, :mod:`~hubscape.analytics.growth.table`); this module
parses arguments, shows progress and prints.

    hubscape growth fit trees.csv --method mle --m 30 --unit month --horizon 12
    hubscape growth fit trees.csv --json > fits.json
    hubscape growth backtest trees.csv --cutoffs 6,9,12 --horizons 3,6,12 --json
    hubscape growth report trees.csv --out report/
"""

from __future__ import annotations

import argparse
import json
import math
import sys

WORLD = "growth"
COMMANDS = ["growth fetch", "growth fit", "growth backtest", "growth report"]


def register(subparsers) -> None:
    group = subparsers.add_parser(
        "growth",
        help="growth of model trees on the Hub: fetch, fit, backtest, report",
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
        "cumulative children, with 90% intervals and predictive forecasts. SOURCE is a tree file or "
        "folder (growth fetch), a growth bundle, or a CSV with base_model, base_created_at, child_model, "
        "child_created_at.",
    )
    _sources(fit)
    _fitting(fit)
    fit.add_argument("--json", action="store_true", help="print only a JSON list, one object per model")
    fit.add_argument("--out", metavar="BUNDLE", help="also write the results as a growth bundle (.safetensors)")
    fit.set_defaults(func=run_fit)

    backtest = sub.add_parser(
        "backtest",
        help="score forecasts on held-out periods against baselines",
        description="For each series and cutoff K, fit the periods up to K and score the forecast of K + h "
        "for each horizon h, for each method and for two baselines (last value carried forward; linear "
        "extrapolation of the last 3 periods): median absolute percentage error, coverage of the 50% and 90% "
        "bands, and how often each method beats each baseline.",
    )
    _sources(backtest)
    cut = backtest.add_mutually_exclusive_group()
    cut.add_argument("--cutoff", type=_positive(int), metavar="K", help="one cutoff (periods since release)")
    cut.add_argument("--cutoffs", type=_int_list, metavar="K1,K2,...", help="cutoffs (default: every 3 periods from 6)")
    backtest.add_argument(
        "--horizons",
        type=_int_list,
        default=[3, 6, 12],
        metavar="H1,H2,...",
        help="periods ahead to score (default 3,6,12)",
    )
    backtest.add_argument(
        "--methods",
        default="lsq,mle,mle+eb",
        metavar="LIST",
        help="methods to score: lsq, mle, mle+eb (default all three)",
    )
    backtest.add_argument("--m", type=_positive(float), default=30.0, help="the WSB constant m (default 30)")
    backtest.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and forecast draws (default 0)")
    backtest.add_argument("--json", action="store_true", help="print the scores and every row as JSON")
    backtest.add_argument("--out", metavar="FILE", help="also write the backtest as JSON")
    backtest.set_defaults(func=run_backtest)

    report = sub.add_parser(
        "report",
        help="figures and summary tables of WSB fits",
        description="Per model a figure (data, fit, forecast bands; PNG, PDF, SVG) and a summary "
        "table (CSV, Markdown), written into DIR.",
    )
    _sources(report)
    _fitting(report)
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


def _int_list(text: str) -> list[int]:
    parse = _positive(int)
    try:
        return [parse(part) for part in text.split(",") if part.strip()]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected whole numbers >= 1 separated by commas, got {text!r}") from None


def _sources(parser) -> None:
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="tree file/folder, growth bundle or children CSV")
    parser.add_argument("--unit", choices=["month", "week", "day"], default="month", help="period unit (default month)")
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


def _fitting(parser) -> None:
    from hubscape.analytics.growth.methods import DEFAULT_METHOD

    parser.add_argument(
        "--method",
        choices=["lsq", "mle"],
        default=DEFAULT_METHOD,
        help="likelihood of the event times (mle, default: its intervals and forecasts held up in the backtests "
        "of docs/growth.md) or least squares on the cumulative counts (lsq)",
    )
    parser.add_argument("--m", type=_positive(float), default=30.0, help="the WSB constant m (default 30)")
    parser.add_argument(
        "--horizon",
        type=_positive(int, MAX_HORIZON),
        default=12,
        help=f"forecast periods (default 12, at most {MAX_HORIZON})",
    )
    parser.add_argument(
        "--prior",
        choices=["auto", "eb", "none"],
        default="auto",
        help="Gamma prior on lambda for --method mle: auto (default) fits an empirical-Bayes prior across the "
        "run's models when there are at least 5 with 5+ children, eb insists on it, none fits without",
    )
    parser.add_argument(
        "--prior-shape",
        type=_positive(float),
        metavar="A",
        help="a Gamma prior of your own for --method mle: shape (with --prior-rate)",
    )
    parser.add_argument("--prior-rate", type=_positive(float), metavar="B", help="Gamma prior on lambda: rate")
    parser.add_argument(
        "--backtest",
        type=_positive(int),
        metavar="K",
        help="also fit only the first K periods and score the forecast of the rest (MAPE, RMSE)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and forecast draws (default 0)")


def _source_options(args) -> dict:
    return {
        "unit": args.unit,
        "relations": args.relation,
        "release_dates": args.release_date,
        "floor_rule": not args.no_floor_rule,
    }


def _progress(console, progress, task):
    def report(model, *_):
        progress.update(task, description=f"{model}", advance=1)

    return report


def analyze_sources(args):
    """Load every SOURCE and fit each model (``api.fit``), with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    from hubscape.analytics.growth import api
    from hubscape.core.errors import InputError

    if (args.prior_shape is None) != (args.prior_rate is None):
        raise InputError("give both --prior-shape and --prior-rate for a Gamma prior on lambda")
    prior = args.prior if args.prior_shape is None else (args.prior_shape, args.prior_rate)
    if args.method != "mle":
        if args.prior_shape is not None or args.prior == "eb":
            raise InputError("a prior on lambda applies to --method mle only")
        prior = "none"
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("fitting", total=None)
        results = api.fit(
            args.sources,
            methods=(args.method,),
            m=args.m,
            horizon=args.horizon,
            prior=prior,
            backtest_k=args.backtest,
            seed=args.seed,
            progress=_progress(console, progress, task),
            **_source_options(args),
        )
    for model, why in results.skipped:
        print(f"skipped {model}: {why}", file=sys.stderr)
    return results


def print_table(results, method: str) -> None:
    """The library's growth table (:mod:`~hubscape.analytics.growth.table`) as a rich table."""
    from rich.console import Console
    from rich.table import Table

    from hubscape.analytics.growth import table as growth_table

    unit = results[0].series.unit
    horizon = results[0].forecasts[method].t.size if method in results[0].forecasts else None
    table = Table(title=growth_table.title(results, method), title_justify="left")
    columns = growth_table.columns(unit, horizon)
    for name in columns:
        table.add_column(name, justify="left" if name == "model" else "right", overflow="fold")
    rows = growth_table.rows(results, method)
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        if row["identifiable"] == "no":
            cells[columns.index("identifiable")] = "[red]no[/red]"
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # piped into a file: keep one model per line
    table.columns[0].no_wrap = True
    console.print(table)
    notes = [f"  {r['model']}: {r['note']}" for r in rows if r["note"]]
    if notes:
        console.print(
            "Not identifiable (c_inf shown as the count so far, a lower bound; no point forecast):", style="bold"
        )
        for line in notes:
            console.print(line, markup=False)
    if results.prior is not None:
        p = results.prior
        console.print(
            f"Empirical-Bayes Gamma prior on lambda from {p.n_series} models: shape {p.shape:.3g}, "
            f"rate {p.rate:.3g} (mean {p.mean:.3g})",
            markup=False,
        )


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


def _print_json(value) -> None:
    from hubscape.core.bundle import to_jsonable

    print(json.dumps(to_jsonable(value), allow_nan=False, indent=1))


def run_fit(args) -> int:
    if args.out:
        _check_out(args.out, folder=False)
    results = analyze_sources(args)
    if args.out:
        results.provenance.update(command="growth fit", sources=list(args.sources))
        try:
            path = results.save(args.out)
        except OSError as exc:
            raise _cannot_write(args.out, exc) from None
    if args.json:
        _print_json([r.summary() for r in results])
    else:
        print_table(results, args.method)
    if args.out:
        print(f"wrote growth bundle {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def run_backtest(args) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from hubscape.analytics.growth import api

    if args.out:
        _check_out(args.out, folder=False)
    cutoffs = [args.cutoff] if args.cutoff else args.cutoffs
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("backtest", total=None)
        result = api.backtest(
            args.sources,
            cutoffs=cutoffs,
            horizons=args.horizons,
            methods=[m.strip() for m in args.methods.split(",") if m.strip()],
            m=args.m,
            seed=args.seed,
            progress=lambda model, k: progress.update(task, description=f"{model} at {k}", advance=1),
            **_source_options(args),
        )
    for model, why in result.skipped:
        print(f"skipped {model}: {why}", file=sys.stderr)
    if args.out:
        try:
            path = result.save(args.out)
        except OSError as exc:
            raise _cannot_write(args.out, exc) from None
    if args.json:
        _print_json(result.summary())
    else:
        print(result.report())
    if args.out:
        print(f"wrote backtest {path}", file=sys.stderr if args.json else sys.stdout)
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
