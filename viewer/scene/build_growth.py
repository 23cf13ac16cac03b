"""The growth world: model trees' cumulative counts as light-cycle trails, fits, forecasts, parameters.

Layout (world units): trails in the box x in [-5, 5] (time since release), y in [0, 5]
(cumulative children, linear or log), one lane per base model along z in [-4.5, 4.5] (lanes
at least 0.7 apart: more than 14 models make the floor deeper), model names at the right end
of each lane; the (mu, sigma, lambda) parameter space as a point cloud in a second box on the
left and behind, x in [-15, -10], y in [0, 5], z in [-6, -1]. Reads the growth bundle keys of
docs/bundles.md.

Example::

    >>> scene = build_growth_scene(read_bundle("fit.safetensors", kind="growth"), log_count=True)
"""

from __future__ import annotations

import numpy as np

from hubscape.core.bundle import Bundle, to_jsonable
from hubscape.core.errors import BundleError, InputError

from .geometry import band, polyline, ribbon
from .model import GridFloor, Labels, Legend, Points, Scene
from .projection import bounds_of, fit_camera
from .themes import get_theme
from .ticks import box_axes, make_scale

PARAMS_BOX = (np.array([-15.0, 0.0, -6.0]), np.array([-10.0, 5.0, -1.0]))
LANE_GAP = 0.7  # world units between lanes when there are more models than fit in [-4.5, 4.5]
MAX_LEGEND = 10  # more models than this: the lane labels name them, a legend would cover the view
PARAM_NAMES = ("mu", "sigma", "lambda")


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


def build_growth_scene(
    bundle: Bundle, theme: str = "tron", log_count: bool = False, method: str | None = None
) -> Scene:
    """A Scene of a growth bundle: trails, the ``method`` fit (default lsq) with forecast band, parameter cloud."""
    th = get_theme(theme)
    meta, arrays = bundle.meta, bundle.arrays
    models = meta.get("models") or []
    if not models:
        raise BundleError("growth bundle has no models")
    method = _pick_method(meta, arrays, method)
    unit = meta.get("unit", "month")

    series = []
    for i, info in enumerate(models):
        t = np.asarray(bundle.array(f"models/{i}/t"), np.float64)
        count = np.asarray(bundle.array(f"models/{i}/count"), np.float64)
        prefix = f"models/{i}/{method}/"

        def get(key, prefix=prefix):
            return np.asarray(arrays[prefix + key], np.float64) if prefix + key in arrays else None

        series.append(
            {
                "info": info,
                "t": t,
                "count": count,
                "fitted": get("fitted"),
                "ft": get("forecast_t"),
                "fc": get("forecast"),
                "lo": get("forecast_lo"),
                "hi": get("forecast_hi"),
                "params": get("params"),
            }
        )

    times = [np.concatenate([[0.0], s["t"]] + ([s["ft"]] if s["ft"] is not None else [])) for s in series]
    counts = [np.concatenate([s["count"]] + [s[k] for k in ("fitted", "hi") if s[k] is not None]) for s in series]
    xs = make_scale(np.concatenate(times), -5.0, 5.0)
    if log_count:
        positive = np.concatenate(counts)
        ys = make_scale(np.append(positive[positive >= 1], 1.0), 0.0, 5.0, log=True)  # counts below 1 sit on the floor
    else:
        ys = make_scale(np.concatenate(counts), 0.0, 5.0, include_zero=True)

    n = len(series)
    half = max(4.5, LANE_GAP * (n - 1) / 2)  # many models get a deeper floor, not thinner lanes
    lanes = np.linspace(-half, half, n) if n > 1 else np.zeros(1)
    lane_gap = 2 * half / (n - 1) if n > 1 else 9.0
    width = float(min(0.3, 0.4 * lane_gap))
    items, legend = [], []
    for i, s in enumerate(series):
        info, z, color = s["info"], float(lanes[i]), th.color(i)
        name = str(info.get("model", f"model {i}"))
        fit = ((info.get("fits") or {}).get(method)) if method else None
        pick = to_jsonable(
            {
                "model": name,
                "relations": info.get("relations"),
                "n_events": info.get("n_events"),
                "release_date": info.get("release_date"),
                "method": method,
                **_fit_summary(fit),
            }
        )
        # the trail starts at the release (t = 0, no children yet), like a light cycle at its start line
        t0, c0 = np.concatenate([[0.0], s["t"]]), np.concatenate([[0.0], s["count"]])
        trail = np.stack([xs.to_world(t0), ys.to_world(c0), np.full(t0.size, z)], axis=1)
        if s["t"].size and s["t"][0] > 0:
            items.append(ribbon(trail, width=width, color=color, glow=th.glow, name=f"trail/{name}", pick=[pick]))
        if s["fitted"] is not None:
            ft = s["t"] if s["ft"] is None else np.concatenate([s["t"], s["ft"]])
            fc = s["fitted"] if s["fc"] is None else np.concatenate([s["fitted"], s["fc"]])
            curve = np.stack([xs.to_world(ft), ys.to_world(fc), np.full(ft.size, z + 0.6 * width)], axis=1)
            fit_line = polyline(
                curve, color=_mix(color, th.text_color, 0.5), width=2.0, name=f"fit/{name}", pick=[pick]
            )
            if fit_line.positions.shape[0]:  # an unfitted model's curve is all NaN: nothing to draw
                items.append(fit_line)
        if (
            s["ft"] is not None
            and s["lo"] is not None
            and s["hi"] is not None
            and _finite_rows(s["ft"], s["lo"], s["hi"]) >= 2
        ):  # unfitted models have NaN forecasts: no band
            items.append(
                band(
                    xs.to_world(s["ft"]),
                    ys.to_world(s["lo"]),
                    ys.to_world(s["hi"]),
                    z,
                    color=[*color[:3], 0.35],
                    opacity=0.35,
                    name=f"forecast/{name}",
                    pick=[pick],
                )
            )
        legend.append({"label": name, "color": color})

    short = [str(s["info"].get("model", i)).split("/")[-1] for i, s in enumerate(series)]
    # lane labels at the finish line (right end of the time axis), clear of the count axis
    items.append(
        Labels(
            positions=np.stack([np.full(n, 5.3), np.zeros(n), lanes], 1),
            texts=short,
            color=th.text_color,
            anchor="left",
            size=13,
            name="lane labels",
        )
    )
    edge = half + 0.5
    items.extend(
        box_axes(
            [-5.0, 0.0, -edge],
            [5.0, 5.0, edge],
            [xs, ys, None],
            [f"{unit}s since release", "children (cumulative)", ""],
        )
    )
    items.extend(_parameter_cloud(series, models, th, method))

    bounds = bounds_of(items)
    what = f"{method} fit" if method else "observed"
    return Scene(
        world="growth",
        title=f"Growth of {n} model tree{'s' if n != 1 else ''} ({what})",
        items=items,
        camera=fit_camera(bounds, azimuth=35.0, elevation=30.0),
        theme=th.name,
        legend=Legend(entries=legend) if n <= MAX_LEGEND else None,
        grid=GridFloor(size=2 * float(np.ceil(np.abs(bounds).max() + 2)), spacing=1.0),
        bounds=bounds,
    )


def _finite_rows(*arrays) -> int:
    return int(np.logical_and.reduce([np.isfinite(a) for a in arrays]).sum())


def _mix(a, b, t: float) -> np.ndarray:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    out = (1 - t) * a + t * b
    out[3] = a[3]
    return out


def _parameter_cloud(series, models, th, method) -> list:
    """Points in (mu, sigma, lambda) space, one per model with finite parameters of ``method``."""
    rows, colors, picks = [], [], []
    for i, s in enumerate(series):
        p = s["params"]
        if p is None or p.shape != (3,) or not np.isfinite(p).all():
            continue
        rows.append(p)
        colors.append(th.color(i))
        summary = _fit_summary((models[i].get("fits") or {}).get(method))
        extra = {k: v for k, v in summary.items() if k.endswith("stderr") or k in ("c_inf", "identifiable")}
        picks.append(
            to_jsonable(
                {
                    "model": models[i].get("model", f"model {i}"),
                    "method": method,
                    "mu": p[0],
                    "sigma": p[1],
                    "lambda": p[2],
                    **extra,
                }
            )
        )
    if not rows:
        return []
    params = np.array(rows)
    lo, hi = PARAMS_BOX
    scales = [make_scale(params[:, k], lo[k], hi[k], n=4) for k in range(3)]
    world = np.stack([scales[k].to_world(params[:, k]) for k in range(3)], axis=1)
    return [
        Points(positions=world, colors=np.array(colors), sizes=np.full(len(rows), 12.0), name="parameters", pick=picks),
        *box_axes(lo, hi, scales, list(PARAM_NAMES), name="parameter axes"),
    ]
