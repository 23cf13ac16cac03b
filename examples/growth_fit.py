"""Growth of model trees: fit the Wang-Song-Barabasi model to real Hub fine-tune listings,
read the verdicts and forecasts, backtest against the baselines, export the growth world.

    python examples/growth_fit.py [OUT_DIR] [CHILDREN_CSV]

CHILDREN_CSV defaults to the April-2025 crawl in ../shared/data/hf-model-trees (21 base models).
About 20 s on two CPU cores.
"""

import sys
from pathlib import Path

import hubscape as hs

out = Path(sys.argv[1] if len(sys.argv) > 1 else "growth-example")
here = Path(__file__).resolve().parent
csv = (
    Path(sys.argv[2])
    if len(sys.argv) > 2
    else here.parents[1] / "shared/data/hf-model-trees/hf_finetune_children_by_base.csv"
)
out.mkdir(parents=True, exist_ok=True)

results = hs.growth.fit(csv)  # mle with an empirical-Bayes prior on lambda, monthly, m = 30
print(results.report())

phi2 = next(r for r in results if r.series.model == "microsoft/phi-2")
fit = phi2.fits["mle"]
print(phi2)
print(f"phi-2: {fit.status}; lambda 90% interval {fit.lam_interval}")

# How well would these forecasts have done? Refit at every cutoff, score the held-out months.
backtest = hs.growth.backtest(csv, horizons=[6, 12])
print(backtest.report())

results.save(out / "growth.safetensors")
figure = hs.export(results, out / "growth.png", size=(1400, 860), theme="paper", log_count=True)
print(f"wrote {out / 'growth.safetensors'} and {figure}")
