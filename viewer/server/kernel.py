"""The server kernel: the gallery, scenes and fits that ``hubscape serve`` answers in CPython.

Gallery items are the built-in demos of the three worlds, the bundles given on the command
line, and the bundles and children CSVs found in ``--data`` (searched recursively). The landscape and activations demos are the
synthetic bundles of ``viewer.sources.demos`` (shared with ``hubscape export demo:*``); the
growth demo is a children CSV of synthetic WSB trees (:func:`demo_children_csv`) fitted like
real data, so that the page can refit it. Scenes are built with ``viewer.scene.build_scene``,
sent as scene bundles (safetensors bytes) and cached per item and theme.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from hubscape.core.bundle import decode_bundle, encode_bundle, foreign_safetensors, hubscape_version, read_bundle
from hubscape.core.errors import HubscapeError, InputError
from hubscape.viewer.sources.demos import demo_children_csv
from hubscape.viewer.sources.page_requests import MAX_MODELS, fit_growth_request

#: Columns that make a CSV a children CSV (analytics.growth.tree.read_children_csv).
CHILDREN_COLUMNS = ("base_model", "child_model")
#: At most this many CSVs of --data are listed in the gallery.
MAX_DATA_FILES = 200
#: Exports the page may ask for: at most this many pixels a side and in all (4096 x 2048);
#: an SVG or PDF of that size takes about 0.6 GB and 15 s here. `hubscape export` allows more.
EXPORT_MAX_SIDE = 4096
EXPORT_MAX_PIXELS = 4096 * 2048
#: Scene options a page may send (their values must be JSON scalars; builders check the rest).
SCENE_OPTIONS = {"log_count", "method", "log_loss", "wireframe", "contours", "metric", "view", "pruning_method"}


def _is_children_csv(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return False
    cols = [c.strip() for c in header.split(",")]
    return all(c in cols for c in CHILDREN_COLUMNS)


def scene_bytes_of(scene) -> bytes:
    from hubscape.viewer.scene.serialize import scene_to_bundle

    arrays, meta = scene_to_bundle(scene)
    return encode_bundle("scene", arrays, meta)


class ServerKernel:
    """Answers the page's API calls; one instance per server."""

    def __init__(self, data_dir: Path | None = None, bundles: list[Path] | None = None):
        self.items: dict[str, dict[str, Any]] = {}
        #: Files of --data that were left out, with why: [(path, one-line reason)].
        self.skipped: list[tuple[Path, str]] = []
        self._cache: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self._wheel: tuple[Path | None, str] | None = None
        self._wheel_lock = threading.Lock()
        for world in ("growth", "landscape", "activations"):
            self._add({"id": f"demo:{world}", "world": world, "title": f"demo: {world}", "source": "demo"})
        # Bundles named on the command line must be good: a bad one is the user's error.
        found = [(Path(p), read_bundle(p)) for p in bundles or []]
        if data_dir is not None:
            data_dir = Path(data_dir)
            if not data_dir.is_dir():
                raise InputError(f"--data {data_dir} is not a folder")
            # Bundles in the folder too (e.g. the output of 'hubscape demo backdoor'); a bad file
            # there is reported and left out, and the rest is served.
            for path in sorted(data_dir.rglob("*.safetensors")):
                if len(found) >= MAX_DATA_FILES:
                    self.skipped.append((path, f"{path}: left out, more than {MAX_DATA_FILES} bundles in --data"))
                    continue
                try:
                    found.append((path, read_bundle(path)))
                except HubscapeError as exc:
                    if not foreign_safetensors(path):  # model weights beside the bundles are not news
                        self.skipped.append((path, str(exc)))
        for i, (path, bundle) in enumerate(found):
            world = bundle.meta.get("world", bundle.kind) if bundle.kind == "scene" else bundle.kind
            self._add({"id": f"bundle:{i}", "world": world, "title": path.name, "source": "bundle", "path": path})
        if data_dir is not None:
            csvs = sorted(p for p in data_dir.rglob("*.csv") if _is_children_csv(p))[:MAX_DATA_FILES]
            for i, path in enumerate(csvs):
                self._add(
                    {
                        "id": f"csv:{i}",
                        "world": "growth",
                        "title": f"{path.name} (children CSV)",
                        "source": "csv",
                        "path": path,
                    }
                )
            if csvs:  # real data comes first in the growth world
                order = [k for k in self.items if k.startswith("csv:")] + [
                    k for k in self.items if not k.startswith("csv:")
                ]
                self.items = {k: self.items[k] for k in order}

    def _add(self, item: dict[str, Any]) -> None:
        self.items[item["id"]] = item

    # --- gallery and scenes ---------------------------------------------------------------
    def gallery(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in item.items() if k != "path"} for item in self.items.values()]

    def _item(self, item_id: str) -> dict[str, Any]:
        try:
            return self.items[item_id]
        except KeyError:
            raise InputError(f"no gallery item {item_id!r}") from None

    def scene_bytes(self, item_id: str, theme: str | None, options: dict | None = None) -> bytes:
        """The scene bundle of a gallery item in ``theme`` (None: a saved scene's own, else tron), built
        with the builder ``options`` (see ``parse_scene_options``)."""
        options = options or {}
        key = (item_id, theme, tuple(sorted(options.items())))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        data = self._build(self._item(item_id), theme, options)
        with self._lock:
            self._cache[key] = data
        return data

    def _build(self, item: dict[str, Any], theme: str | None, options: dict) -> bytes:
        from hubscape.viewer.scene.builders import build_scene

        if theme not in (None, "tron", "paper"):
            raise InputError(f"theme must be tron or paper, got {theme!r}")
        if item["source"] == "bundle":
            return scene_bytes_of(build_scene(item["path"], theme=theme, **options))
        theme = theme or "tron"
        if theme not in ("tron", "paper"):
            raise InputError(f"theme must be tron or paper, got {theme!r}")
        if item["source"] == "csv" or item["id"] == "demo:growth":
            return scene_bytes_of(build_scene(self.growth_fit(item), theme=theme, **options))
        from hubscape.viewer.sources.worlds import worlds_from_source

        return scene_bytes_of(worlds_from_source(item["id"])[0].build(theme, **options))

    def growth_fit(self, item: dict[str, Any]):
        """The growth bundle of a CSV item (the default method and prior, m = 30, every model), fitted once and kept."""
        key = ("fit", item["id"])
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        from hubscape.analytics.growth.sources import load_series
        from hubscape.viewer.sources.fitting import growth_bundle

        if item["source"] == "csv":
            series = load_series([Path(item["path"])])
            if len(series) > MAX_MODELS:  # the largest trees; the page's model list picks others
                keep = sorted(series, key=lambda s: -s.n_events)[:MAX_MODELS]
                item["note"] = (
                    f"showing the {MAX_MODELS} largest of {len(series)} model trees in {Path(item['path']).name}; "
                    "list models in the growth panel to fit others"
                )
                series = [s for s in series if s in keep]
            bundle = growth_bundle(series, source=Path(item["path"]).name)
        else:
            bundle = growth_bundle(_demo_series(), source="demo:growth")
        with self._lock:
            self._cache[key] = bundle
        return bundle

    def csv_text(self, item_id: str) -> str:
        """The children CSV behind a growth item (for the Pyodide kernel, which cannot read files)."""
        item = self._item(item_id)
        if item["id"] == "demo:growth":
            return demo_children_csv()
        if item["source"] != "csv":
            raise InputError(f"{item['title']} has no children CSV")
        return Path(item["path"]).read_text(encoding="utf-8-sig")

    def scene_from_upload(self, data: bytes, name: str, theme: str, options: dict | None = None) -> bytes:
        """A scene bundle from an uploaded bundle of any kind; BundleError if malformed."""
        from hubscape.viewer.scene.builders import build_scene

        if theme not in ("tron", "paper"):
            raise InputError(f"theme must be tron or paper, got {theme!r}")
        bundle = decode_bundle(data, name=name)
        return scene_bytes_of(build_scene(bundle, theme=theme, **(options if bundle.kind != "scene" else {})))

    # --- analytics ------------------------------------------------------------------------
    def fit_growth(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A growth fit of a CSV item or of uploaded CSV text (see requests.fit_growth_request)."""
        item_id = doc.get("item")
        if item_id is not None:
            item = self._item(str(item_id))
            if item["source"] == "csv":
                return fit_growth_request(doc, csv_path=item["path"])
            if item["source"] == "demo" and item["world"] == "growth":
                return fit_growth_request({**doc, "csv": {"name": "demo.csv", "text": demo_children_csv()}})
            raise InputError(f"{item['title']} is not a growth source; choose a children CSV or drop one on the page")
        return fit_growth_request(doc)

    def export(self, data: bytes, fmt: str, query: dict[str, str]) -> tuple[bytes, str]:
        """SVG, PDF or glb of an uploaded scene bundle, seen through the page's camera."""
        import tempfile

        from hubscape.viewer.export import export_scene
        from hubscape.viewer.scene.model import Camera
        from hubscape.viewer.scene.serialize import scene_from_bundle

        types = {"svg": "image/svg+xml", "pdf": "application/pdf", "glb": "model/gltf-binary"}
        if fmt not in types:
            raise InputError(f"export format must be svg, pdf or glb, got {fmt!r}")
        width, height = export_size(query)
        scene = scene_from_bundle(decode_bundle(data, kind="scene", name="scene"))
        try:
            if "azimuth" in query:
                scene.camera = Camera(
                    target=[float(v) for v in query["target"].split(",")],
                    azimuth=float(query["azimuth"]),
                    elevation=float(query["elevation"]),
                    distance=float(query["distance"]),
                    fov=float(query["fov"]),
                    aspect=float(query.get("aspect", scene.camera.aspect)),
                )
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"bad export parameters ({type(exc).__name__}: {exc})") from None
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"figure.{fmt}"
            export_scene(scene, out, size=(width, height), theme=scene.theme)
            return out.read_bytes(), types[fmt]

    # --- the Pyodide kernel's needs ---------------------------------------------------------
    def wheel(self) -> tuple[Path | None, str]:
        with self._wheel_lock:
            if self._wheel is None:
                from .wheel import ensure_wheel

                self._wheel = ensure_wheel()
            return self._wheel

    def wheel_dir(self) -> Path:
        path, reason = self.wheel()
        if path is None:
            raise InputError(reason)
        return path.parent

    def info(self, pyodide_dir: Path | None, pyodide_reason: str, pyodide_index: str | None) -> dict[str, Any]:
        from .paths import public_index, pyodide_version

        wheel, wheel_reason = self.wheel()
        available = pyodide_dir is not None and wheel is not None
        reason = pyodide_reason or wheel_reason
        version = pyodide_version(pyodide_dir) if pyodide_dir else None
        return {
            "hubscape": hubscape_version(),
            "kernel": "server",
            "pyodide": {
                "available": available,
                "reason": "" if available else reason,
                "url": "pyodide/",
                "version": version,
                "wheel": f"wheels/{wheel.name}" if wheel else None,
                "index_url": pyodide_index or (public_index(version) if version else None),
            },
        }


def export_size(query: dict[str, str]) -> tuple[int, int]:
    """The (width, height) a page asks for, within :data:`EXPORT_MAX_SIDE` and :data:`EXPORT_MAX_PIXELS`."""
    try:
        width, height = int(query.get("width", 1600)), int(query.get("height", 1000))
    except ValueError:
        raise InputError("export width and height must be whole numbers of pixels") from None
    if not (1 <= width <= EXPORT_MAX_SIDE and 1 <= height <= EXPORT_MAX_SIDE) or width * height > EXPORT_MAX_PIXELS:
        raise InputError(
            f"an export of {width} x {height} px is over the server's limit of {EXPORT_MAX_SIDE} px a side and "
            f"{EXPORT_MAX_PIXELS / 1e6:.1f} MP; larger figures: hubscape export SOURCE --size {width}x{height}"
        )
    return width, height


def parse_scene_options(text: str | None) -> dict[str, Any]:
    """The builder options a page sent as JSON (``?options={"log_loss": true}``); InputError if bad."""
    import json

    if not text:
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        raise InputError('scene options must be a JSON object, e.g. {"log_loss": true}') from None
    if not isinstance(doc, dict):
        raise InputError('scene options must be a JSON object, e.g. {"log_loss": true}')
    unknown = sorted(set(doc) - SCENE_OPTIONS)
    if unknown:
        raise InputError(
            f"unknown scene option {', '.join(unknown)}; the options are {', '.join(sorted(SCENE_OPTIONS))}"
        )
    for key, value in doc.items():
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise InputError(f"scene option {key} must be a number, true/false or a name, got {value!r}")
    if "contours" in doc and not (isinstance(doc["contours"], int) and 0 <= doc["contours"] <= 40):
        raise InputError(f"contours must be a whole number from 0 to 40, got {doc['contours']!r}")
    return doc


def _demo_series():
    """The demo growth trees (demo_children_csv) as series, as a fit of that CSV reads them."""
    import os
    import tempfile

    from hubscape.analytics.growth.sources import load_series

    fd, tmp = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(demo_children_csv())
        return load_series([Path(tmp)])
    finally:
        os.unlink(tmp)
