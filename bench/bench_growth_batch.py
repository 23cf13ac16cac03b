"""Batch WSB fitting vs a loop of lmfit fits, on >= 1,000 series with real shapes.

The series are bootstrapped from the real April-2025 crawl (../shared/data/hf-model-trees):
each picks one of the real curves that can be fitted (at least 5 months and 5 children),
resamples its children's ages with replacement (0.5x to 2x as many), stretches them by a
random factor exp(N(0, 0.1)) and observes them until the real snapshot age.

Both paths fit the same series with the same bounds and grid starts
(``hubscape.analytics.growth.lsq``): the loop calls ``fit_lsq`` (lmfit, no profile check)
per series, the batch calls ``fit_batch`` once. With the default options lmfit runs on a
random subset and its time is extrapolated per series (``--lmfit-all`` times every series).

    python3 bench/bench_growth_batch.py [--n 1000] [--lmfit-subset 200] [--lmfit-all] [--repeat 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np

from hubscape.analytics.growth.batch import AGREEMENT_RTOL, fit_batch
from hubscape.analytics.growth.lsq import MIN_POINTS, fit_lsq
from hubscape.analytics.growth.series import build_series, series_from_events
from hubscape.analytics.growth.tree import read_children_csv

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf-model-trees" / "hf_finetune_children_by_base.csv"


def real_shaped_series(n: int, seed: int):
    """``n`` series bootstrapped from the fittable real curves."""
    templates = [
        s
        for s in (build_series(t) for t in read_children_csv(DATA))
        if s.t.size >= MIN_POINTS and s.n_events >= MIN_POINTS
    ]
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        tpl = templates[rng.integers(len(templates))]
        k = max(MIN_POINTS, int(round(tpl.n_events * rng.uniform(0.5, 2.0))))
        ages = rng.choice(tpl.events, size=k, replace=True) * math.exp(rng.normal(0.0, 0.1))
        ages = ages[(ages > 0) & (ages <= tpl.observed_until)]
        if ages.size >= MIN_POINTS:
            out.append(series_from_events(f"{tpl.model}#{len(out)}", ages, tpl.observed_until))
    return templates, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of series (default 1000)")
    parser.add_argument("--lmfit-subset", type=int, default=200, help="series timed with lmfit (default 200)")
    parser.add_argument("--lmfit-all", action="store_true", help="time lmfit on every series")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved timing rounds; the best of each is kept")
    args = parser.parse_args()

    templates, series = real_shaped_series(args.n, args.seed)
    print(
        f"{len(series)} series bootstrapped from {len(templates)} fittable real curves "
        f"({sum(s.t.size for s in series) / len(series):.1f} points, "
        f"{sum(s.n_events for s in series) / len(series):.0f} children on average)"
    )

    ts, counts, until = [s.t for s in series], [s.count for s in series], [s.observed_until for s in series]
    rng = np.random.default_rng(args.seed + 1)
    idx = (
        np.arange(len(series))
        if args.lmfit_all
        else np.sort(rng.choice(len(series), size=min(args.lmfit_subset, len(series)), replace=False))
    )
    fit_batch(ts[:20], counts[:20], observed_until=until[:20])  # warm up imports and caches
    fit_lsq(series[0], intervals=False)
    # interleave the two so that a busy machine slows both alike; keep the best of each
    best, lmfit_time = math.inf, math.inf
    for _ in range(args.repeat):
        start = time.perf_counter()
        batch = fit_batch(ts, counts, m=30.0, observed_until=until)
        best = min(best, time.perf_counter() - start)
        start = time.perf_counter()
        refs = [fit_lsq(series[i], m=30.0, intervals=False) for i in idx]
        lmfit_time = min(lmfit_time, time.perf_counter() - start)
    batch_per = best / len(series)
    lmfit_per = lmfit_time / len(idx)

    both = [(j, i) for j, i in enumerate(idx) if refs[j].identifiable and batch.identifiable[i]]
    rel = np.array([np.max(np.abs(batch.params[i] - refs[j].params) / np.abs(refs[j].params)) for j, i in both])
    ident_agree = np.mean([refs[j].identifiable == bool(batch.identifiable[i]) for j, i in enumerate(idx)])

    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    print(
        f"batch  : {best * 1e3:8.1f} ms for {len(series)} series  = {batch_per * 1e6:8.1f} us/series "
        f"(best of {args.repeat}; {batch.converged.mean():.1%} converged)"
    )
    how = "all series" if args.lmfit_all else f"random subset of {len(idx)}, extrapolated per series"
    how += f", best of {args.repeat}"
    print(f"lmfit  : {lmfit_time:8.2f} s  for {len(idx)} series  = {lmfit_per * 1e6:8.1f} us/series ({how})")
    print(
        f"lmfit loop for {len(series)} series: {lmfit_per * len(series):.1f} s (estimated)"
        if not args.lmfit_all
        else f"lmfit loop for {len(series)} series: {lmfit_time:.1f} s"
    )
    print(f"speed-up: {lmfit_per / batch_per:.0f}x")
    print(
        f"agreement: {len(both)} series identifiable in both; max relative parameter difference "
        f"median {np.median(rel):.1e}, 99th pct {np.quantile(rel, 0.99):.1e}, max {rel.max():.1e}; "
        f"{np.mean(rel <= AGREEMENT_RTOL):.1%} within {AGREEMENT_RTOL:g}; identifiable verdicts agree on "
        f"{ident_agree:.1%}"
    )


if __name__ == "__main__":
    main()
