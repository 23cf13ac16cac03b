"""Analytics requests as plain JSON documents, answered the same way by both kernels.

The server kernel calls these from CPython; the Pyodide kernel calls the very same functions
inside the browser (hubscape's wheel, with numpy/scipy/lmfit from the Pyodide index). A
request is data only (never code): which CSV text or file, which models, m, method, theme.

A fit goes through the library's entry point (``analytics.growth.api.fit``) with the CLI's
default method and prior, and its numbers are the results' ``summary()``, the one serializer;
so a page, ``hubscape growth fit`` and a notebook give the same fit. Example::

    >>> doc = fit_growth_request({"csv": {"name": "kids.csv", "text": open("kids.csv").read()},
    ...                           "models": ["google/gemma-7b"], "m": 30})
    >>> doc["fits"][0]["params"], doc["fits"][0]["fit"]["status"]   # mu, sigma, lambda; the verdict
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Any

from hubscape.core.errors import InputError

#: Bounds on a fit request (what a page can ask for).
MAX_MODELS = 64
HORIZON = 12


def parse_fit_options(doc: dict[str, Any]) -> dict[str, Any]:
    """Validated m, method, models, unit and theme of a fit request; InputError if bad."""
    try:
        m = float(doc.get("m", 30.0))
    except (TypeError, ValueError):
        raise InputError(f"m must be a number, got {doc.get('m')!r}") from None
    if not (m > 0 and m < 1e6):
        raise InputError(f"m must be positive (WSB uses 30), got {m:g}")
    from hubscape.analytics.growth.methods import DEFAULT_METHOD, METHODS

    method = doc.get("method") or DEFAULT_METHOD
    if method not in METHODS:
        raise InputError(f"method must be {' or '.join(METHODS)}, got {str(method)[:40]!r}")
    models = doc.get("models") or []
    if not isinstance(models, list) or not all(isinstance(x, str) for x in models):
        raise InputError("models must be a list of model ids")
    if len(models) > MAX_MODELS:
        raise InputError(f"at most {MAX_MODELS} models per fit, got {len(models)}")
    unit = doc.get("unit", "month")
    if unit not in ("month", "week", "day"):
        raise InputError(f"unit must be month, week or day, got {str(unit)[:40]!r}")
    theme = doc.get("theme", "tron")
    if theme not in ("tron", "paper"):
        raise InputError(f"theme must be tron or paper, got {theme!r}")
    log_count = doc.get("log_count")
    if log_count is not None and not isinstance(log_count, bool):
        raise InputError(f"log_count must be true, false or absent (the scale the data call for), got {log_count!r}")
    return {
        "m": m,
        "method": method,
        "models": [x.strip() for x in models if x.strip()],
        "unit": unit,
        "theme": theme,
        "log_count": log_count,
    }


def trees_from_csv_text(name: str, text: str):
    """Model trees from the text of a children CSV (see analytics.growth.tree)."""
    from hubscape.analytics.growth.tree import read_children_csv

    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{name} is empty")
    fd, tmp = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        trees = read_children_csv(tmp)
    except InputError as exc:
        raise InputError(str(exc).replace(tmp, name)) from None
    finally:
        os.unlink(tmp)
    return trees


def trees_from_hub(ids: Any) -> list:
    """Fine-tune trees of base models from the Hub (through hubscape's tree cache; offline, the
    cache alone). Needs huggingface_hub, so only the server kernel can do it."""
    if not isinstance(ids, list) or not ids or not all(isinstance(x, str) for x in ids):
        raise InputError('hub must be a list of base model ids, e.g. ["microsoft/phi-2"]')
    if len(ids) > MAX_MODELS:
        raise InputError(f"at most {MAX_MODELS} models per fit, got {len(ids)}")
    try:
        from hubscape.analytics.growth.hub import TreeCollector
    except ImportError:
        raise InputError("fetching model trees from the Hub needs the server kernel (hubscape serve)") from None
    collector = TreeCollector()
    return [collector.collect(model_id.strip(), relations=("finetune",)) for model_id in ids]


def fit_growth_request(doc: dict[str, Any], csv_path: str | Path | None = None) -> dict[str, Any]:
    """Fit the WSB model to each chosen model's children; the growth scene and the numbers.

    The trees come from ``doc["hub"]`` (base model ids, fetched live through the tree cache),
    ``doc["csv"] = {"name", "text"}`` or ``csv_path`` (a file the server chose; a page never
    names server paths). They are fitted by ``api.fit`` (default: the CLI's method, mle with
    the empirical-Bayes prior of the whole source, as ``hubscape growth fit SOURCE`` fits it, whichever
    models are chosen). Returns JSON-able data: ``scene`` (the scene bundle,
    base64, built from the current growth bundle), ``models`` (all models in the CSV), ``fits``
    (per fitted model: ``fit``, its ``FitResult.summary()``, and from it the flat ``params``,
    ``stderr``, ``c_inf``, ``r2``, ``identifiable``, ``reasons``), ``summary`` lines and
    ``prior`` (the run's prior, or null).
    """
    from hubscape.analytics.growth import api
    from hubscape.analytics.growth.sources import load_series
    from hubscape.analytics.growth.tree import read_children_csv
    from hubscape.core.bundle import encode_bundle, to_jsonable
    from hubscape.viewer.scene.build_growth import fit_status
    from hubscape.viewer.scene.builders import build_scene
    from hubscape.viewer.scene.serialize import scene_to_bundle

    opts = parse_fit_options(doc)
    if doc.get("hub"):
        trees = trees_from_hub(doc["hub"])
        source = "the Hub"
        opts["models"] = [t.base.id for t in trees]
    elif csv_path is not None:
        trees = read_children_csv(csv_path)
        source = Path(csv_path).name
    else:
        csv = doc.get("csv")
        if not isinstance(csv, dict) or "text" not in csv:
            raise InputError("a fit needs a children CSV (drop one on the page) or a gallery item")
        source = str(csv.get("name") or "upload.csv")
        trees = trees_from_csv_text(source, csv["text"])
    available = [t.base.id for t in trees]
    by_name = dict(zip(available, trees))
    note = None
    chosen = opts["models"] or available
    if not opts["models"] and len(available) > MAX_MODELS:  # the largest trees, and say so
        chosen = [t.base.id for t in sorted(trees, key=lambda t: -len(t.children))[:MAX_MODELS]]
        note = f"showing the {MAX_MODELS} largest of {len(available)} model trees; list models to fit others"
    unknown = [name for name in chosen if name not in by_name]
    if unknown:
        raise InputError(f"{', '.join(unknown)} not in {source} (it has {len(available)} models, e.g. {available[0]})")
    method = opts["method"]
    # the run is the whole source, as `hubscape growth fit SOURCE` sees it: its prior, then the chosen models
    prior = api.resolve_prior("auto", list(load_series(trees, unit=opts["unit"])), (method,), opts["m"])
    results = api.fit(
        [by_name[name] for name in chosen],
        methods=(method,),
        m=opts["m"],
        unit=opts["unit"],
        horizon=HORIZON,
        prior=prior,
    )
    results.provenance["sources"] = [source]
    scene = build_scene(results.to_bundle(), theme=opts["theme"], log_count=opts["log_count"])
    scene_arrays, scene_meta = scene_to_bundle(scene)
    scene_bytes = encode_bundle("scene", scene_arrays, scene_meta, {"sources": [source]})
    fits, summary = [], []
    for r in results:
        fit = r.fits[method]
        d = fit.summary()
        status = fit_status(d, fit.params)
        entry = {
            "model": r.model,
            "method": method,
            "m": d["m"],
            "params": [d[name]["value"] for name in ("mu", "sigma", "lambda")],
            "stderr": [d[name]["stderr"] for name in ("mu", "sigma", "lambda")],
            "c_inf": d["c_inf"]["value"],
            "r2": d["r2"],
            "identifiable": d["identifiable"],
            "reasons": d["reasons"],
            "n_events": r.series.n_events,
            "poor_fit": r.poor_fit,
            "status": status,
            "fit": d,
        }
        fits.append(to_jsonable(entry))
        if status is None:
            mu, sigma, lam = fit.params
            flag = "" if fit.identifiable else f" ({fit.status})"
            line = f"{r.model}: mu={mu:.3g} sigma={sigma:.3g} lambda={lam:.3g}{flag}"
        else:
            line = f"{r.model}: {status}"
        summary.append({"model": r.model, "line": line})
    return {
        "scene": base64.b64encode(scene_bytes).decode("ascii"),
        "models": available,
        "fits": fits,
        "summary": summary,
        "source": source,
        "note": note,
        "method": method,
        "prior": None if results.prior is None else to_jsonable(results.prior.summary()),
        "skipped": [{"model": m, "reason": why} for m, why in results.skipped],
    }
