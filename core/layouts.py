"""Per-kind layout checks: every bundle is held to docs/bundles.md once, where it is read.

``decode_bundle`` (and so ``read_bundle`` and every reader built on it: the scene builders,
``read_growth_bundle``, ``load_landscape``, ``read_activations``, ``scene_from_bundle``, the
server) runs :func:`validate` after the container checks, so code past that point may rely on
the documented keys, dtypes, shapes and JSON types. A bundle that breaks the layout is one
one-line :class:`~hubscape.core.errors.BundleError` naming the key. Keys a reader does not know
are allowed (docs/bundles.md: "readers ignore keys they do not know").

The scene kind's checks are also in ``static/js/scene.js`` (``validateScene``), so the browser
refuses the same scene bundles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import BundleError

FLOAT = ("f",)
NUMBER = ("f", "i", "u")
NUMBER_OR_BOOL = ("f", "i", "u", "b")
INTEGER = ("i", "u")
UNITS = ("month", "week", "day")
ITEM_KINDS = ("mesh", "ribbon", "points", "lines", "labels", "axes")
WORLDS = ("growth", "landscape", "activations")
THEMES = ("tron", "paper")
ANCHORS = ("left", "center", "right")
PLACEMENTS = ("point", "end", "start", "center", "fixed")
NORMS = ("linf", "l1", "l2")


class Layout:
    """Checks on one bundle; every failure is a BundleError '<name>: <kind> bundle ...'."""

    def __init__(self, bundle, name: str):
        self.bundle, self.name = bundle, name
        self.meta, self.arrays = bundle.meta, bundle.arrays

    def fail(self, message: str):
        raise BundleError(f"{self.name}: {self.bundle.kind} bundle {message}")

    # --- arrays -------------------------------------------------------------------------
    def array(
        self,
        key: str,
        kinds=NUMBER,
        ndim: int | None = None,
        shape: tuple | None = None,
        finite: bool = False,
        required: bool = True,
        min_size: int = 0,
    ) -> np.ndarray | None:
        arr = self.arrays.get(key)
        if arr is None:
            if required:
                self.fail(f"has no array {key!r}")
            return None
        if arr.dtype.kind not in kinds:
            self.fail(f"array {key!r} has dtype {arr.dtype}, expected {_kind_names(kinds)}")
        want = len(shape) if shape is not None else ndim
        if want is not None and arr.ndim != want:
            self.fail(f"array {key!r} has shape {arr.shape}, expected {want} dimension(s)")
        if shape is not None and any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            self.fail(f"array {key!r} has shape {arr.shape}, expected {_shape_text(shape)}")
        if arr.size < min_size:
            self.fail(f"array {key!r} has {arr.size} values, expected at least {min_size}")
        if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
            self.fail(f"array {key!r} has NaN or infinite values")
        return arr

    def axis(self, key: str, required: bool = True) -> np.ndarray | None:
        arr = self.array(key, NUMBER, ndim=1, finite=True, required=required, min_size=1)
        if arr is not None and not (np.diff(arr.astype(np.float64)) > 0).all():
            self.fail(f"array {key!r} is not strictly increasing")
        return arr

    # --- JSON ---------------------------------------------------------------------------
    def value(
        self, doc: Any, key: str, check: Callable[[Any], bool], what: str, where: str = "meta", required: bool = False
    ) -> Any:
        if not isinstance(doc, dict):
            self.fail(f"{where} is not a JSON object")
        if key not in doc or doc[key] is None:
            if required:
                self.fail(f"{where} has no {key!r}")
            return None
        if not check(doc[key]):
            self.fail(f"{where}.{key} must be {what}, got {_short(doc[key])}")
        return doc[key]


# --- JSON predicates -------------------------------------------------------------------
def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_whole(v) -> bool:
    return is_number(v) and v == int(v) and v >= 0


def is_str(v) -> bool:
    return isinstance(v, str)


def is_bool(v) -> bool:
    return isinstance(v, bool)


def is_dict(v) -> bool:
    return isinstance(v, dict)


def list_of(pred) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and all(pred(x) for x in v)


def one_of(*choices) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in choices


def vec(n: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and len(v) == n and all(is_number(x) for x in v)


# --- the kinds -------------------------------------------------------------------------
def _landscape(c: Layout) -> None:
    meta = c.meta
    dims = c.value(meta, "dims", lambda v: v in (1, 2) and not isinstance(v, bool), "1 or 2")
    for key in ("loss", "method"):
        c.value(meta, key, is_str, "a string")
    c.value(meta, "center_loss", is_number, "a number or null")
    c.value(meta, "markers", list_of(is_str), "a list of names")
    c.value(meta, "metrics", list_of(is_str), "a list of names")
    c.value(meta, "model", is_dict, "an object")
    x = c.axis("x")
    y = c.axis("y", required=False)
    if dims is not None and dims != (1 if y is None else 2):
        c.fail(f"says dims {dims} but has {'no ' if y is None else ''}array 'y'")
    grid = (x.size,) if y is None else (y.size, x.size)
    c.array("loss", NUMBER, shape=grid)
    for key in c.arrays:
        if key.startswith("metrics/"):
            c.array(key, NUMBER, shape=grid)
    for name in meta.get("metrics") or []:
        c.array(f"metrics/{name}", NUMBER, shape=grid)
    c.array("done", NUMBER_OR_BOOL, shape=grid, required=False)
    d = len(grid)
    xy = c.array("trajectory/xy", NUMBER, shape=(None, d), finite=True, required=False, min_size=d)
    if xy is not None:
        c.array("trajectory/loss", NUMBER, shape=(xy.shape[0],))
    markers = c.array("markers/xy", NUMBER, shape=(None, d), finite=True, required=False)
    names = meta.get("markers") or []
    if markers is not None and len(names) > markers.shape[0]:
        c.fail(f"names {len(names)} markers but 'markers/xy' has {markers.shape[0]} rows")


def _growth(c: Layout) -> None:
    meta = c.meta
    c.value(meta, "unit", one_of(*UNITS), " or ".join(UNITS), required=True)
    c.value(meta, "m", is_number, "a number or null")
    c.value(meta, "horizon", is_whole, "a whole number")
    methods = c.value(meta, "methods", list_of(is_str), "a list of method names") or []
    models = c.value(
        meta,
        "models",
        lambda v: isinstance(v, list) and len(v) > 0 and all(map(is_dict, v)),
        "a non-empty list of objects",
        required=True,
    )
    for i, entry in enumerate(models):
        where = f"meta.models[{i}]"
        c.value(entry, "model", is_str, "a model id", where, required=True)
        for key in ("release_date", "snapshot", "release_source", "source"):
            c.value(entry, key, is_str, "a string", where)
        c.value(entry, "observed_until", is_number, "a number", where)
        for key in ("relations", "notes"):
            c.value(entry, key, list_of(is_str), "a list of strings", where)
        c.value(entry, "anomalous_periods", list_of(is_whole), "a list of whole numbers", where)
        fits = (
            c.value(entry, "fits", lambda v: is_dict(v) and all(map(is_dict, v.values())), "an object of fits", where)
            or {}
        )
        t = c.array(f"models/{i}/t", NUMBER, ndim=1, finite=True)
        n = t.shape[0]
        c.array(f"models/{i}/count", NUMBER, shape=(n,), finite=True)
        c.array(f"models/{i}/events", NUMBER, ndim=1, finite=True)
        for method in dict.fromkeys([*fits, *methods]):
            _growth_fit(c, i, method, fits.get(method), n, required=method in fits)


def _growth_fit(c: Layout, i: int, method: str, fit: dict | None, n: int, required: bool) -> None:
    key = f"models/{i}/{method}"
    where = f"meta.models[{i}].fits.{method}"
    if fit is not None:
        for name in ("mu", "sigma", "lambda", "c_inf", "prior"):
            c.value(fit, name, is_dict, "an object", where)
        for name in ("r2", "rmse", "aic", "bic", "m", "log_likelihood", "forecast_level"):
            c.value(fit, name, is_number, "a number or null", where)
        c.value(fit, "reasons", list_of(is_str), "a list of strings", where)
        c.value(fit, "message", is_str, "a string", where)
        prior = fit.get("prior")
        if prior is not None:
            for name in ("shape", "rate"):
                c.value(prior, name, is_number, "a number", f"{where}.prior", required=True)
        backtest = c.value(fit, "backtest", is_dict, "an object", where)
        if backtest is not None:
            c.value(backtest, "k", is_whole, "a whole number", f"{where}.backtest", required=True)
            b = c.array(f"{key}/backtest_t", NUMBER, ndim=1)
            for name in ("backtest_observed", "backtest_predicted"):
                c.array(f"{key}/{name}", NUMBER, shape=(b.shape[0],))
    c.array(f"{key}/params", NUMBER, shape=(3,), required=required)
    c.array(f"{key}/cov", NUMBER, shape=(3, 3), required=required)
    c.array(f"{key}/fitted", NUMBER, shape=(n,), required=required)
    forecast = [f"{key}/{name}" for name in ("forecast_t", "forecast", "forecast_lo", "forecast_hi")]
    if any(k in c.arrays for k in forecast):
        h = c.array(forecast[0], NUMBER, ndim=1).shape[0]
        for k in forecast[1:]:
            c.array(k, NUMBER, shape=(h,))


def _activations(c: Layout) -> None:
    meta = c.meta
    conditions = c.value(
        meta,
        "conditions",
        lambda v: list_of(is_str)(v) and len(v) > 0 and len(set(v)) == len(v),
        "a non-empty list of distinct names",
        required=True,
    )
    layers = c.value(
        meta,
        "layers",
        lambda v: isinstance(v, list) and len(v) > 0 and all(map(is_dict, v)),
        "a non-empty list of objects",
        required=True,
    )
    for key in ("model", "summary", "data", "trigger"):
        c.value(meta, key, is_dict, "an object or null")
    for li, layer in enumerate(layers):
        where = f"meta.layers[{li}]"
        c.value(layer, "name", is_str, "a string", where, required=True)
        c.value(layer, "type", is_str, "a string", where)
        c.value(layer, "shape", list_of(is_whole), "a list of sizes", where)
        channels = c.value(layer, "channels", is_whole, "a whole number", where)
        for cond in conditions:
            key = f"layers/{li}/{cond}"
            present = [n for n in NORMS if f"{key}/{n}" in c.arrays]
            if not present:
                c.fail(f"has no channel norms of layer {li} under {cond!r} (array '{key}/linf', '/l1' or '/l2')")
            first = c.array(f"{key}/{present[0]}", NUMBER, ndim=1, min_size=1)
            size = first.shape[0] if channels is None else int(channels)
            for norm in NORMS:  # each optional (a builder asks for the one it draws), checked where present
                c.array(f"{key}/{norm}", NUMBER, shape=(size,), required=False)
                c.array(f"{key}/{norm}_samples", NUMBER, shape=(None, size), required=False)
            c.array(f"{key}/mean_map", NUMBER, required=False)
    gradcam = c.value(meta, "gradcam", is_dict, "an object or null")
    if gradcam is not None:
        for cond in c.value(gradcam, "conditions", list_of(is_str), "a list of names", "meta.gradcam") or []:
            maps = c.array(f"gradcam/{cond}/maps", NUMBER, ndim=3)
            inputs = c.array(f"gradcam/{cond}/inputs", NUMBER)
            if inputs.ndim not in (3, 4) or inputs.shape[:3] != maps.shape or inputs.ndim == 4 and inputs.shape[3] != 3:
                c.fail(
                    f"array 'gradcam/{cond}/inputs' has shape {inputs.shape}, expected {maps.shape} (or with 3 colours)"
                )
    pruning = c.value(meta, "pruning", is_dict, "an object or null")
    methods = set()
    if pruning is not None:
        c.value(pruning, "layer", is_str, "a layer name", "meta.pruning", required=True)
        c.value(pruning, "rank_by", is_dict, "an object", "meta.pruning")
        methods.update(c.value(pruning, "methods", list_of(is_str), "a list of names", "meta.pruning") or [])
    methods.update(k.split("/")[1] for k in c.arrays if re.fullmatch(r"pruning/[^/]+/pruned", k))
    for method in sorted(methods):
        key = f"pruning/{method}"
        steps = c.array(f"{key}/pruned", NUMBER, ndim=1, finite=True, min_size=1).shape[0]
        for name in ("clean_accuracy", "attack_success_rate"):
            c.array(f"{key}/{name}", NUMBER, shape=(steps,), required=False)
        order = c.array(f"{key}/order", INTEGER, ndim=1, required=False)
        c.array(f"{key}/scores", NUMBER, shape=(None if order is None else order.shape[0],), required=False)


#: Array fields of each scene item kind: (field, dtype kind, trailing shape, required).
#: The leading dimension is the item's vertex count n (positions), except for indices.
SCENE_ARRAYS: dict[str, list[tuple[str, str, tuple, bool]]] = {
    "mesh": [
        ("positions", "F32", (3,), True),
        ("normals", "F32", (3,), True),
        ("indices", "U32", (3,), True),
        ("colors", "F32", (4,), True),
        ("values", "F32", (), False),
        ("data", "F32", (None,), False),
    ],
    "ribbon": [
        ("positions", "F32", (3,), True),
        ("normals", "F32", (3,), True),
        ("uv", "F32", (2,), True),
        ("indices", "U32", (3,), True),
        ("color", "F32", None, True),
        ("data", "F32", (None,), False),
    ],
    "points": [
        ("positions", "F32", (3,), True),
        ("colors", "F32", (4,), True),
        ("sizes", "F32", (), True),
        ("data", "F32", (None,), False),
    ],
    "lines": [("positions", "F32", (3,), True), ("colors", "F32", (4,), True), ("data", "F32", (None,), False)],
    "labels": [("positions", "F32", (3,), True), ("color", "F32", None, True), ("colors", "F32", (4,), False)],
    "axes": [("origin", "F32", None, True), ("ends", "F32", None, True), ("centre", "F32", None, False)],
}
SCENE_FIELDS = {kind: {name for name, *_ in spec} for kind, spec in SCENE_ARRAYS.items()}
#: Float fields that may hold NaN (a mesh's values at gaps, data at the cursor where a curve has
#: none); every other one must be finite.
MAY_BE_NAN = frozenset({"values", "data"})
#: Fixed shapes of the fields marked None above.
SCENE_FIXED = {"color": (4,), "origin": (3,), "ends": (3, 3), "centre": (3,)}
_SCENE_DTYPES = {"F32": np.float32, "U32": np.uint32}


def _scene(c: Layout) -> None:
    meta = c.meta
    c.value(meta, "world", one_of(*WORLDS), " or ".join(WORLDS), required=True)
    c.value(meta, "title", is_str, "a string")
    c.value(meta, "theme_name", one_of(*THEMES), " or ".join(THEMES))
    c.value(meta, "theme", is_dict, "an object")
    camera = c.value(meta, "camera", is_dict, "an object", required=True)
    c.value(camera, "target", vec(3), "3 numbers", "meta.camera", required=True)
    for key in ("azimuth", "elevation"):
        c.value(camera, key, is_number, "a number", "meta.camera", required=True)
    c.value(camera, "distance", lambda v: is_number(v) and v > 0, "a positive number", "meta.camera", required=True)
    c.value(camera, "fov", lambda v: is_number(v) and 0 < v < 180, "a number in (0, 180)", "meta.camera", required=True)
    c.value(
        meta,
        "bounds",
        lambda v: isinstance(v, list) and len(v) == 2 and all(vec(3)(r) for r in v),
        "two corners of 3 numbers",
        required=True,
    )
    grid = c.value(meta, "grid", is_dict, "an object or null")
    if grid is not None:
        for key in ("size", "spacing", "y"):
            c.value(grid, key, is_number, "a number", "meta.grid", required=True)
    legend = c.value(meta, "legend", is_dict, "an object or null")
    if legend is not None:
        c.value(
            legend,
            "entries",
            lambda v: (
                isinstance(v, list) and all(is_dict(e) and is_str(e.get("label")) and vec(4)(e.get("color")) for e in v)
            ),
            "a list of {label, color}",
            "meta.legend",
            required=True,
        )
    bar = c.value(meta, "colorbar", is_dict, "an object or null")
    if bar is not None:
        c.value(bar, "colormap", is_str, "a colormap name", "meta.colorbar", required=True)
        for key in ("vmin", "vmax"):
            c.value(bar, key, is_number, "a number", "meta.colorbar", required=True)
        c.value(bar, "label", is_str, "a string", "meta.colorbar")
        c.value(bar, "log", is_bool, "true or false", "meta.colorbar")
    items = c.value(
        meta, "items", lambda v: isinstance(v, list) and all(map(is_dict, v)), "a list of objects", required=True
    )
    kinds = []
    for i, item in enumerate(items):
        if not (isinstance(item.get("kind"), str) and item["kind"] in ITEM_KINDS):
            c.fail(f"item {i} has unknown kind {_short(item.get('kind'))}; expected one of {', '.join(ITEM_KINDS)}")
        kinds.append(item["kind"])
    for key in c.arrays:
        m = re.fullmatch(r"items/([0-9]+)/([a-z_]+)", key)
        if not m or int(m.group(1)) >= len(items) or m.group(2) not in SCENE_FIELDS[kinds[int(m.group(1))]]:
            c.fail(f"has array {key!r}, which belongs to no item field")
    for i, item in enumerate(items):
        _scene_item(c, i, item)


def _scene_item(c: Layout, i: int, item: dict) -> None:
    where = f"meta.items[{i}]"
    kind = item["kind"]
    c.value(item, "name", is_str, "a string", where)
    c.value(item, "pick", list_of(is_dict), "a list of objects", where)
    n = None
    for name, dtype, trailing, required in SCENE_ARRAYS[kind]:
        key = f"items/{i}/{name}"
        arr = c.arrays.get(key)
        if arr is None:
            if required:
                c.fail(f"item {i} ({kind}) has no array {key!r}")
            continue
        if arr.dtype != _SCENE_DTYPES[dtype]:
            c.fail(f"array {key!r} has dtype {arr.dtype}, expected {np.dtype(_SCENE_DTYPES[dtype])}")
        if trailing is None:
            want = SCENE_FIXED[name]
        else:
            lead = n if name != "indices" else None
            want = (lead, *trailing)
        if arr.ndim != len(want) or any(w is not None and w != a for w, a in zip(want, arr.shape)):
            c.fail(f"array {key!r} has shape {arr.shape}, expected {_shape_text(want)}")
        if arr.dtype == np.float32 and name not in MAY_BE_NAN and not np.isfinite(arr).all():
            c.fail(f"array {key!r} has NaN or infinite values")
        if name == "positions":
            n = arr.shape[0]
        if name == "indices" and arr.size and int(arr.max()) >= n:
            c.fail(f"array {key!r} refers to vertex {int(arr.max())} of {n}")
    for key in ("width", "glow", "opacity", "emissive", "size", "dash", "priority", "radius"):
        c.value(item, key, is_number, "a number", where)
    data = c.arrays.get(f"items/{i}/data")
    if data is not None:
        c.value(
            item,
            "data_names",
            lambda v: list_of(is_str)(v) and len(v) == data.shape[1],
            f"{data.shape[1]} strings (one per data column)",
            where,
            required=True,
        )
    if kind == "mesh":
        c.value(item, "wireframe", is_bool, "true or false", where)
    if kind == "labels":
        c.value(item, "texts", lambda v: list_of(is_str)(v) and len(v) == n, f"{n} strings", where, required=True)
        c.value(item, "anchor", one_of(*ANCHORS), " or ".join(ANCHORS), where)
        c.value(item, "placement", one_of(*PLACEMENTS), " or ".join(PLACEMENTS), where)
        c.value(
            item,
            "groups",
            lambda v: isinstance(v, list) and len(v) == n and all(g is None or is_str(g) for g in v),
            f"{n} group names or nulls",
            where,
        )
    if kind == "axes":
        c.value(
            item,
            "ticks",
            lambda v: (
                isinstance(v, list)
                and all(
                    is_dict(t)
                    and t.get("axis") in (0, 1, 2)
                    and not is_bool(t.get("axis"))
                    and vec(3)(t.get("position"))
                    and is_str(t.get("label"))
                    for t in v
                )
            ),
            "a list of {axis, position, label}",
            where,
        )
        c.value(item, "titles", lambda v: list_of(is_str)(v) and len(v) == 3, "3 strings", where)
        c.value(item, "log", lambda v: list_of(is_bool)(v) and len(v) == 3, "3 booleans", where)


def _refusal(c: Layout) -> None:
    meta = c.meta
    queries = c.value(meta, "queries", lambda v: list_of(is_str)(v) and len(v) > 0, "a list of queries", required=True)
    c.value(
        meta,
        "labels",
        lambda v: (
            isinstance(v, list) and len(v) == len(queries) and all(lab in (None, "benign", "malicious") for lab in v)
        ),
        "one of benign/malicious/null per query",
        required=True,
    )
    c.value(meta, "definition", is_str, "a string", required=True)
    c.value(meta, "span", is_number, "a number")
    c.value(meta, "settings", is_dict, "an object")
    c.value(meta, "model", is_dict, "an object")
    x, y = c.axis("x"), c.axis("y")
    c.array("phi", NUMBER, shape=(len(queries), y.size, x.size))
    c.array("done", NUMBER_OR_BOOL, shape=(len(queries), y.size, x.size))


def _gradient_cuff(c: Layout) -> None:
    meta = c.meta
    queries = c.value(meta, "queries", lambda v: list_of(is_str)(v) and len(v) > 0, "a list of queries", required=True)
    c.value(
        meta,
        "labels",
        lambda v: (
            isinstance(v, list) and len(v) == len(queries) and all(lab in (None, "benign", "malicious") for lab in v)
        ),
        "one of benign/malicious/null per query",
        required=True,
    )
    c.value(meta, "definition", is_str, "a string")
    c.value(meta, "model", is_dict, "an object")
    settings = c.value(meta, "settings", is_dict, "an object", required=True)
    c.value(settings, "threshold", lambda v: is_number(v) and v >= 0, "a number >= 0 (null: infinite)", "meta.settings")
    c.value(meta, "threshold_choice", is_dict, "an object or null")
    c.array("phi", NUMBER, shape=(len(queries),))
    c.array("grad_norm", NUMBER, shape=(len(queries),))


CHECKS: dict[str, Callable[[Layout], None]] = {
    "growth": _growth,
    "landscape": _landscape,
    "activations": _activations,
    "scene": _scene,
    "refusal": _refusal,
    "gradient_cuff": _gradient_cuff,
}


def validate(bundle, name: str = "bundle") -> None:
    """Raise a one-line BundleError unless ``bundle`` follows its kind's layout (docs/bundles.md)."""
    CHECKS[bundle.kind](Layout(bundle, name))


def _kind_names(kinds) -> str:
    names = {"f": "float", "i": "integer", "u": "integer", "b": "bool"}
    return " or ".join(dict.fromkeys(names[k] for k in kinds))


def _shape_text(shape) -> str:
    return "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
