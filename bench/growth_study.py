"""The growth science studies behind docs/growth.md: interval coverage and forecast backtests.

    python3 bench/growth_study.py coverage --paths 100 --out coverage.json
    python3 bench/growth_study.py backtest-synthetic --series 80 --out bt-synthetic.json
    python3 bench/growth_study.py backtest-hf --out bt-hf.json
    python3 bench/growth_study.py gof --paths 250 --out gof.json

``coverage``: for each truth of ``TRUTHS`` (m = 30, monthly, stated seeds 0..paths-1), draws
event times from the WSB process (``model.simulate_events``), fits ``lsq`` and ``mle`` with
their 90% intervals of lambda, and counts how often the interval holds the true lambda; lmfit's
own standard errors (``stderr``, +-1.645 se) are counted for comparison, and the MLE's Wald
interval. It also scores the 90% and 50% predictive bands of the forecast 6 periods past the end
of a window that stops ``future`` periods early.

``backtest-synthetic``: a population with lambda ~ Gamma(4, 1.5), mu ~ U(1, 3), sigma ~
U(0.5, 1.2) observed 36 months (seed 1), backtested at cutoffs 12, 18, 24. ``backtest-hf``:
the 21 real curves of ../shared/data/hf-model-trees at cutoffs 6, 9, ..., 24. Both print the
table of docs/growth.md.

``gof``: the time-rescaling test of ``mle`` fits (analytics/growth/gof.py). Its rejection rate
at 5% on paths of each truth (fitted parameters, the case its p-value is for) and on two
misspecified kinds of path (two waves: a second WSB tree starting at month 12; batches: each
arrival a Geometric(1/2) batch within the hour), and its p-value on each real curve.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from hubscape.analytics.growth import api
from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.forecast import forecast_at, truncate
from hubscape.analytics.growth.lsq import fit_lsq
from hubscape.analytics.growth.mle import fit_mle
from hubscape.analytics.growth.series import series_from_events
from hubscape.core.bundle import to_jsonable

REPO = Path(__file__).resolve().parents[1]
HF_CSV = REPO.parent / "shared" / "data" / "hf-model-trees" / "hf_finetune_children_by_base.csv"

#: (mu, sigma, lambda), observed until T months: saturated, slower, at the inflection, small.
TRUTHS = {
    "A": ((1.5, 0.7, 3.0), 36.0),
    "B": ((2.0, 1.0, 2.0), 36.0),
    "C": ((2.5, 0.8, 4.0), 12.0),
    "D": ((1.0, 0.5, 1.0), 24.0),
}
Z90 = 1.6448536269514722


def coverage(paths: int, future: int = 6) -> dict:
    out = {}
    for key, (truth, T) in TRUTHS.items():
        lam = truth[2]
        hits = {"lsq": [], "mle": [], "lsq_lmfit_stderr": [], "mle_wald": []}
        bands = {"lsq": [], "mle": []}
        ident = []
        start = time.perf_counter()
        for seed in range(paths):
            events = wsb.simulate_events(*truth, m=30.0, until=T, rng=seed)
            s = series_from_events("sim", events, T)
            lsq, mle = fit_lsq(s, seed=seed), fit_mle(s)
            for name, fit in (("lsq", lsq), ("mle", mle)):
                lo, hi = fit.lam_interval
                hits[name].append(bool(lo <= lam <= hi))
            hits["lsq_lmfit_stderr"].append(bool(abs(lsq.lam - lam) <= Z90 * lsq.stderr[2]))
            hits["mle_wald"].append(bool(abs(mle.lam - lam) <= Z90 * mle.stderr[2]))
            ident.append(mle.identifiable)
            # forecast: fit a window that ends `future` periods early, score the count at its end
            K = T - future
            past = truncate(s, K)
            t = np.array([T])
            observed = float(s.count[-1])
            for name, fit in (("lsq", fit_lsq(past, seed=seed)), ("mle", fit_mle(past, intervals=False))):
                fc = forecast_at(fit, past, t, seed=seed)
                bands[name].append([bool(fc.lo[0] <= observed <= fc.hi[0]), bool(fc.lo50[0] <= observed <= fc.hi50[0])])
        row = {
            "truth": truth,
            "T": T,
            "paths": paths,
            "seconds": time.perf_counter() - start,
            "identifiable": float(np.mean(ident)),
        }
        row.update({f"lambda_90_{k}": float(np.mean(v)) for k, v in hits.items()})
        for name, v in bands.items():
            v = np.array(v)
            row[f"forecast_{future}_90_{name}"] = float(v[:, 0].mean())
            row[f"forecast_{future}_50_{name}"] = float(v[:, 1].mean())
        out[key] = row
        print(key, json.dumps(to_jsonable(row)), file=sys.stderr, flush=True)
    total = {
        k: float(np.mean([r[k] for r in out.values()]))
        for k in next(iter(out.values()))
        if k.startswith(("lambda", "forecast"))
    }
    return {"truths": out, "pooled": total}


def _two_waves(rng) -> np.ndarray:
    first = wsb.simulate_events(0.5, 0.5, 2.0, until=36.0, rng=rng)
    return np.sort(np.concatenate([first, 12.0 + wsb.simulate_events(0.5, 0.5, 2.0, until=24.0, rng=rng)]))


def _batched(rng) -> np.ndarray:
    starts = wsb.simulate_events(1.5, 0.7, 2.0, until=36.0, rng=rng)
    sizes = rng.geometric(0.5, starts.size)
    return np.sort(np.repeat(starts, sizes) + rng.uniform(0, 1 / (24 * 30.44), sizes.sum()))


def gof(paths: int) -> dict:
    from hubscape.analytics.growth.gof import GOF_LEVEL

    out = {"level": GOF_LEVEL, "truths": {}, "misspecified": {}, "real": {}}
    for key, (truth, T) in TRUTHS.items():
        rejected = []
        for seed in range(paths):
            s = series_from_events("sim", wsb.simulate_events(*truth, m=30.0, until=T, rng=seed), T)
            rejected.append(fit_mle(s, intervals=False).gof.rejects)
        out["truths"][key] = {"truth": truth, "T": T, "paths": paths, "rejected": float(np.mean(rejected))}
        print(key, out["truths"][key], file=sys.stderr, flush=True)
    for name, make in (("two waves", _two_waves), ("batches", _batched)):
        rejected = []
        for seed in range(max(paths // 5, 10)):
            s = series_from_events(name, make(np.random.default_rng(seed)), 36.0)
            rejected.append(fit_mle(s, intervals=False).gof.rejects)
        out["misspecified"][name] = {"paths": len(rejected), "rejected": float(np.mean(rejected))}
    for r in api.fit(HF_CSV):
        g = r.fits["mle"].gof
        if g is not None and math.isfinite(g.p_value):
            out["real"][r.model] = {**g.summary(), "r2": r.fits["mle"].r2, "dispersion": r.fits["mle"].dispersion}
    return out


def synthetic_population(n: int, seed: int = 1, T: float = 36.0) -> list:
    rng = np.random.default_rng(seed)
    series = []
    for i in range(n):
        lam, mu, sigma = rng.gamma(4.0, 1 / 1.5), rng.uniform(1.0, 3.0), rng.uniform(0.5, 1.2)
        events = wsb.simulate_events(mu, sigma, lam, m=30.0, until=T, rng=rng)
        if events.size >= 5:
            series.append(series_from_events(f"synthetic/{i}", events, T))
    return series


def table(summary: dict) -> str:
    lines = [
        "| method | h | n | median APE | 50% band | 90% band | beats last value | beats linear |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def pct(v):
        return "-" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"

    for s in summary["methods"]:
        lines.append(
            f"| {s['method']} | {s['horizon']} | {s['n_series']} | {pct(s['median_ape'])} | "
            f"{pct(s['coverage_50'])} | {pct(s['coverage_90'])} | {pct(s.get('beats_last_value'))} | "
            f"{pct(s.get('beats_linear'))} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=["coverage", "backtest-synthetic", "backtest-hf", "gof"])
    parser.add_argument("--paths", type=int, default=100)
    parser.add_argument("--series", type=int, default=80)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.study == "coverage":
        result = coverage(args.paths)
        text = json.dumps(to_jsonable(result["pooled"]), indent=1)
    elif args.study == "gof":
        result = gof(args.paths)
        text = json.dumps(to_jsonable(result), indent=1)
    else:
        if args.study == "backtest-synthetic":
            bt = api.backtest(synthetic_population(args.series), cutoffs=[12, 18, 24])
        else:
            bt = api.backtest(HF_CSV, cutoffs=[6, 9, 12, 15, 18, 21, 24])
        result = bt.summary()
        text = table(result)
    result["seconds"] = time.perf_counter() - start
    print(text)
    if args.out:
        args.out.write_text(json.dumps(to_jsonable(result), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
