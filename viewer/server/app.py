"""The HTTP side of ``hubscape serve``: static files, the Pyodide core and a small JSON API.

A WSGI application (no framework) behind waitress (:mod:`.transport`, which says why). Every
answer is either a file below one of a few fixed roots, or a JSON/binary answer of the server
kernel (:mod:`hubscape.viewer.server.kernel`). Safety rules, all enforced here:

* binds 127.0.0.1 unless told otherwise; Host, Origin and the session token are checked on
  every request (:mod:`.guard`);
* paths are resolved and must stay inside their root (``..`` -> 403), unknown paths -> 404,
  malformed ones (an encoded ``/``, a component over 255 bytes) -> 400;
* request bodies are bounded (``max_body`` bytes, 413 above it; 411 without a length) and
  framed strictly (:mod:`.transport`); JSON bodies are bounded in depth;
* work is bounded: at most :data:`HEAVY_SLOTS` scene builds, fits and exports at once (503
  with ``Retry-After`` beyond), and exports by pixels (see ``kernel.EXPORT_LIMITS``);
* nothing the client sends is ever evaluated: bodies are parsed as JSON, CSV or safetensors;
* user errors (a malformed bundle or CSV) are 4xx JSON ``{"error": "<one line>"}``.

Example::

    >>> server = make_server(ServeConfig(port=0))       # port 0: any free port
    >>> server.url                                      # with the session token
    'http://127.0.0.1:43817/?token=...'
    >>> server.serve_forever()
"""

from __future__ import annotations

import json
import mimetypes
import os
import sys
import threading
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from hubscape.core.errors import HubscapeError

from .guard import TOKEN_HEADER, Refused, RequestGuard, new_token
from .kernel import ServerKernel, parse_scene_options
from .transport import Transport

#: Upload limit (bytes) for bundles and CSVs sent to the API.
DEFAULT_MAX_BODY = 64 * 1024 * 1024
#: Uploads over the limit but below this are read (to a temporary file, not into memory) and
#: answered with the JSON 413; bigger ones get waitress's plain 413 and the connection closes.
DISCARD_LIMIT = 256 * 1024 * 1024
#: Scene builds, fits and exports running at once; the rest of the worker pool stays free
#: for static files and quick calls.
HEAVY_SLOTS = 3
#: Longest path component (bytes), as on common file systems.
MAX_COMPONENT = 255

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".wgsl": "text/plain; charset=utf-8",
    ".glsl": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".safetensors": "application/octet-stream",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}


class HttpError(Exception):
    """An HTTP error answer with a one-line message (sent as JSON)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


@dataclass
class ServeConfig:
    """What ``hubscape serve`` serves; see ``hubscape serve --help``."""

    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: Path | None = None
    bundles: list[Path] = field(default_factory=list)
    pyodide_dir: Path | None = None
    pyodide_index: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    quiet: bool = True
    #: The session token; None: $HUBSCAPE_TOKEN, else a fresh random one.
    token: str | None = None
    allow_hosts: list[str] = field(default_factory=list)


@dataclass
class Answer:
    status: int
    body: bytes
    ctype: str
    headers: dict[str, str] = field(default_factory=dict)


class HubscapeServer:
    """The app on its transport: ``url``, ``serve_forever()``, ``shutdown()``, ``server_close()``."""

    def __init__(self, config: ServeConfig):
        from hubscape.static import static_root

        from . import paths

        self.config = config
        self.token = config.token or os.environ.get("HUBSCAPE_TOKEN") or new_token()
        self.kernel = ServerKernel(data_dir=config.data_dir, bundles=config.bundles)
        self.skipped = self.kernel.skipped
        self.roots = {"static": static_root(), "shaders": paths.shaders_root()}
        self.pyodide_dir, self.pyodide_reason = paths.find_pyodide(config.pyodide_dir)
        self.guard = RequestGuard(config.host, self.token, config.allow_hosts)
        self.heavy = threading.BoundedSemaphore(HEAVY_SLOTS)
        self.transport = Transport(self.app, config.host, config.port, max(DISCARD_LIMIT, config.max_body))
        if self.pyodide_dir is not None:
            # Build (or find) hubscape's wheel for the Pyodide kernel while the page loads.
            threading.Thread(target=self.kernel.wheel, name="hubscape-wheel", daemon=True).start()

    @property
    def server_address(self) -> tuple[str, int]:
        return self.transport.server_address

    @property
    def base_url(self) -> str:
        host, port = self.server_address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    @property
    def url(self) -> str:
        """The page's address with the session token (what ``hubscape serve`` prints)."""
        return f"{self.base_url}?token={self.token}"

    def serve_forever(self) -> None:
        self.transport.serve_forever()

    def shutdown(self) -> None:
        self.transport.shutdown()

    def server_close(self) -> None:
        self.transport.server_close()

    # --- WSGI ---------------------------------------------------------------------------
    def app(self, environ: dict[str, Any], start_response) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            answer = self._route(environ, method)
        except (Refused, HttpError) as exc:
            answer = _error(str(exc), exc.status, getattr(exc, "headers", None))
        except HubscapeError as exc:
            answer = _error(str(exc), 400)
        except Exception as exc:  # a bug: log it in full, answer one line
            traceback.print_exc(file=sys.stderr)
            answer = _error(f"internal error: {type(exc).__name__}: {exc}", 500)
        if not self.config.quiet:
            print(
                f'{environ.get("REMOTE_ADDR")} "{method} {environ.get("REQUEST_URI")}" {answer.status}',
                file=sys.stderr,
                flush=True,
            )
        headers = [
            ("Content-Type", answer.ctype),
            ("Content-Length", str(len(answer.body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            *answer.headers.items(),
        ]
        start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", headers)
        return [] if method == "HEAD" else [answer.body]

    def _route(self, environ: dict[str, Any], method: str) -> Answer:
        raw = environ.get("REQUEST_URI")  # waitress: the request target as sent
        if raw is None:  # another WSGI server: rebuild it from PEP 3333's decoded parts
            path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "surrogateescape")
            query = environ.get("QUERY_STRING", "")
            raw = urllib.parse.quote(path, errors="surrogateescape") + (f"?{query}" if query else "")
        parsed = urllib.parse.urlsplit(raw)
        api = parsed.path.startswith("/api/")
        self.guard.check(environ, api=api)
        if not parsed.path.startswith("/"):
            raise HttpError(400, "the request target must be a path")
        try:
            route = urllib.parse.unquote(parsed.path, errors="strict")
            query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, errors="strict").items()}
        except UnicodeDecodeError:
            raise HttpError(400, "the path or query is not UTF-8") from None
        if "\x00" in route or "\\" in route:
            raise HttpError(400, "bad characters in the path")
        if "HTTP_TRANSFER_ENCODING" in environ:
            raise HttpError(400, "Transfer-Encoding is not accepted; send a Content-Length")
        if method not in ("GET", "HEAD", "POST"):
            raise HttpError(405, f"{method} is not supported", {"Allow": "GET, HEAD, POST"})
        if api:
            return self._api(environ, method, route[len("/api/") :], query)
        if method == "POST":
            raise HttpError(405, "POST is only accepted under /api/", {"Allow": "GET, HEAD"})
        return self._file(route, parsed.path)

    # --- bodies ---------------------------------------------------------------------------
    def _body(self, environ: dict[str, Any]) -> bytes:
        length = environ.get("CONTENT_LENGTH")
        if not length:
            raise HttpError(411, "a Content-Length header is required")
        size = int(length)  # waitress has checked that it is digits only
        limit = self.config.max_body
        if size > limit:
            raise HttpError(413, f"upload of {size} bytes is over the limit of {limit} bytes")
        return environ["wsgi.input"].read(size)

    def _json_body(self, environ: dict[str, Any]) -> dict[str, Any]:
        doc = parse_json(self._body(environ), "the request body")
        if not isinstance(doc, dict):
            raise HttpError(400, "the request body must be a JSON object")
        return doc

    # --- files ----------------------------------------------------------------------------
    def _file(self, route: str, raw_path: str) -> Answer:
        parts = [p for p in route.split("/") if p]
        if any(p in ("..", ".") for p in parts):
            raise HttpError(403, "path traversal is refused")
        if "%2f" in raw_path.lower():
            raise HttpError(400, "an encoded '/' in the path is refused")
        if any(len(p.encode("utf-8", "surrogateescape")) > MAX_COMPONENT for p in parts):
            raise HttpError(400, f"a path component is longer than {MAX_COMPONENT} bytes")
        if not parts:
            parts = ["index.html"]
        first, rest = parts[0], parts[1:]
        if first == "shaders":
            root, parts = self.roots["shaders"], rest
            if not rest or Path(rest[-1]).suffix not in (".wgsl", ".glsl", ".md"):
                raise HttpError(404, f"no such shader: {route}")
        elif first == "pyodide":
            if self.pyodide_dir is None:
                raise HttpError(404, f"Pyodide is not available: {self.pyodide_reason}")
            root, parts = self.pyodide_dir, rest
        elif first == "wheels":
            root, parts = self.kernel.wheel_dir(), rest
        else:
            root = self.roots["static"]
            if parts[-1].endswith(".py") or "__pycache__" in parts:
                raise HttpError(404, f"not found: {route}")
        path = _inside(root, parts)
        if path is None:
            raise HttpError(404, f"not found: {route}")
        try:
            data = path.read_bytes()
        except OSError:
            raise HttpError(404, f"not found: {route}") from None
        ctype = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Answer(200, data, ctype)

    # --- API ------------------------------------------------------------------------------
    def _api(self, environ: dict[str, Any], method: str, name: str, query: dict[str, str]) -> Answer:
        kernel = self.kernel
        reading = method in ("GET", "HEAD")
        theme = query.get("theme")  # None: a saved scene keeps its own theme, others are tron
        if reading and name == "info":
            return _json(
                kernel.info(
                    pyodide_dir=self.pyodide_dir,
                    pyodide_reason=self.pyodide_reason,
                    pyodide_index=self.config.pyodide_index,
                )
            )
        if reading and name == "gallery":
            return _json({"items": kernel.gallery()})
        if reading and name == "csv":
            return Answer(200, kernel.csv_text(query.get("id", "")).encode("utf-8"), "text/csv; charset=utf-8")
        if reading and name == "scene":
            item = query.get("id")
            if not item:
                raise HttpError(400, "missing ?id= (an item of /api/gallery)")
            options = parse_scene_options(query.get("options"))
            with self._slot():
                return Answer(200, kernel.scene_bytes(item, theme, options), "application/octet-stream")
        if method == "POST" and name == "scene":
            data = self._body(environ)
            options = parse_scene_options(query.get("options"))
            with self._slot():
                return Answer(
                    200,
                    kernel.scene_from_upload(data, query.get("name", "upload"), theme or "tron", options),
                    "application/octet-stream",
                )
        if method == "POST" and name == "growth/fit":
            doc = self._json_body(environ)
            with self._slot():
                return _json(kernel.fit_growth(doc))
        if method == "POST" and name == "export":
            fmt = query.get("format", "")
            data = self._body(environ)
            with self._slot():
                out, ctype = kernel.export(data, fmt, query)
            return Answer(200, out, ctype, {"Content-Disposition": f'attachment; filename="hubscape.{fmt}"'})
        raise HttpError(404, f"no such API call: {method} /api/{name}")

    def _slot(self):
        server = self

        class _Slot:
            def __enter__(self):
                if not server.heavy.acquire(blocking=False):
                    raise HttpError(
                        503,
                        f"the server is busy with {HEAVY_SLOTS} scene builds, fits or exports; try again in a moment",
                        {"Retry-After": "2"},
                    )

            def __exit__(self, *exc):
                server.heavy.release()
                return False

        return _Slot()


def make_server(config: ServeConfig) -> HubscapeServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port."""
    return HubscapeServer(config)


def parse_json(data: bytes, what: str) -> Any:
    """JSON from untrusted bytes: any failure (bad UTF-8, syntax, nesting, huge numbers) is a 400."""
    try:
        return json.loads(data or b"{}")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
        raise HttpError(400, f"{what} is {reason}") from None


def _json(doc: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(doc, allow_nan=False).encode(), "application/json")


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> Answer:
    line = (message.splitlines() or [HTTPStatus(status).phrase])[0]
    return Answer(status, json.dumps({"error": line}).encode(), "application/json", dict(headers or {}))


def _inside(root: Path, parts: list[str]) -> Path | None:
    """``root/parts...`` if it is a file inside ``root`` (symlinks resolved), else None."""
    try:
        root = root.resolve()
        path = root.joinpath(*parts).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None
    except (OSError, ValueError):
        return None


__all__ = ["TOKEN_HEADER", "ServeConfig", "HubscapeServer", "make_server", "HttpError"]
