"""Who may talk to ``hubscape serve``: the Host, Origin and session-token checks.

A local server is reachable by every web page the user opens, so three checks stand in
front of every request (rules of thumb from Jupyter's server and the Fetch standard):

* **Host** must name this server: ``localhost``, a loopback address, the bound address, or
  (bound to every interface) any IP literal, this machine's names and ``--allow-host`` names.
  A DNS-rebinding page reaches the server under *its own* name, so it is refused here.
* **Origin**, when a browser sends one, must be this page's own origin (``http://`` + the Host
  the request came in on, so an SSH port forward keeps working); ``Sec-Fetch-Site``, when
  sent, must be ``same-origin`` or ``none`` for the API. Cross-site form posts, fetches and
  ``<img>``/``<script>`` probes of the API are refused.
* **Session token**: every ``/api/`` call carries ``X-Hubscape-Token``. The token is made
  fresh per run (or taken from ``HUBSCAPE_TOKEN``) and reaches the page only through the URL
  ``hubscape serve`` prints (``/?token=...``), so other local users and other pages, who
  cannot read that URL, cannot use the API. The app's static files need no token: they are
  hubscape's own public code.

A refused request gets 403 (400 for a missing Host) with a one-line JSON error.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from collections.abc import Iterable, Mapping

TOKEN_HEADER = "X-Hubscape-Token"
_TOKEN_ENVIRON = "HTTP_X_HUBSCAPE_TOKEN"
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


class Refused(Exception):
    """A request the guard refuses: HTTP ``status`` and a one-line reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def new_token() -> str:
    """A fresh session token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def split_host(value: str) -> tuple[str, str | None]:
    """``"[::1]:8765"`` -> ("::1", "8765"); ``"Example.COM."`` -> ("example.com", None)."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError(f"bad Host {value!r}")
        name, rest = value[1:end], value[end + 1 :]
        port = rest[1:] if rest.startswith(":") else None
        if rest and not rest.startswith(":"):
            raise ValueError(f"bad Host {value!r}")
    elif value.count(":") == 1:
        name, port = value.split(":")
    else:
        name, port = value, None
    if port is not None and not (port.isdigit() and len(port) <= 5):
        raise ValueError(f"bad port in Host {value!r}")
    return name.lower().rstrip("."), port


def _ip(name: str):
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None


class RequestGuard:
    """The checks for one server bound to ``bind_host`` (see the module docstring)."""

    def __init__(self, bind_host: str, token: str, allow_hosts: Iterable[str] = ()):
        self.token = token
        self.wildcard = bind_host in WILDCARD_HOSTS
        names = {"localhost", bind_host.lower().strip("[]")}
        if self.wildcard:
            for name in (socket.gethostname(), socket.getfqdn()):
                if name:
                    names.add(name.lower().rstrip("."))
        names.update(h.lower().rstrip(".") for h in allow_hosts if h.strip())
        self.names = frozenset(n for n in names if n)

    def host_allowed(self, name: str) -> bool:
        if name in self.names:
            return True
        ip = _ip(name)
        if ip is None:
            return False
        return ip.is_loopback or self.wildcard

    def check(self, environ: Mapping[str, str], api: bool) -> None:
        """Raise :class:`Refused` unless the request may be answered."""
        host = environ.get("HTTP_HOST")
        if not host:
            raise Refused(400, "a Host header is required")
        try:
            name, _ = split_host(host)
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        if not self.host_allowed(name):
            raise Refused(
                403,
                f"Host {host!r} is not this server; open it as http://localhost or its address "
                "(DNS rebinding protection; see 'hubscape serve --allow-host')",
            )
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin != f"http://{host}":
            raise Refused(403, f"requests from the page {origin!r} are refused (cross-origin)")
        method = environ.get("REQUEST_METHOD", "GET")
        site = environ.get("HTTP_SEC_FETCH_SITE")
        if site is not None and site not in ("same-origin", "none") and (api or method == "POST"):
            raise Refused(403, f"cross-site requests are refused (Sec-Fetch-Site: {site})")
        if api:
            sent = environ.get(_TOKEN_ENVIRON, "")
            if not sent or not hmac.compare_digest(sent.encode(), self.token.encode()):
                what = "a wrong" if sent else "no"
                raise Refused(
                    403,
                    f"{what} session token: open the address 'hubscape serve' printed "
                    f"(it ends in ?token=...), or send the {TOKEN_HEADER} header",
                )
