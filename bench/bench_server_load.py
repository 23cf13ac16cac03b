"""Bounded loopback load test of ``hubscape serve``: static files, kernel calls, a connection
burst and stalled (slowloris) connections; against the same app on the standard library's
threading server (what ``hubscape serve`` used before), in the same run.

    python bench/bench_server_load.py [--quick]

Prints one table (p50/p99 latency in ms, errors, and what happened to the stalled
connections); BENCHMARKS.md keeps a run. Every client has a 10 s timeout; nothing is sent
off the machine.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import socketserver
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as wsgiref_server

import numpy as np

CLIENT_TIMEOUT = 10.0


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True  # the stdlib default: backlog 5, a thread per connection, no timeouts


def start_hubscape():
    from hubscape.viewer.server.app import ServeConfig, make_server

    server = make_server(ServeConfig(port=0))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1], server.shutdown


def start_stdlib(app):
    server = wsgiref_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1], server.shutdown


def one_request(port: int, path: str, token: str) -> float:
    """Seconds for one GET on a fresh connection; raises on any failure or non-200."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    try:
        conn.request("GET", path, headers={"X-Hubscape-Token": token})
        res = conn.getresponse()
        res.read()
        if res.status != 200:
            raise RuntimeError(f"HTTP {res.status}")
    finally:
        conn.close()
    return time.perf_counter() - start


def run_load(port: int, token: str, path: str, total: int, concurrency: int) -> dict:
    """``total`` GETs of ``path`` from ``concurrency`` clients at once."""

    def task(_):
        try:
            return one_request(port, path, token)
        except Exception as exc:  # counted, not raised: errors are a result here
            return exc

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(task, range(total)))
    wall = time.perf_counter() - start
    ok = np.array([r for r in results if isinstance(r, float)]) * 1000
    errors = [r for r in results if not isinstance(r, float)]
    return {
        "p50": float(np.percentile(ok, 50)) if ok.size else float("nan"),
        "p99": float(np.percentile(ok, 99)) if ok.size else float("nan"),
        "max": float(ok.max()) if ok.size else float("nan"),
        "errors": len(errors),
        "timeouts": sum(isinstance(e, (TimeoutError, socket.timeout)) for e in errors),
        "wall": wall,
    }


def open_stalled(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that send half a request line and then nothing."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT)
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(s)
    return socks


def closed_after(socks: list[socket.socket], limit: float) -> tuple[int, float]:
    """(how many the server closed within ``limit`` seconds, when the last one went)."""
    start, last, closed = time.perf_counter(), float("nan"), set()
    for s in socks:
        s.settimeout(0.2)
    while time.perf_counter() - start < limit and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if s.recv(4096) == b"":
                    closed.add(i)
                    last = time.perf_counter() - start
            except TimeoutError:
                pass
            except OSError:
                closed.add(i)
                last = time.perf_counter() - start
    for s in socks:
        s.close()
    return len(closed), last


def bench(name: str, port: int, token: str, quick: bool) -> list[tuple]:
    rows = []
    n = 200 if quick else 1000
    rows.append((name, f"static /index.html, {n} GETs, 16 clients", run_load(port, token, "/index.html", n, 16)))
    one_request(port, "/api/scene?id=demo:landscape", token)  # build once; later answers come from the cache
    rows.append(
        (
            name,
            "kernel /api/scene (cached), 100 GETs, 8 clients",
            run_load(port, token, "/api/scene?id=demo:landscape", 100, 8),
        )
    )
    rows.append((name, "burst: 100 connections at once", run_load(port, token, "/index.html", 100, 100)))
    stalled = open_stalled(port, 50)
    under = run_load(port, token, "/index.html", 100 if quick else 300, 8)
    count, last = closed_after(stalled, 40.0)
    under["stalled"] = f"{count}/50 closed by the server" + (f", last after {last:.1f} s" if count else "")
    rows.append((name, "static GETs while 50 connections stall", under))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    server, port, stop = start_hubscape()
    rows = bench("hubscape (waitress)", port, server.token, args.quick)
    stdlib_port, stop_stdlib = start_stdlib(server.app)
    rows += bench("stdlib ThreadingHTTPServer", stdlib_port, server.token, args.quick)
    stop()
    stop_stdlib()
    print(
        f"{'server':<28} {'case':<48} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6} {'timeouts':>8}  stalled"
    )
    for name, case, r in rows:
        print(
            f"{name:<28} {case:<48} {r['p50']:8.1f} {r['p99']:8.1f} {r['max']:8.1f} {r['errors']:6d} "
            f"{r['timeouts']:8d}  {r.get('stalled', '')}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
