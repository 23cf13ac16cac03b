"""`hubscape serve` against hostile pages and clients: Host, Origin and token checks on every
endpoint, path traversal, bounded exports, strict HTTP framing, malformed requests as 400s,
connection bursts and stalled connections. In-process servers on loopback (no browser)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from hubscape.viewer.server import transport
from hubscape.viewer.server.app import ServeConfig, make_server
from hubscape.viewer.server.kernel import EXPORT_MAX_PIXELS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "kids.csv").write_text(
        "base_model,base_created_at,child_model,child_created_at\na/b,2024-01-01T00:00:00Z,c/d,2024-02-01T00:00:00Z\n",
        encoding="utf-8",
    )
    srv = make_server(ServeConfig(port=0, data_dir=data, max_body=1024 * 1024))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    thread.join(10)
    srv.server_close()


def scene_upload() -> bytes:
    from hubscape.viewer.server.kernel import ServerKernel

    return ServerKernel().scene_bytes("demo:landscape", "paper")


def request(srv, method, path, body=None, headers=None, token=True, host=None):
    port = srv.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = {"Host": host or f"127.0.0.1:{port}"}
        if token:
            sent["X-Hubscape-Token"] = srv.token
        if body is not None:
            sent["Content-Length"] = str(len(body))
        sent.update(headers or {})
        for key, value in sent.items():
            if value is not None:
                conn.putheader(key, value)
        conn.endheaders(body)
        res = conn.getresponse()
        return res.status, res.read(), dict(res.getheaders())
    finally:
        conn.close()


def raw(srv, data: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            out += chunk
        return out


FIT = json.dumps({"item": "demo:growth", "method": "lsq"}).encode()
#: Every endpoint: (method, path, body or a callable giving it). API calls first.
ENDPOINTS = [
    ("GET", "/api/info", None),
    ("HEAD", "/api/info", None),
    ("GET", "/api/gallery", None),
    ("GET", "/api/scene?id=demo:landscape", None),
    ("GET", "/api/csv?id=csv:0", None),
    ("POST", "/api/scene?name=up.safetensors", scene_upload),
    ("POST", "/api/growth/fit", FIT),
    ("POST", "/api/export?format=glb&width=64&height=64", scene_upload),
    ("GET", "/", None),
    ("GET", "/index.html", None),
    ("GET", "/js/app.js", None),
    ("GET", "/shaders/ribbon.wgsl", None),
    ("HEAD", "/style.css", None),
]


def _body(spec):
    return spec() if callable(spec) else spec


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_every_endpoint_answers_its_own_page(server, method, path, body):
    port = server.server_address[1]
    status, data, _ = request(
        server, method, path, _body(body), {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    )
    assert status == 200, data[:200]
    assert (data == b"") == (method == "HEAD")


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "127.0.0.1.nip.io", "localhost.evil.example", "[::ffff:7f00:1]x"]
)
def test_foreign_host_is_refused_everywhere(server, method, path, body, host):
    """DNS rebinding: the attacker's name in Host, the server's address underneath."""
    status, data, _ = request(server, method, path, _body(body), host=host)
    assert status in (400, 403)
    assert b"base_model" not in data and b"<script" not in data


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"])
def test_foreign_origin_is_refused_everywhere(server, method, path, body, origin):
    status, data, _ = request(server, method, path, _body(body), {"Origin": origin})
    assert status == 403 and (b"cross-origin" in data or method == "HEAD")


@pytest.mark.parametrize("method, path, body", ENDPOINTS[:8], ids=[f"{m} {p}" for m, p, _ in ENDPOINTS[:8]])
def test_api_needs_the_session_token_and_no_cross_site_fetch(server, method, path, body):
    assert request(server, method, path, _body(body), token=False)[0] == 403
    assert request(server, method, path, _body(body), {"X-Hubscape-Token": "guess"}, token=False)[0] == 403
    status, _, _ = request(server, method, path, _body(body), {"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    status, _, _ = request(server, method, path, _body(body), {"Sec-Fetch-Site": "same-site"})
    assert status == 403


def test_the_csv_of_a_rebinding_page_is_not_served(server):
    """The report's example: curl -H 'Host: evil.example' .../api/csv?id=csv:0."""
    status, data, _ = request(server, "GET", "/api/csv?id=csv:0", host="evil.example")
    assert status == 403 and b"c/d" not in data
    status, data, _ = request(server, "GET", "/api/csv?id=csv:0")
    assert status == 200 and b"c/d" in data


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:1", "127.0.0.1", "127.0.0.2:80", "[::1]:9"])
def test_loopback_names_and_port_forwards_are_accepted(server, host):
    status, _, _ = request(server, "GET", "/api/info", host=host, headers={"Origin": f"http://{host}"})
    assert status == 200


def test_static_files_need_no_token(server):
    assert request(server, "GET", "/index.html", token=False)[0] == 200
    assert b"token" in request(server, "GET", "/api/gallery", token=False)[1]


TRAVERSAL = [
    "/../pyproject.toml",
    "/%2e%2e/pyproject.toml",
    "/%2E%2E/pyproject.toml",
    "/.%2e/pyproject.toml",
    "/%2e./pyproject.toml",
    "/shaders/../../pyproject.toml",
    "/shaders/%2e%2e/%2e%2e/pyproject.toml",
    "/pyodide/../../../etc/passwd",
    "/pyodide/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/js/..%2f..%2fpyproject.toml",
    "/js/..%2F..%2Fpyproject.toml",
    "/js/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/..%5c..%5cpyproject.toml",
    "/js/..\\..\\pyproject.toml",
    "/%252e%252e/pyproject.toml",
    "/js/../../../../../../etc/passwd",
    "/./../pyproject.toml",
    "/js/./../../pyproject.toml",
    "//etc/passwd",
    "///etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd%00.js",
    "/js/app.js%00",
    "/%00",
    "/..;/pyproject.toml",
    "/js/..;/..;/pyproject.toml",
    "/wheels/../../pyproject.toml",
    "/wheels/%2e%2e/%2e%2e/pyproject.toml",
    "/shaders/../__init__.py",
    "/__init__.py",
    "/js/__pycache__/x.pyc",
    "/%c0%ae%c0%ae/pyproject.toml",
    "/%c0%af/etc/passwd",
    "/%e0%80%ae%e0%80%ae/pyproject.toml",
    "/..%c0%af..%c0%afpyproject.toml",
    "/..%u2216pyproject.toml",
    "/js/.../pyproject.toml",
    "/js/....//pyproject.toml",
    "/%20%2e%2e/pyproject.toml",
    "/%20../pyproject.toml",
    "/shaders/..%2f..%2fpyproject.toml",
    "/pyodide/..%2f..%2f..%2fetc%2fpasswd",
    "/file:///etc/passwd",
    "/shaders//etc/passwd",
    "/api/../../pyproject.toml",
]


@pytest.mark.parametrize("path", TRAVERSAL)
def test_path_traversal_never_leaks_a_file(server, path):
    status, body, _ = request(server, "GET", path)
    assert status in (400, 403, 404), (status, body[:100])
    assert b"[project]" not in body and b"root:" not in body


def test_oversized_exports_are_refused_before_any_work(server):
    scene = scene_upload()
    start = time.perf_counter()
    status, body, _ = request(server, "POST", "/api/export?format=svg&width=8192&height=8192", scene)
    assert status == 400 and "limit" in json.loads(body)["error"]
    assert time.perf_counter() - start < 10  # refused, not rendered (an 8192^2 SVG took 41 s)
    status, body, _ = request(server, "POST", "/api/export?format=png&width=4096&height=4096", scene)
    assert status == 400
    side = int(EXPORT_MAX_PIXELS**0.5)
    assert side * side <= EXPORT_MAX_PIXELS


@pytest.mark.parametrize(
    "path, body, needle",
    [
        ("/%2f", None, "encoded '/'"),
        ("/" + "a" * 300, None, "longer than"),
        ("/api/growth/fit", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("/api/growth/fit", b'{"m": ' + b"9" * 5000 + b"}", "not JSON"),
        ("/api/growth/fit", json.dumps({"item": "demo:growth", "unit": [1]}).encode(), "unit"),
        ("/api/growth/fit", json.dumps({"item": "demo:growth", "m": "inf"}).encode(), "m must"),
        ("/api/growth/fit", b"\xff\xfe", "not JSON"),
        ("/api/export?format=svg&width=abc", b"x", "whole numbers"),
        ("/api/scene?id=demo:landscape&theme=neon", None, "theme"),
    ],
)
def test_malformed_requests_are_one_line_400s(server, path, body, needle):
    method = "GET" if body is None else "POST"
    status, data, _ = request(server, method, path, body)
    doc = json.loads(data)
    assert status == 400 and needle in doc["error"] and "\n" not in doc["error"], doc


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 1_0\r\n",
        b"Content-Length: +2\r\n",
        b"Content-Length: 2\r\nContent-Length: 2\r\n",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 0x2\r\n",
    ],
)
def test_ambiguous_framing_is_refused(server, headers):
    port = server.server_address[1]
    req = (
        b"POST /api/growth/fit HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Hubscape-Token: %s\r\n"
        % (port, server.token.encode())
        + headers
        + b"Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    answer = raw(server, req)
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer[:200]


def test_upload_limit_and_length_required(server):
    status, data, _ = request(server, "POST", "/api/scene", b"\0" * (2 * 1024 * 1024))
    assert status == 413 and "limit" in json.loads(data)["error"]
    port = server.server_address[1]
    answer = raw(
        server,
        b"POST /api/scene HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Hubscape-Token: %s\r\n"
        b"Connection: close\r\n\r\n" % (port, server.token.encode()),
    )
    assert answer.startswith(b"HTTP/1.1 411")


def test_head_mirrors_get_without_a_body(server):
    status, data, headers = request(server, "HEAD", "/api/info")
    assert status == 200 and data == b"" and int(headers["Content-Length"]) > 0
    assert request(server, "PUT", "/api/info", b"")[0] == 405


def test_a_burst_of_100_connections_completes(server):
    port = server.server_address[1]
    barrier = threading.Barrier(100)
    results = []

    def client():
        barrier.wait()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/index.html")
            res = conn.getresponse()
            results.append(res.status if res.read() else 0)
            conn.close()
        except OSError as exc:
            results.append(exc)

    threads = [threading.Thread(target=client) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count(200) == 100, [r for r in results if r != 200][:5]


def test_stalled_connections_are_closed_and_do_not_starve_others(monkeypatch, tmp_path):
    monkeypatch.setattr(transport, "REQUEST_DEADLINE", 2.0)
    srv = make_server(ServeConfig(port=0))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        port = srv.server_address[1]
        stalled = []
        for _ in range(40):  # more than the worker pool: a thread per stalled client would starve everyone
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
            stalled.append(s)
        start = time.perf_counter()
        status, _, _ = request(srv, "GET", "/index.html")
        assert status == 200 and time.perf_counter() - start < 5
        for s in stalled[:5]:  # a trickle does not keep a connection alive past the deadline
            s.sendall(b"X")
        closed = 0
        deadline = time.perf_counter() + 10
        for s in stalled:
            s.settimeout(max(0.1, deadline - time.perf_counter()))
            try:
                data = s.recv(100)
                closed += data == b"" or data.startswith(b"HTTP/1.1 4")
            except TimeoutError:
                pass
            except OSError:  # reset by the server: closed too
                closed += 1
            s.close()
        assert time.perf_counter() - start < 10
        assert closed == len(stalled)
    finally:
        srv.shutdown()
        srv.server_close()


def test_ipv6_loopback(tmp_path):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        srv = make_server(ServeConfig(host="::1", port=0))
    except OSError as exc:
        pytest.skip(f"cannot bind ::1 here: {exc}")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        assert srv.url.startswith("http://[::1]:")
        conn = http.client.HTTPConnection("::1", srv.server_address[1], timeout=30)
        conn.request("GET", "/api/info", headers={"X-Hubscape-Token": srv.token})
        res = conn.getresponse()
        assert res.status == 200 and json.loads(res.read())["kernel"] == "server"
    finally:
        srv.shutdown()
        srv.server_close()
