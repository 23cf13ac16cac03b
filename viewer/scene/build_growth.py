"""The growth world: each model tree's cumulative children over time, its fit, forecast and parameters.

Layout (world units). The curves stand in a box with time since release running left to
right along x in [-5, 5] and the cumulative count rising along y in [0, 5]; each base model
has its own lane along z (the largest trees at the back, so the smaller curves in front do not
hide them), and every default camera looks from the front, slightly from the left and above,
so time runs left to right and counts rise on the screen in every preset. Per model: the
observed counts as points (one per period), the fitted WSB curve as a light ribbon in the
lane's plane, and the forecast band continuing from the fit's end (a dashed line for its
mean). Each curve is labelled at its end, in its colour. The (mu, sigma, lambda) parameters
of the fitted models are a second, linked view: a point cloud with labelled points in a box of
its own to the left (x in [-17, -12]), sharing each model's colour and group with its curve.

Count scale: with ``log_count=None`` (the default) the count axis is logarithmic when the
models' final counts span more than a factor of 10 (the real 21-model crawl spans 1 to 426):
WSB growth is multiplicative, a shared log axis keeps every curve readable and comparable in
one view, where a linear axis flattens all but the largest and small multiples would shrink
each curve to a 21st of the view and lose the common scale.

Every item of a model has ``group`` = the model id, so a viewer can highlight, hide or
isolate a model across the curves, the parameter cloud, the labels and the legend. Tooltips
report the values at the cursor (``data``): period, observed and fitted count, forecast and
its band. Reads the growth bundle keys of docs/bundles.md.

Example::

    >>> scene = build_growth_scene(read_bundle("fit.safetensors", kind="growth"), log_count=True)
"""

from __future__ import annotations

import numpy as np

from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError, InputError

from .figure import frame_views
from .geometry import band, polyline, ribbon
from .model import GridFloor, Labels, Legend, Points, Scene
from .projection import bounds_of
from .themes import get_theme
from .ticks import box_axes, make_scale

PARAMS_BOX = (np.array([-11.0, 0.0, -9.0]), np.array([-7.0, 4.0, -5.0]))
PARAM_NAMES = ("mu", "sigma", "lambda")
LOG_SPAN = 10.0  # final counts spanning more than this factor get a log count axis by default
MAX_DEPTH = 8.0  # world units of lanes (3 models: 3 units, 21 models: 8)
VIEWS = {"overview": (-14.0, 15.0), "front": (0.0, 3.0)}  # azimuth, elevation of the presets


def _fit_summary(fit: dict | None) -> dict:
    """The parameters of one fit as flat tooltip fields (value and stderr)."""
    if not fit:
        return {}
    out = {}
    for key in (*PARAM_NAMES, "c_inf"):
        entry = fit.get(key) or {}
        out[key] = entry.get("value")
        out[f"{key}_stderr"] = entry.get("stderr")
    out["identifiable"] = fit.get("identifiable")
    out["r2"] = fit.get("r2")
    return out


def fit_status(fit: dict | None, params) -> str | None:
    """``None`` for a fitted model, else "not fitted: <reason>" (the words every view shows)."""
    status = (fit or {}).get("status")  # growth bundles of schema 2 say it themselves
    if isinstance(status, str) and status.startswith("not fitted"):
        return status
    if params is not None and np.isfinite(params).all():
        return None
    reasons = list((fit or {}).get("reasons") or [])
    reason = next((r for r in reasons if r.startswith("not fitted")), None)
    if reason:
        return reason
    detail = reasons[0] if reasons else (fit or {}).get("message") or "no fit in this bundle"
    return f"not fitted: {detail}"


def _pick_method(meta: dict, arrays: dict, method: str | None) -> str | None:
    methods = list(meta.get("methods") or [])
    if method is not None:
        if method not in methods:
            raise InputError(f"no {method!r} fit in this growth bundle; it has {', '.join(methods) or 'none'}")
        return method
    for m in ("lsq", *methods):
        if any(k.endswith(f"/{m}/fitted") for k in arrays):
            return m
    return None


def _read_series(bundle: Bundle, method: str | None) -> list[dict]:
    arrays = bundle.arrays
    out = []
    for i, info in enumerate(bundle.meta.get("models") or []):
        prefix = f"models/{i}/{method}/"

        def get(key, prefix=prefix):
            return np.asarray(arrays[prefix + key], np.float64) if prefix + key in arrays else None

        fit = ((info.get("fits") or {}).get(method)) if method else None
        s = {
            "info": info,
            "name": str(info.get("model", f"model {i}")),
            "index": i,
            "t": np.asarray(bundle.array(f"models/{i}/t"), np.float64),
            "count": np.asarray(bundle.array(f"models/{i}/count"), np.float64),
            "fitted": get("fitted"),
            "ft": get("forecast_t"),
            "fc": get("forecast"),
            "lo": get("forecast_lo"),
            "hi": get("forecast_hi"),
            "params": get("params"),
            "fit": fit,
        }
        s["status"] = fit_status(fit, s["params"])
        if s["status"] is not None:  # an unfitted model's curves are NaN: draw its observations only
            s["fitted"] = s["fc"] = s["lo"] = s["hi"] = s["ft"] = None
        out.append(s)
    return out


def _auto_log(series: list[dict]) -> bool:
    finals = np.array([s["count"][-1] for s in series if s["count"].size], np.float64)
    finals = finals[finals > 0]
    return bool(finals.size > 1 and finals.max() / max(finals.min(), 1.0) > LOG_SPAN)


def build_growth_scene(
    bundle: Bundle, theme: str = "tron", log_count: bool | None = None, method: str | None = None
) -> Scene:
    """A Scene of a growth bundle: observed points, the ``method`` fit (default lsq) as a ribbon, the
    forecast band, direct labels, and the linked parameter cloud (see the module docstring)."""
    th = get_theme(theme)
    meta = bundle.meta
    if not meta.get("models"):
        raise BundleError("growth bundle has no models")
    method = _pick_method(meta, bundle.arrays, method)
    unit = meta.get("unit", "month")
    series = _read_series(bundle, method)
    if log_count is None:
        log_count = _auto_log(series)
    # the largest trees at the back (lane 0), so the smaller curves in front leave them visible
    order = sorted(range(len(series)), key=lambda i: (-(series[i]["count"][-1] if series[i]["count"].size else 0), i))
    series = [series[i] for i in order]

    times = [np.concatenate([[0.0], s["t"]] + ([s["ft"]] if s["ft"] is not None else [])) for s in series]
    # the count axis covers what was seen, the fits and the forecasts' means; a band wider than that
    # (the forecast of a curve far from saturating) is cut at the top of the box
    counts = [np.concatenate([s["count"]] + [s[k] for k in ("fitted", "fc") if s[k] is not None]) for s in series]
    xs = make_scale(np.concatenate(times), -5.0, 5.0)
    if log_count:
        every = np.concatenate(counts)
        ys = make_scale(np.append(every[every >= 1], 1.0), 0.0, 5.0, log=True)  # counts below 1 sit on the floor
    else:
        ys = make_scale(np.concatenate(counts), 0.0, 5.0, include_zero=True)

    n = len(series)
    depth = min(MAX_DEPTH, max(3.0, 0.4 * (n - 1)))
    lanes = np.linspace(-depth / 2, depth / 2, n) if n > 1 else np.zeros(1)
    items, legend, label_rows = [], [], []
    for i, s in enumerate(series):
        z, color, name = float(lanes[i]), th.color(i), s["name"]
        record = _record(s, method)
        drawn = _model_items(s, z, color, th, xs, ys, record)
        items.extend(drawn)
        end = _curve_end(drawn)
        if end is not None:
            label_rows.append((end, name.split("/")[-1], color, name))
        legend.append({"label": name, "color": color, "group": name, "note": s["status"]})
    if label_rows:
        items.append(
            Labels(
                positions=[r[0] for r in label_rows],
                texts=[r[1] for r in label_rows],
                colors=[r[2] for r in label_rows],
                groups=[r[3] for r in label_rows],
                color=th.text_color,
                placement="end",
                priority=80,
                size=12,
                radius=3,
                name="curve labels",
            )
        )
    lo, hi = np.array([-5.0, 0.0, -depth / 2 - 0.5]), np.array([5.0, 5.0, depth / 2 + 0.5])
    count_title = "children (cumulative" + (", log scale)" if log_count else ")")
    items.extend(box_axes(lo, hi, [xs, ys, None], [f"{unit}s since release", count_title, ""]))
    items.extend(_parameter_cloud(series, th, method))

    bounds = bounds_of(items)
    fitted = sum(s["status"] is None for s in series)
    what = f"{method} fit, {fitted} of {n} fitted" if method else "observed"
    scene = Scene(
        world="growth",
        title=f"Growth of {n} model tree{'s' if n != 1 else ''} ({what})",
        items=items,
        theme=th.name,
        legend=Legend(entries=legend),
        grid=GridFloor(size=2 * float(np.ceil(np.abs(bounds).max() + 2)), spacing=1.0),
        bounds=bounds,
    )
    frame_views(scene, VIEWS)
    return scene


def _record(s: dict, method: str | None) -> dict:
    """The tooltip fields of a model shared by its items (the cursor adds the values there)."""
    info = s["info"]
    rec = {
        "model": s["name"],
        "relations": info.get("relations"),
        "n_events": info.get("n_events"),
        "release_date": info.get("release_date"),
        "method": method,
    }
    if s["status"] is not None:
        rec["fit"] = s["status"]
    else:
        rec.update(_fit_summary(s["fit"]))
        if not rec.get("identifiable"):
            reasons = (s["fit"] or {}).get("reasons") or []
            rec["identifiable"] = "no: " + "; ".join(reasons) if reasons else "no"
    return to_jsonable(rec)


def _model_items(s: dict, z: float, color, th, xs, ys, record: dict) -> list:
    """Observed points, fit ribbon, forecast band and mean line of one model (group = its id)."""
    name, items = s["name"], []
    t, count = s["t"], s["count"]
    group = {"group": name}
    fitted = s["fitted"] if s["fitted"] is not None else np.full(t.size, np.nan)
    if s["fitted"] is not None and np.isfinite(fitted).sum() >= 2:
        # the fit starts at the release (t = 0, no children yet), like a light cycle at its start line
        ft, fc = np.concatenate([[0.0], t]), np.concatenate([[0.0], fitted])
        pts = np.stack([xs.to_world(ft), ys.to_world(fc), np.full(ft.size, z)], axis=1)
        data = np.stack([ft, fc, np.concatenate([[0.0], count])], axis=1)
        items.append(
            ribbon(
                pts,
                width=0.07,
                color=color,
                glow=th.glow,
                facing=(0.0, 0.0, 1.0),
                data=data,
                data_names=["period", "fitted", "observed"],
                name=f"fit/{name}",
                pick=[record],
                **group,
            )
        )
    elif t.size >= 2:  # not fitted: a thin line joins the observations so the shape stays visible
        pts = np.stack([xs.to_world(t), ys.to_world(count), np.full(t.size, z)], axis=1)
        items.append(
            polyline(
                pts,
                color=[*color[:3], 0.6],
                width=1.0,
                data=np.stack([t, count], 1),
                data_names=["period", "observed"],
                name=f"observed line/{name}",
                pick=[record],
                **group,
            )
        )
    # the lane's own floor line: a curve's height above it is its count (the lanes recede in depth)
    items.append(
        polyline(
            np.array([[-5.0, 0.0, z], [5.0, 0.0, z]]), color=[*color[:3], 0.35], width=1.0, name=f"lane/{name}", **group
        )
    )
    if t.size:
        pts = np.stack([xs.to_world(t), ys.to_world(count), np.full(t.size, z + 0.02)], axis=1)
        point_color = _mix(color, th.text_color, 0.35)
        items.append(
            Points(
                positions=pts,
                colors=np.tile(point_color, (t.size, 1)),
                sizes=np.full(t.size, 5.0),
                data=np.stack([t, count, fitted], 1),
                data_names=["period", "observed", "fitted"],
                name=f"observed/{name}",
                pick=[record],
                **group,
            )
        )
    if s["ft"] is not None and s["lo"] is not None and s["hi"] is not None and s["fc"] is not None:
        items.extend(_forecast_items(s, z, color, xs, ys, record))
    return items


def _forecast_items(s: dict, z: float, color, xs, ys, record: dict) -> list:
    """The forecast band, starting at the fit's last point so it continues the curve, and its mean
    (dashed) where there is one: a fit that is not identifiable has a band but no point forecast."""
    name = s["name"]
    last_t, last_fit = float(s["t"][-1]), float(s["fitted"][-1])
    ft = np.concatenate([[last_t], s["ft"]])
    mean, lo, hi = (np.concatenate([[last_fit], s[k]]) for k in ("fc", "lo", "hi"))
    ok = np.isfinite(ft) & np.isfinite(lo) & np.isfinite(hi)
    if ok.sum() < 2:
        return []
    level = (s["fit"] or {}).get("forecast_level", 0.9)
    rec = {
        **{k: record[k] for k in ("model", "method") if k in record},
        "what": f"forecast with {100 * float(level):.0f}% band",
    }
    data = np.stack([ft, mean, lo, hi], axis=1)
    names = ["period", "forecast", "band low", "band high"]
    top = ys.hi
    out = [
        band(
            xs.to_world(ft),
            ys.to_world(np.minimum(lo, top)),
            ys.to_world(np.minimum(hi, top)),
            z - 0.01,
            color=[*color[:3], 0.3],
            opacity=0.3,
            data=data,
            data_names=names,
            name=f"forecast/{name}",
            pick=[rec],
            group=name,
        )
    ]
    if np.isfinite(mean[1:]).sum() < 1:  # not identifiable: a band, but no point forecast (schema 2)
        return out
    pts = np.stack([xs.to_world(ft), ys.to_world(mean), np.full(ft.size, z)], axis=1)
    out.append(
        polyline(
            pts,
            color=[*color[:3], 0.9],
            width=1.5,
            data=data,
            data_names=names,
            name=f"forecast mean/{name}",
            pick=[rec],
            group=name,
            dash=6.0,
        )
    )
    return out


def _curve_end(items: list):
    """Where a model's label goes: the end of its last drawn curve (forecast, fit or observations)."""
    for prefix in ("forecast mean/", "fit/", "observed/"):
        for item in items:
            if item.name.startswith(prefix):
                pos = item.positions
                if prefix == "fit/":  # a ribbon: the centre of its last pair of vertices
                    return (pos[-1] + pos[-2]) / 2
                return pos[-1]
    return None


def _mix(a, b, t: float) -> np.ndarray:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    out = (1 - t) * a + t * b
    out[3] = a[3]
    return out


def _parameter_cloud(series, th, method) -> list:
    """The linked view: one point per fitted model in (mu, sigma, lambda), labelled, in its own box."""
    rows = [
        (i, s)
        for i, s in enumerate(series)
        if s["status"] is None and s["params"] is not None and s["params"].shape == (3,)
    ]
    if not rows:
        return []
    params = np.array([s["params"] for _, s in rows])
    lo, hi = PARAMS_BOX
    scales = [make_scale(params[:, k], lo[k], hi[k], n=4) for k in range(3)]
    world = np.stack([scales[k].to_world(params[:, k]) for k in range(3)], axis=1)
    items = []
    for row, (i, s) in zip(world, rows):
        summary = _fit_summary(s["fit"])
        extra = {k: v for k, v in summary.items() if k.endswith("stderr") or k in ("c_inf", "identifiable")}
        pick = to_jsonable(
            {
                "model": s["name"],
                "method": method,
                "mu": s["params"][0],
                "sigma": s["params"][1],
                "lambda": s["params"][2],
                **extra,
            }
        )
        items.append(
            Points(
                positions=row[None],
                colors=th.color(i)[None],
                sizes=[11.0],
                name=f"parameters/{s['name']}",
                pick=[pick],
                group=s["name"],
            )
        )
    items.append(
        Labels(
            positions=world,
            texts=[s["name"].split("/")[-1] for _, s in rows],
            colors=[th.color(i) for i, _ in rows],
            groups=[s["name"] for _, s in rows],
            color=th.text_color,
            placement="point",
            priority=75,
            size=11,
            radius=5.5,
            name="parameter labels",
        )
    )
    items.extend(box_axes(lo, hi, scales, list(PARAM_NAMES), name="parameter axes", depth_side="left"))
    return items
