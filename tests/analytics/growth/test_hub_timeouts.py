"""The Hub client against a Hub that stalls, trickles or garbles: one-line errors, in bounded time.

A real ``HfApi`` (through :class:`TreeCollector`) talks to a local HTTP server; only the time
limits are shortened (module constants), nothing of huggingface_hub is mocked.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hubscape.analytics.growth import hub_http
from hubscape.analytics.growth.hub import RetryPolicy, TreeCollector
from hubscape.core.errors import HubError

INFO = {"id": "acme/base", "createdAt": "2024-01-01T00:00:00.000Z", "downloads": 1, "likes": 0}
CHILDREN = [{"id": f"acme/child-{k}", "createdAt": f"2024-0{k + 2}-01T00:00:00.000Z"} for k in range(3)]


class BadHub:
    """Model info answers normally; the children listing misbehaves as ``mode`` says."""

    def __init__(self):
        self.mode = "ok"
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                listing = self.path.startswith("/api/models?")
                body = json.dumps(CHILDREN if listing else INFO).encode()
                mode = hub.mode if listing else "ok"
                if mode == "malformed":
                    body = b'[{"id": "acme/child-0", '
                elif mode == "wrong-shape":
                    body = json.dumps({"error": "not a list"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if mode == "trickle":
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.05)
                    elif mode == "silent":
                        time.sleep(5)
                    else:
                        self.wfile.write(body)
                except OSError:
                    pass  # the client gave up, as it should

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub(monkeypatch, tmp_path):
    fake = BadHub()
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub_http, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(hub_http, "LISTING_DEADLINE", 1.5)
    yield fake
    fake.close()


def collector(tmp_path):
    return TreeCollector(cache_dir=tmp_path / "cache", retry=RetryPolicy(tries=1))


def test_a_good_hub_still_lists(hub, tmp_path):
    tree = collector(tmp_path).collect("acme/base", relations=("finetune",))
    assert len(tree.children_of("finetune")) == 3


@pytest.mark.parametrize(
    "mode, needle",
    [
        ("trickle", "too slow"),
        ("silent", "too slow"),
        ("malformed", "malformed answer"),
        ("wrong-shape", "malformed answer"),
    ],
)
def test_a_bad_hub_is_one_line_in_bounded_time(hub, tmp_path, mode, needle):
    hub.mode = mode
    start = time.perf_counter()
    with pytest.raises(HubError) as info:
        collector(tmp_path).collect("acme/base", relations=("finetune",))
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert needle in message and "\n" not in message and "acme/base" in message
    # the deadline (1.5 s) plus at most one read timeout (0.5 s) and huggingface_hub's first backoff (1 s)
    assert elapsed < 8, elapsed


def test_deadlines_do_not_touch_other_huggingface_hub_calls():
    """Outside a deadline block the hooks leave requests alone (model downloads keep their own settings)."""
    import httpx2

    request = httpx2.Request(
        "GET", "http://127.0.0.1/", extensions={"timeout": {"connect": None, "read": None, "write": None, "pool": None}}
    )
    hub_http._on_request(request)
    assert request.extensions["timeout"]["read"] is None
    with hub_http.deadline(5, "test"):
        hub_http._on_request(request)
    assert request.extensions["timeout"]["read"] == hub_http.READ_TIMEOUT
