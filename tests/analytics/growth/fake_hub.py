"""A fake Hugging Face Hub on 127.0.0.1 for tests and benchmarks (not a test file itself).

It answers ``/api/models`` and ``/api/models/<id>`` as the Hub does: the same JSON shapes,
``expand`` keeping only the asked-for properties, ``sort=createdAt`` newest first (undated last),
``limit`` as the page size, ``Link: <...>; rel="next"`` pagination and ``X-Error-Code`` headers.
Point a real ``HfApi(endpoint=hub.url)`` (or ``HF_ENDPOINT``) at it: huggingface_hub's
pagination, parsing and error classes then run for real. Loaded by file path (tests run with
``--import-mode=importlib``)::

    spec = importlib.util.spec_from_file_location("fake_hub", "tests/analytics/growth/fake_hub.py")
"""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

FIXTURE = Path(__file__).parent / "fixtures" / "hub" / "meta-llama--Llama-2-7b.json"


class FakeHub:
    """A tiny threaded HTTP server speaking the Hub's model API from in-memory JSON."""

    def __init__(self, page_size: int = 10):
        self.page_size = page_size
        self.models: dict[str, dict] = {}
        self.listings: dict[tuple[str, str], list[dict]] = {}
        self.private: dict[str, str] = {}  # id -> the token that may read it
        self.gated: set[str] = set()
        self.failures: list[tuple[str, int, dict]] = []  # (path prefix, status, headers), served first
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                hub._serve(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def load_fixture(self, path: Path = FIXTURE):
        """Serve a recorded base model: its model info and one listing per relation."""
        doc = json.loads(path.read_text())
        info = doc["model_info"]
        self.models[info["id"]] = info
        for relation, items in doc["listings"].items():
            self.listings[(relation, info["id"])] = copy.deepcopy(items)
        return doc

    def fail(self, path_prefix: str, *statuses: int, headers: dict | None = None):
        for status in statuses:
            self.failures.append((path_prefix, status, headers or {}))

    def pages(self, relation: str | None = None) -> list[dict]:
        """The listing requests served (one per page), optionally of one relation."""
        out = []
        for path, query in self.requests:
            if path == "/api/models" and (relation is None or query.get("filter", [""])[0].split(":")[1] == relation):
                out.append(query)
        return out

    # -- request handling --
    def _serve(self, h: BaseHTTPRequestHandler):
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append((parts.path, query))
            failure = next((f for f in self.failures if parts.path.startswith(f[0])), None)
            if failure is not None:
                self.failures.remove(failure)
        if failure is not None:
            return self._send(h, failure[1], {"error": f"fake failure {failure[1]}"}, failure[2])
        if parts.path == "/api/models":
            return self._list(h, query)
        if parts.path.startswith("/api/models/"):
            return self._info(h, parts.path.removeprefix("/api/models/"), query)
        return self._send(h, 404, {"error": "no route"})

    def _expand(self, item: dict, query: dict) -> dict:
        wanted = set(query.get("expand", []))
        return {k: v for k, v in item.items() if k in ("_id", "id") or k in wanted}

    def _info(self, h, model_id: str, query: dict):
        if model_id in self.private and h.headers.get("Authorization") != f"Bearer {self.private[model_id]}":
            return self._send(h, 401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        if model_id in self.gated:
            return self._send(h, 403, {"error": "gated"}, {"X-Error-Code": "GatedRepo"})
        if model_id not in self.models:
            return self._send(h, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return self._send(h, 200, self._expand(self.models[model_id], query))

    def _list(self, h, query: dict):
        _, relation, base = query["filter"][0].split(":", 2)
        items = list(self.listings.get((relation, base), []))
        if query.get("sort") == ["createdAt"]:
            dated = sorted((i for i in items if "createdAt" in i), key=lambda i: i["createdAt"], reverse=True)
            items = dated + [i for i in items if "createdAt" not in i]
        size = int(query["limit"][0]) if "limit" in query else self.page_size
        offset = int(query.get("cursor", ["0"])[0])
        page = [self._expand(i, query) for i in items[offset : offset + size]]
        headers = {}
        if offset + size < len(items):
            next_query = {k: v for k, v in query.items() if k != "cursor"} | {"cursor": [str(offset + size)]}
            headers["Link"] = f'<{self.url}/api/models?{urlencode(next_query, doseq=True)}>; rel="next"'
        return self._send(h, 200, page, headers)

    def _send(self, h, status: int, body, headers: dict | None = None):
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)
