"""The HTTP transport of ``hubscape serve``: waitress, configured for a local server under load.

Why waitress and not the standard library's ``ThreadingHTTPServer``: the stdlib server gives
every connection a thread that blocks while the request trickles in (5 stalled clients held 5
threads forever, a backlog of 5 stalled a burst of 100 connections for up to 31 s), and its
HTTP parsing accepts ``Content-Length: +2``. Waitress (Pylons; pure Python, no framework, a
WSGI callable is all it needs) reads every request on one asynchronous I/O loop and hands
only complete requests to a fixed pool of worker threads, so a stalled connection costs a
socket, never a worker. Its parser refuses malformed and duplicate ``Content-Length`` values.
On top of waitress this module adds two things it lacks:

* a **request deadline**: a request whose header and body have not fully arrived
  :data:`REQUEST_DEADLINE` seconds after its first byte is closed, however slowly it trickles
  (waitress itself only closes connections idle for ``channel_timeout``);
* refusal of a request that carries both ``Content-Length`` and ``Transfer-Encoding`` (RFC 9112
  section 6.1 allows either refusing or ignoring the length; refusing leaves no doubt).

Limits (also in docs/ARCHITECTURE.md): :data:`THREADS` workers, a listen backlog of
:data:`BACKLOG`, at most :data:`CONNECTION_LIMIT` open connections, idle connections closed
after :data:`IDLE_TIMEOUT` s, a request deadline of :data:`REQUEST_DEADLINE` s, request headers
up to :data:`MAX_HEADER_BYTES`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer

#: Worker threads that run requests (the I/O loop is one more thread).
THREADS = 8
#: Listen backlog: a burst of this many connections waits in the kernel, not in a timeout.
BACKLOG = 1024
#: Open connections at most; more wait in the backlog until one closes.
CONNECTION_LIMIT = 512
#: Seconds a connection may sit idle (between requests or mid-request) before it is closed.
IDLE_TIMEOUT = 15
#: Seconds from a request's first byte until its header and body must have arrived.
REQUEST_DEADLINE = 30
#: Bytes of request line plus headers at most.
MAX_HEADER_BYTES = 64 * 1024


class _StrictParser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> None:
        lower = header_plus.lower()
        if b"\ncontent-length:" in lower and b"\ntransfer-encoding:" in lower:
            raise ParsingError("Content-Length together with Transfer-Encoding is refused")
        super().parse_header(header_plus)


class _DeadlineChannel(HTTPChannel):
    parser_class = _StrictParser
    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_started = time.monotonic()
        return super().received(data)

    def overdue(self, now: float) -> bool:
        """True while a request is still arriving past its deadline."""
        return (
            self.request is not None
            and not self.requests
            and self.request_started is not None
            and now - self.request_started > REQUEST_DEADLINE
        )


class _Server(TcpWSGIServer):
    channel_class = _DeadlineChannel

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            if isinstance(channel, _DeadlineChannel) and channel.overdue(mono):
                channel.will_close = True


class Transport:
    """A bound (not yet serving) waitress server for the WSGI ``app``; ``port=0`` picks a free port."""

    def __init__(self, app: Callable, host: str, port: int, max_body: int):
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" is load, not news
        shown = f"[{host}]" if ":" in host else host
        adj = Adjustments(
            listen=f"{shown}:{port}",
            threads=THREADS,
            backlog=BACKLOG,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_TIMEOUT,
            cleanup_interval=1,
            max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=max_body,
            asyncore_use_poll=True,
            ident="hubscape",
            expose_tracebacks=False,
        )
        self._server = _Server(app, adj=adj)

    @property
    def server_address(self) -> tuple[str, int]:
        return self._server.effective_host, int(self._server.effective_port)

    def serve_forever(self) -> None:
        self._server.run()

    def shutdown(self) -> None:
        """Stop serving (from any thread): the sockets are closed on the I/O loop's own thread."""
        server = self._server

        def stop():
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            wasyncore.close_all(server._map)

        server.trigger.pull_trigger(stop)

    def server_close(self) -> None:
        if self._server.socket is not None:
            self._server.close()
