"""Where a harvester may connect, and how source URLs are shown: one policy for every
source type (OAI-PMH and every REST family), reusable by any code that fetches URLs.

- **Syntax**: http(s) only, a host, no whitespace or control characters anywhere (a
  newline in a URL is a request-splitting attempt, never a typo worth repairing).
- **Deny-list of address ranges** (the ``harvest.deny_networks`` setting; by default
  link-local, which holds the cloud metadata services at 169.254.169.254, plus the
  metadata addresses that sit elsewhere). A host name is resolved and every address it
  resolves to is checked before a request (:meth:`UrlPolicy.check_url`); and the address
  each connection actually reaches is checked again when the socket connects
  (:meth:`UrlPolicy.mount`), so neither a redirect to another host nor a DNS answer that
  changes between the check and the connection (rebinding) gets past it. Loopback and
  private ranges are not denied by default: a catalogue harvesting a repository on its
  own network is normal; add them in deployments where the harvester must only reach the
  internet.
- **Self-harvest**: every response of the catalogue's web app carries
  :data:`INSTANCE_HEADER` with an opaque id of the instance (:func:`instance_id`); a
  harvester that meets its own id refuses the response (harvesting itself would feed its
  own records back in as a second copy, forever).
- **Display**: :func:`public_url` drops user information and blanks the values of query
  parameters that look like credentials, :func:`redact_url_secrets` removes those secrets
  from any text (error messages name URLs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit, urlunsplit

from requests import Session
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from harvester import stop

INSTANCE_HEADER = "X-Catalogue-Instance"
# Query parameter names whose values are credentials (matched on the lower-cased name).
_SECRET_PARAM_PARTS = ("key", "token", "secret", "pass", "pwd", "auth", "sig", "session", "cred")
_REDACTED = "***"


class UrlRefused(ValueError):
    """A URL (or the address it reaches) the policy does not allow."""


def check_syntax(url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host and no whitespace or
    control characters."""
    if not isinstance(url, str) or not url:
        raise UrlRefused("the URL is empty")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UrlRefused("the URL holds whitespace or control characters (a newline?)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise UrlRefused(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("must be an http(s) URL with a host")
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:  # a name: labels of 1 to 63 characters (else the connection fails, later)
            host.encode("idna")
        except UnicodeError:
            raise UrlRefused(f"{host!r} is not a host name (an empty or overlong label)") from None


def parse_networks(
    values: Iterable[str] | str,
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CIDR ranges from a list (or a comma-separated string, as an environment value)."""
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    try:
        return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)
    except ValueError as exc:
        raise ValueError(f"harvest.deny_networks: {exc}") from None


class UrlPolicy:
    """The deny-list of address ranges, checked before requests and at every connect."""

    def __init__(self, deny_networks: Iterable[str] | str) -> None:
        self.networks = parse_networks(deny_networks)

    def check_address(self, address: str, host: str = "") -> None:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for network in self.networks:
            if ip.version == network.version and ip in network:
                shown = f"{host} ({address})" if host and host != address else address
                raise UrlRefused(f"{shown} is in a denied address range ({network})")

    def check_url(self, url: str) -> None:
        """Syntax, then every address the host resolves to. A name that does not resolve
        passes (the request then fails as any unreachable host does, with retries)."""
        check_syntax(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return
        for info in infos:
            self.check_address(str(info[4][0]), host)

    def mount(self, session: Session) -> Session:
        """Make ``session`` check the peer address of every connection it opens (every
        redirect hop, every keep-alive pool), after DNS resolution and the TCP connect."""
        adapter = _PolicyAdapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


def _checked(connection_class: type[HTTPConnection], policy: UrlPolicy) -> type[HTTPConnection]:
    class Checked(connection_class):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            super().connect()
            # A stopping process shuts the socket down: a read blocked on it ends at once.
            stop.cut_at_stop(self)

        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            try:
                policy.check_address(str(sock.getpeername()[0]), self.host)
            except UrlRefused:
                sock.close()
                raise
            return sock

    return Checked


class _PolicyAdapter(HTTPAdapter):
    def __init__(self, policy: UrlPolicy) -> None:
        self._policy = policy
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_pool = type(
            "CheckedHTTPPool",
            (HTTPConnectionPool,),
            {"ConnectionCls": _checked(HTTPConnection, self._policy)},
        )
        https_pool = type(
            "CheckedHTTPSPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": _checked(HTTPSConnection, self._policy)},
        )
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}

    def __getstate__(self) -> dict[str, Any]:  # requests pickles adapters with sessions
        state = super().__getstate__()
        state["_policy"] = self._policy
        return state


def instance_id(secret_key: str, database_url: str) -> str:
    """An opaque id of one catalogue (its secret and its database): what its web app sends
    in :data:`INSTANCE_HEADER`, and what its harvester refuses to harvest."""
    digest = hmac.new(
        secret_key.encode("utf-8", "surrogatepass"),
        b"catalogue.instance\0" + database_url.encode("utf-8", "surrogatepass"),
        hashlib.sha256,
    )
    return digest.hexdigest()[:32]


def _is_secret_param(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in _SECRET_PARAM_PARTS)


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries: user information and secret-looking query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = []
    if parts.password:
        found.append(parts.password)
    if parts.username:
        found.append(parts.username)
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if _is_secret_param(name) and value:
            found.append(value)
    return [s for s in found if len(s) >= 2]


def public_url(url: str) -> str:
    """``url`` fit to show anyone: no user information, secret query values blanked."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _REDACTED
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(
            f"{quote_plus(k)}={_REDACTED if _is_secret_param(k) else quote_plus(v)}"
            for k, v in pairs
        )
    else:
        query = ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_url_secrets(text: str, url: str, extra: Iterable[str] = ()) -> str:
    """``text`` with the credentials of ``url`` (and ``extra`` secrets) blanked out, in
    every form they may take in a message (as given, percent-encoded, decoded)."""
    secrets = [*url_secrets(url), *(s for s in extra if s)]
    forms: set[str] = set()
    for secret in secrets:
        forms.update({secret, quote(secret, safe=""), quote_plus(secret), unquote(secret)})
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= 2:
            text = text.replace(form, _REDACTED)
    return text
