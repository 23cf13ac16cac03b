"""Growth report figures name an unfitted model's reason in the title, never "mu = nan"."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")


def test_an_unfitted_models_figure_title_says_why(children_csv):
    from hubscape.analytics.growth.analysis import analyze
    from hubscape.analytics.growth.sources import load_series
    from hubscape.viewer.reports.growth import draw_figure

    series = {s.model: s for s in load_series(children_csv)}
    unfitted = analyze(series["deepseek-ai/DeepSeek-R1"], methods=("lsq",))  # 3 months observed
    title = draw_figure(unfitted, "lsq").axes[0].get_title()
    assert title.startswith("deepseek-ai/DeepSeek-R1\nnot fitted: ") and "nan" not in title
    fitted = analyze(series["microsoft/phi-2"], methods=("lsq",))
    assert "μ = 1.11" in draw_figure(fitted, "lsq").axes[0].get_title()
