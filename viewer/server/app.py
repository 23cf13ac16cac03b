"""The HTTP side of ``hubscape serve``: static files, the Pyodide core and a small JSON API.

Standard library only (``http.server.ThreadingHTTPServer``): the server is local, single-user
and small, so a framework would add a dependency without adding safety. Every answer is
either a file below one of a few fixed roots, or a JSON/binary answer of the server kernel
(:mod:`hubscape.viewer.server.kernel`). Safety rules, all enforced here:

* binds 127.0.0.1 unless told otherwise;
* paths are resolved and must stay inside their root (``..`` -> 403), unknown paths -> 404;
* request bodies are bounded (``max_body`` bytes, 413 above it; 411 without a length);
* nothing the client sends is ever evaluated: bodies are parsed as JSON, CSV or safetensors;
* user errors (a malformed bundle or CSV) are 4xx JSON ``{"error": "<one line>"}``.

Example::

    >>> server = make_server(ServeConfig(port=0))       # port 0: any free port
    >>> server.server_address
    ('127.0.0.1', 43817)
    >>> server.serve_forever()
"""

from __future__ import annotations

import json
import mimetypes
import sys
import threading
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from hubscape.core.errors import HubscapeError

from .kernel import ServerKernel

#: Upload limit (bytes) for bundles and CSVs sent to the API.
DEFAULT_MAX_BODY = 64 * 1024 * 1024
#: A refused upload up to this size is read and dropped so the client sees the 413.
DISCARD_LIMIT = 256 * 1024 * 1024

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

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


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


class HubscapeServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that carries the kernel and the static roots."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, config: ServeConfig):
        from hubscape.static import static_root

        from . import paths

        self.config = config
        self.kernel = ServerKernel(data_dir=config.data_dir, bundles=config.bundles)
        self.roots = {
            "static": static_root(),
            "shaders": paths.shaders_root(),
        }
        self.pyodide_dir, self.pyodide_reason = paths.find_pyodide(config.pyodide_dir)
        super().__init__((config.host, config.port), Handler)
        if self.pyodide_dir is not None:
            # Build (or find) hubscape's wheel for the Pyodide kernel while the page loads.
            threading.Thread(target=self.kernel.wheel, name="hubscape-wheel", daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


def make_server(config: ServeConfig) -> HubscapeServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port."""
    return HubscapeServer(config)


class Handler(BaseHTTPRequestHandler):
    """Routes: static files, /shaders/, /pyodide/, /wheels/ and /api/*."""

    server: HubscapeServer
    server_version = "hubscape"
    protocol_version = "HTTP/1.1"

    # --- plumbing -------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
        if not self.server.config.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            parsed = urllib.parse.urlsplit(self.path)
            route = urllib.parse.unquote(parsed.path)
            query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
            if "\x00" in route or "\\" in route:
                raise HttpError(400, "bad characters in the path")
            if route.startswith("/api/"):
                self._api(method, route[len("/api/") :], query)
            elif method == "POST":
                raise HttpError(405, "POST is only accepted under /api/")
            else:
                self._file(route, head=method == "HEAD")
        except HttpError as exc:
            self._error(str(exc), exc.status)
        except HubscapeError as exc:
            self._error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 400)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug: log it in full, answer one line
            traceback.print_exc(file=sys.stderr)
            self._error(f"internal error: {type(exc).__name__}: {exc}".splitlines()[0], 500)

    def _error(self, message: str, status: int) -> None:
        # An unread request body must not be taken for the next request: close the connection.
        self.close_connection = True
        self._json({"error": message}, status)

    def _send(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None, head: bool = False
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, doc: Any, status: int = 200) -> None:
        self._send(status, json.dumps(doc, allow_nan=False).encode(), "application/json")

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise HttpError(411, "a Content-Length header is required")
        try:
            size = int(length)
        except ValueError:
            raise HttpError(400, "bad Content-Length") from None
        limit = self.server.config.max_body
        if size > limit:
            self._discard(size)
            raise HttpError(413, f"upload of {size} bytes is over the limit of {limit} bytes")
        if size < 0:
            raise HttpError(400, "bad Content-Length")
        return self.rfile.read(size)

    def _discard(self, size: int) -> None:
        """Read and drop a refused body (in chunks, up to DISCARD_LIMIT) so that the client,
        still sending, gets the 413 instead of a broken pipe; bigger bodies are cut off."""
        remaining = size if size <= DISCARD_LIMIT else 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)

    def _json_body(self) -> dict[str, Any]:
        try:
            doc = json.loads(self._body() or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise HttpError(400, "the request body is not JSON") from None
        if not isinstance(doc, dict):
            raise HttpError(400, "the request body must be a JSON object")
        return doc

    # --- files ----------------------------------------------------------------------------
    def _file(self, route: str, head: bool) -> None:
        if route in ("", "/"):
            route = "/index.html"
        parts = [p for p in route.split("/") if p]
        if any(p in ("..", ".") for p in parts):
            raise HttpError(403, "path traversal is refused")
        first, rest = parts[0], parts[1:]
        if first == "shaders":
            root, parts = self.server.roots["shaders"], rest
            if not rest or Path(rest[-1]).suffix not in (".wgsl", ".glsl", ".md"):
                raise HttpError(404, f"no such shader: {route}")
        elif first == "pyodide":
            if self.server.pyodide_dir is None:
                raise HttpError(404, f"Pyodide is not available: {self.server.pyodide_reason}")
            root, parts = self.server.pyodide_dir, rest
        elif first == "wheels":
            root, parts = self.server.kernel.wheel_dir(), rest
        else:
            root = self.server.roots["static"]
            if parts[-1].endswith(".py") or "__pycache__" in parts:
                raise HttpError(404, f"not found: {route}")
        path = _inside(root, parts)
        if path is None or not path.is_file():
            raise HttpError(404, f"not found: {route}")
        ctype = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(200, path.read_bytes(), ctype, head=head)

    # --- API ------------------------------------------------------------------------------
    def _api(self, method: str, name: str, query: dict[str, str]) -> None:
        kernel = self.server.kernel
        theme = query.get("theme")  # None: a saved scene keeps its own theme, others are tron
        if method == "GET" and name == "info":
            self._json(
                kernel.info(
                    pyodide_dir=self.server.pyodide_dir,
                    pyodide_reason=self.server.pyodide_reason,
                    pyodide_index=self.server.config.pyodide_index,
                )
            )
        elif method == "GET" and name == "gallery":
            self._json({"items": kernel.gallery()})
        elif method == "GET" and name == "scene":
            item = query.get("id")
            if not item:
                raise HttpError(400, "missing ?id= (an item of /api/gallery)")
            self._send(200, kernel.scene_bytes(item, theme), "application/octet-stream")
        elif method == "POST" and name == "scene":
            data = self._body()
            self._send(
                200,
                kernel.scene_from_upload(data, query.get("name", "upload"), theme or "tron"),
                "application/octet-stream",
            )
        elif method == "POST" and name == "growth/fit":
            self._json(kernel.fit_growth(self._json_body()))
        elif method == "POST" and name == "export":
            fmt = query.get("format", "")
            data, ctype = kernel.export(self._body(), fmt, query)
            self._send(200, data, ctype, {"Content-Disposition": f'attachment; filename="hubscape.{fmt}"'})
        elif method == "GET" and name == "csv":
            self._send(200, kernel.csv_text(query.get("id", "")).encode("utf-8"), "text/csv; charset=utf-8")
        else:
            raise HttpError(404, f"no such API call: {method} /api/{name}")


def _inside(root: Path, parts: list[str]) -> Path | None:
    """``root/parts...`` if it resolves to a path inside ``root`` (symlinks included)."""
    root = root.resolve()
    path = root.joinpath(*parts).resolve()
    return path if path.is_relative_to(root) else None
