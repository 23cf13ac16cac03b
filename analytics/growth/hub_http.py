"""Time limits on the Hub client's requests: connect and read timeouts, and a total deadline.

huggingface_hub sends listing pages with ``timeout=None`` (no limit at all), so a Hub that
stops answering, or answers one byte at a time, hangs ``growth fetch`` forever. Its supported
hook for this is :func:`huggingface_hub.set_client_factory`: :func:`install` wraps the client
it makes with two httpx event hooks that act only inside :func:`deadline` (so model downloads
and everything else huggingface_hub does keep their own settings):

* requests without a timeout of their own get :data:`CONNECT_TIMEOUT` and :data:`READ_TIMEOUT`
  (a read timeout is the longest silence between two bytes, so it cannot stop a trickle);
* the whole block, every page and retry included, must finish within its deadline: a request
  started after it, or a body still arriving at it, raises :class:`HubDeadline`. That is not an
  httpx error, so huggingface_hub's backoff does not retry it; ``hub._describe`` turns it into
  a one-line HubError.

huggingface_hub's own retries (429/5xx, timeouts, network errors, with backoff) stay as they are.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator

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


def _check() -> None:
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        raise HubDeadline(current[1])


def _on_request(request) -> None:
    if _deadline.get() is None:
        return
    _check()
    timeout = dict(request.extensions.get("timeout") or {})
    for key, value in (
        ("connect", CONNECT_TIMEOUT),
        ("read", READ_TIMEOUT),
        ("write", READ_TIMEOUT),
        ("pool", CONNECT_TIMEOUT),
    ):
        if timeout.get(key) is None:
            timeout[key] = value
    request.extensions["timeout"] = timeout


class _DeadlineStream(httpx2.SyncByteStream):
    """A response body that stops at the deadline, however slowly its bytes arrive."""

    def __init__(self, stream):
        self.stream = stream

    def __iter__(self):
        for chunk in self.stream:
            _check()
            yield chunk

    def close(self) -> None:
        self.stream.close()


def _on_response(response) -> None:
    if _deadline.get() is not None:
        response.stream = _DeadlineStream(response.stream)


def _with_hooks(client):
    hooks = client.event_hooks
    client.event_hooks = {
        "request": [*hooks.get("request", []), _on_request],
        "response": [*hooks.get("response", []), _on_response],
    }
    return client


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

        set_client_factory(lambda: _with_hooks(default_client_factory()))
        _installed = True
