"""The Hub client against a Hub that stalls, trickles or garbles: one-line errors, in bounded time.

A real ``HfApi`` (through :class:`TreeCollector`) talks to a local HTTP server; only the time
limits are shortened (module constants), nothing of huggingface_hub is mocked.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore2
import httpx2
import pytest

from hubscape.analytics.growth import hub_http
from hubscape.analytics.growth.hub import RetryPolicy, TreeCollector
from hubscape.analytics.growth.hub_http import HubDeadline
from hubscape.core.errors import HubError

INFO = {"id": "acme/base", "createdAt": "2024-01-01T00:00:00.000Z", "downloads": 1, "likes": 0}
CHILDREN = [{"id": f"acme/child-{k}", "createdAt": f"2024-0{k + 2}-01T00:00:00.000Z"} for k in range(3)]


class BadHub:
    """Model info answers normally; the children listing misbehaves as ``mode`` says."""

    def __init__(self):
        self.mode = "ok"
        self.request_headers: list[dict[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                listing = self.path.startswith("/api/models?")
                body = json.dumps(CHILDREN if listing else INFO).encode()
                mode = hub.mode if listing else "ok"
                hub.request_headers.append(dict(self.headers))
                if mode == "trickle-headers":
                    return self.trickle_headers(body)
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

            def trickle_headers(self, body):
                """The status line and headers one byte every 0.3 s: each read is quick, the whole is not."""
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                try:
                    for byte in head.encode():
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.3)
                    self.wfile.write(body)
                except OSError:
                    pass
                self.close_connection = True

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
    # huggingface_hub's own request hook still runs: every request carries its request id
    assert hub.request_headers and all("x-amzn-trace-id" in map(str.lower, h) for h in hub.request_headers)


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
    request = httpx2.Request(
        "GET", "http://127.0.0.1/", extensions={"timeout": {"connect": None, "read": None, "write": None, "pool": None}}
    )
    hub_http._on_request(request)
    assert request.extensions["timeout"]["read"] is None
    with hub_http.deadline(5, "test"):
        hub_http._on_request(request)
    assert request.extensions["timeout"]["read"] == hub_http.READ_TIMEOUT


def test_headers_that_trickle_in_are_cut_at_the_deadline(hub, tmp_path, monkeypatch):
    """Every read is within the read timeout, so only the total deadline can stop it."""
    monkeypatch.setattr(hub_http, "LISTING_DEADLINE", 2.0)
    hub.mode = "trickle-headers"
    start = time.perf_counter()
    with pytest.raises(HubError) as info:
        collector(tmp_path).collect("acme/base", relations=("finetune",))
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert "too slow" in message and "took longer than 2 s" in message and "\n" not in message
    # the headers alone would take about 25 s; a margin of 4x the deadline, no tight timing
    assert elapsed < 4 * hub_http.LISTING_DEADLINE, elapsed


def test_the_private_names_the_deadline_relies_on_are_there(monkeypatch):
    """httpx2 has no public way to give a client a network backend (see hub_http._connection_pools):
    every pool of huggingface_hub's default client, its proxy pools included, gets the deadline."""
    from huggingface_hub.utils._http import default_client_factory

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    client = hub_http._bound(default_client_factory())
    try:
        pools = hub_http._connection_pools(client)
        assert pools is not None and len(pools) >= 2  # the direct pool and the proxy's
        assert any(isinstance(pool, httpcore2.HTTPProxy) for pool in pools)
        assert all(isinstance(pool._network_backend, hub_http._DeadlineBackend) for pool in pools)
        # huggingface_hub's hook (offline mode, request ids) is kept, before ours
        assert client.event_hooks["request"][-1] is hub_http._on_request
        assert len(client.event_hooks["request"]) == 2
    finally:
        client.close()


def test_offline_mode_still_blocks_requests(monkeypatch, hub):
    from huggingface_hub import constants
    from huggingface_hub.errors import OfflineModeIsEnabled
    from huggingface_hub.utils._http import default_client_factory

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with hub_http._bound(default_client_factory()) as client, pytest.raises(OfflineModeIsEnabled):
        client.get(hub.url + "/api/models/acme/base")
    assert hub.request_headers == []


class Recorder(httpcore2.NetworkStream):
    """A connection that records the timeouts it is given and times out when told to."""

    def __init__(self, time_out=False):
        self.timeouts = []
        self.time_out = time_out

    def read(self, max_bytes, timeout=None):
        self.timeouts.append(timeout)
        if self.time_out:
            raise httpcore2.ReadTimeout("timed out")
        return b"x"


def test_outside_a_deadline_block_connections_keep_their_timeouts():
    recorder = Recorder()
    stream = hub_http._DeadlineStream(recorder)
    stream.read(1, None)
    stream.read(1, 7.0)
    assert recorder.timeouts == [None, 7.0]


def test_inside_a_deadline_block_each_read_waits_at_most_the_time_left():
    recorder = Recorder()
    stream = hub_http._DeadlineStream(recorder)
    with hub_http.deadline(60, "test"):
        stream.read(1, None)
        stream.read(1, 1000.0)
        stream.read(1, 2.0)
    assert 0 < recorder.timeouts[0] <= 60 and 0 < recorder.timeouts[1] <= 60
    assert recorder.timeouts[2] == 2.0


def test_a_timeout_the_deadline_caused_is_a_hub_deadline_and_others_stay_httpcore_timeouts():
    stream = hub_http._DeadlineStream(Recorder(time_out=True))
    with hub_http.deadline(60, "the test listing"):
        with pytest.raises(HubDeadline, match="the test listing took longer than 60 s"):
            stream.read(1, None)
        with pytest.raises(httpcore2.ReadTimeout):  # a read timeout: huggingface_hub retries it, as before
            stream.read(1, 2.0)
    with hub_http.deadline(0, "spent"), pytest.raises(HubDeadline):
        stream.read(1, 2.0)


def test_a_client_without_httpcore_pools_keeps_its_timeouts_and_says_the_deadline_is_missing(caplog):
    client = httpx2.Client(transport=httpx2.MockTransport(lambda request: httpx2.Response(200)))
    with caplog.at_level("WARNING", logger=hub_http.__name__):
        bound = hub_http._bound(client)
    assert hub_http._connection_pools(client) is None
    assert "a slow answer is not cut" in caplog.text
    assert bound.event_hooks["request"] == [hub_http._on_request]
    client.close()
