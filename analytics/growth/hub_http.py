"""Time limits on the Hub client's requests: connect and read timeouts, and a total deadline.

huggingface_hub sends listing pages with ``timeout=None`` (no limit at all), so a Hub that
stops answering, or answers one byte at a time, hangs ``growth fetch`` forever. Its supported
hook for this is :func:`huggingface_hub.set_client_factory`: :func:`install` takes the client
its default factory makes (its request hook: offline mode, request ids; its proxies) and adds
two limits that act only inside :func:`deadline`, so model downloads and everything else
huggingface_hub does keep their own settings:

* requests without a timeout of their own get :data:`CONNECT_TIMEOUT` and :data:`READ_TIMEOUT`
  (an httpx event hook; a read timeout is the longest silence between two bytes, so on its own
  it cannot stop a trickle);
* every socket operation (connect, TLS handshake, write, each read of the status line, the
  headers and the body) waits at most the time left to the block: an httpcore network backend
  that bounds each call's timeout by the deadline. When the deadline is what ran out, or a
  request starts after it, :class:`HubDeadline` is raised. That is not an httpx error, so
  huggingface_hub's backoff does not retry it; ``hub._describe`` turns it into a one-line
  HubError.

huggingface_hub's own retries (429/5xx, timeouts, network errors, with backoff) stay as they are.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpcore2
import httpx2

#: Seconds to open a connection to the Hub.
CONNECT_TIMEOUT = 10.0
#: Longest silence (seconds) while reading an answer.
READ_TIMEOUT = 30.0
#: Total seconds for one relation's listing (all its pages and retries).
LISTING_DEADLINE = 300.0

_deadline: contextvars.ContextVar[tuple[float, str] | None] = contextvars.ContextVar("hub_deadline", default=None)
_installed = False
_lock = threading.Lock()
_log = logging.getLogger(__name__)
T = TypeVar("T")


class HubDeadline(Exception):
    """A Hub request ran past the deadline of the block it was made in."""


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Requests made in this block get timeouts and must all finish within ``seconds``."""
    token = _deadline.set((time.monotonic() + seconds, f"{what} took longer than {seconds:g} s"))
    try:
        yield
    finally:
        _deadline.reset(token)


def _time_left() -> tuple[float, str] | None:
    """Seconds left to the current block and its message (None outside one); raises once it has run out."""
    current = _deadline.get()
    if current is None:
        return None
    end, message = current
    left = end - time.monotonic()
    if left <= 0:
        raise HubDeadline(message)
    return left, message


def _within_deadline(call: Callable[[float | None], T], timeout: float | None) -> T:
    """``call(timeout)`` with the timeout cut to the time left; a timeout the cut caused is a HubDeadline."""
    current = _time_left()
    if current is None or (timeout is not None and timeout <= current[0]):
        return call(timeout)
    left, message = current
    try:
        return call(left)
    except httpcore2.TimeoutException as exc:
        raise HubDeadline(message) from exc


class _DeadlineStream(httpcore2.NetworkStream):
    """A connection whose every read and write ends by the deadline of the block it is used in."""

    def __init__(self, stream: httpcore2.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _within_deadline(lambda t: self._stream.read(max_bytes, t), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _within_deadline(lambda t: self._stream.write(buffer, t), timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        tls = _within_deadline(lambda t: self._stream.start_tls(ssl_context, server_hostname, t), timeout)
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    """httpcore's network backend whose connections honour :func:`deadline` (a public httpcore interface)."""

    def __init__(self, backend: httpcore2.NetworkBackend):
        self._backend = backend

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        def connect(t):
            return self._backend.connect_tcp(
                host, port, timeout=t, local_address=local_address, socket_options=socket_options
            )

        return _DeadlineStream(_within_deadline(connect, timeout))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        def connect(t):
            return self._backend.connect_unix_socket(path, timeout=t, socket_options=socket_options)

        return _DeadlineStream(_within_deadline(connect, timeout))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _connection_pools(client: httpx2.Client) -> list[httpcore2.ConnectionPool] | None:
    """The httpcore connection pools behind ``client`` (its direct and its proxy transports).

    PRIVATE NAMES: httpx2 offers no public way to give a client's transports a network backend
    (encode/httpx#3749 proposes ``HTTPTransport(network_backend=...)``), and building our own
    transports would lose the proxies httpx reads from the environment. So this reads
    ``Client._transport``, ``Client._mounts`` and ``HTTPTransport._pool``, and :func:`_bound`
    sets httpcore2's ``ConnectionPool._network_backend`` (HTTPProxy and SOCKSProxy are
    ConnectionPools). tests/analytics/growth/test_hub_timeouts.py checks they are there.
    None when one of them is missing.
    """
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    pools = [getattr(transport, "_pool", None) for transport in transports if transport is not None]
    if not pools or not all(
        isinstance(pool, httpcore2.ConnectionPool) and hasattr(pool, "_network_backend") for pool in pools
    ):
        return None
    return pools


def _bound(client: httpx2.Client) -> httpx2.Client:
    """``client`` with the request hook and every connection bounded by :func:`deadline`."""
    pools = _connection_pools(client)
    if pools is None:
        _log.warning("this httpx2 hides its connection pools: Hub requests get timeouts, but a slow answer is not cut")
    for pool in pools or []:
        pool._network_backend = _DeadlineBackend(pool._network_backend)
    client.event_hooks = {**client.event_hooks, "request": [*client.event_hooks.get("request", []), _on_request]}
    return client


def _on_request(request) -> None:
    current = _time_left()
    if current is None:
        return
    timeout = dict(request.extensions.get("timeout") or {})
    for key, value in (
        ("connect", CONNECT_TIMEOUT),
        ("read", READ_TIMEOUT),
        ("write", READ_TIMEOUT),
        ("pool", CONNECT_TIMEOUT),
    ):
        if timeout.get(key) is None:
            timeout[key] = value
    timeout["pool"] = min(timeout["pool"], current[0])  # waiting for a free connection is no socket call
    request.extensions["timeout"] = timeout


def install() -> None:
    """Make huggingface_hub's shared client honour :func:`deadline` (once per process)."""
    global _installed
    with _lock:
        if _installed:
            return
        from huggingface_hub import set_client_factory

        try:  # huggingface_hub's own default client (its request hook: offline mode, request ids)
            from huggingface_hub.utils._http import default_client_factory
        except ImportError:  # pragma: no cover - a huggingface_hub without it

            def default_client_factory():
                return httpx2.Client(follow_redirects=True, timeout=None)

        set_client_factory(lambda: _bound(default_client_factory()))
        _installed = True
