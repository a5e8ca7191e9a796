"""The shared core of the REST harvesters: one client per source with auth, a rate limit,
retries (through :mod:`harvester.http`), redirects kept on the source's origin for the
token, safe JSON parsing; page following is in :mod:`harvester.rest.paging`.

Every API family module (b2share, surf, metastore2, unis, generic) yields :class:`RestPage`
objects of :class:`RestRecord` built with a :class:`RestClient`; the run
(:mod:`harvester.rest.run`) maps and stores them the same way for all of them.

Secrets: an access token (from the source config or, better, from an environment variable
named there) is sent as a header or a query parameter and never written anywhere else:
every message that leaves this module goes through :meth:`RestClient.redact`, because
``requests`` puts the full URL, query string included, into its exception texts, and
messages name URLs without their query (:func:`without_query`). Redirects are followed
here, not by ``requests`` (which would carry a custom auth header to any host): the token
goes only to the source's own origin.

Past 400 lines: the client's auth, redirects, retries, rate limit and redaction act on
the same request in turn; apart they would leak state (the token) between modules.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from harvester import stop
from harvester.http import Fetched, FetchError, HarvestError, fetch, make_session
from harvester.settings import HarvestSettings
from harvester.url_policy import redact_url_secrets, url_secrets

log = logging.getLogger(__name__)

JSON_ACCEPT = "application/json"
MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
GONE_STATUSES = frozenset({404, 410})
_REDACTED = "***"
_HTTP_OVERRIDES = ("timeout", "max_retries", "backoff", "max_page_bytes", "response_timeout")


class BadResponse(HarvestError):
    """A response that is not what the API documents: not JSON, wrong shape, a loop."""


class StatusError(FetchError):
    """A final HTTP error status (4xx or 5xx after retries); ``status`` says which."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ConfigError(ValueError):
    """A source configuration that cannot work; raised when the source is registered."""


@dataclass
class RestRecord:
    """One listed record on its way to the crosswalk.

    ``payload`` is whatever the family's ``map`` takes (usually the parsed JSON object);
    ``raw`` the bytes kept for replaying mappings; ``error`` marks a record that could not
    even be fetched whole (it is counted as failed, and still counts as listed).
    """

    source_id: str
    payload: Any
    raw: bytes | None
    datestamp: datetime | None = None
    sets: list[str] = field(default_factory=list)
    deleted: bool = False
    error: str | None = None
    skip: str | None = None  # listed but not for the catalogue (a draft): the reason
    raw_format: str | None = None  # when it differs from the harvester's (metastore2)


@dataclass(frozen=True)
class RecordRequest:
    """Where one record can be read on its own: a deletion candidate is checked there."""

    url: str
    params: Mapping[str, Any] | None = None
    accept: str = JSON_ACCEPT


@dataclass
class RestPage:
    """One response's worth of records, with the page-level warnings."""

    records: list[RestRecord]
    total: int | None = None
    warnings: list[str] = field(default_factory=list)
    position: dict[str, Any] | None = None  # where it was read (a checkpoint's position)


class ApiHarvester:
    """Base of the API family harvesters: the client, the page size, a per-record URL.

    Subclasses read the rest of their config in ``__init__`` after this one.
    """

    raw_format: str
    incremental = False
    # Whether a dead run's listing can resume at its last page: one listing through
    # harvester.rest.paging, nothing read before it that the run needs.
    resumable = True
    default_page_size = 100

    def __init__(self, client: RestClient, config: Mapping[str, Any]) -> None:
        self.client = client
        self.page_size: int = config.get("page_size", self.default_page_size)

    def record_request(self, source_id: str) -> RecordRequest | None:
        """The record's own URL, to check a deletion candidate; None when the API has none."""
        return None


def utc_naive(value: datetime) -> datetime:
    """Naive UTC, as the store keeps datetimes."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (any offset, 'Z', fractions) as naive UTC; None when unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:  # RFC 1123 dates, as B2SHARE writes community timestamps
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return utc_naive(parsed)


def parse_json(content: bytes, url: str) -> Any:
    """The JSON document in ``content``; BadResponse (never a crash) when it is not one."""
    try:
        return json.loads(content)
    except RecursionError as exc:  # hostile nesting depth
        raise BadResponse(f"response from {url} is nested too deeply to read") from exc
    except ValueError as exc:  # includes bad UTF-8
        snippet = content[:80].decode("utf-8", errors="replace")
        raise BadResponse(f"response from {url} is not JSON ({exc}): {snippet!r}") from exc


def dig(data: Any, *keys: str | int) -> Any:
    """``data[k1][k2]...`` or None when any step is missing or of the wrong kind."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or not -len(data) <= key < len(data):
                return None
        elif not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


# Reused, and without the cycle check: payloads come from json.loads, so they are trees.
# The same bytes as json.dumps(value, ensure_ascii=False, separators=(",", ":")), faster.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def compact_json(value: Any) -> bytes:
    """The raw bytes kept for a JSON record: compact, key order as received."""
    return _COMPACT.encode(value).encode()


class RateLimiter:
    """At most ``per_second`` requests per second from one source, across threads."""

    def __init__(
        self,
        per_second: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = stop.pause,
    ) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            if self._next > now:
                self._sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


@dataclass(frozen=True)
class Auth:
    """Where the access token goes: a header (``Authorization: Bearer <t>``) or a query
    parameter (B2SHARE's and SURF's ``access_token`` / ``token``)."""

    token: str
    header: str | None = None
    scheme: str | None = None
    param: str | None = None

    @classmethod
    def from_config(cls, auth: Mapping[str, Any] | None, env: Mapping[str, str]) -> Auth | None:
        if not auth:
            return None
        token = auth.get("token")
        if auth.get("token_env"):
            token = env.get(auth["token_env"]) or token
        if not token:
            raise ConfigError(
                f"no access token: set the environment variable {auth.get('token_env')!r}"
                if auth.get("token_env")
                else "auth needs token or token_env"
            )
        if auth.get("type", "header") == "query":
            return cls(token, param=auth.get("param", "access_token"))
        return cls(
            token,
            header=auth.get("header", "Authorization"),
            scheme=auth.get("scheme", "Bearer") or None,
        )


class _Redact(logging.Filter):
    """Blanks access tokens out of log records: urllib3 logs every URL, query included, at
    DEBUG (which ``catalogue -v`` turns on)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(secret in message for secret in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, _REDACTED)
                record.msg, record.args = message, ()
        return True


_LOG_REDACTION = _Redact()
logging.getLogger("urllib3.connectionpool").addFilter(_LOG_REDACTION)


class RestClient:
    """HTTP for one REST source: auth, rate limit, retries, size cap, JSON, same-origin links.

    ``harvest`` are the harvest settings; the source ``config`` may override ``timeout``,
    ``max_retries``, ``backoff`` and ``max_page_bytes`` and sets ``rate_limit`` (requests
    per second) and ``auth``.
    """

    def __init__(
        self,
        base_url: str,
        harvest: HarvestSettings,
        config: Mapping[str, Any],
        *,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = stop.pause,
    ) -> None:
        self.settings = replace(harvest, **{k: config[k] for k in _HTTP_OVERRIDES if k in config})
        self.base_url = base_url
        self.auth = Auth.from_config(config.get("auth"), os.environ if env is None else env)
        if self.auth is not None:
            _LOG_REDACTION.secrets.add(self.auth.token)
        _LOG_REDACTION.secrets.update(url_secrets(base_url))
        self.limiter = RateLimiter(config.get("rate_limit"), sleep=sleep)
        self.session = make_session(self.settings)
        self._sleep = sleep
        self._origin = _origin(base_url)
        self.requests = 0
        self.first_date: datetime | None = None  # the server's clock at our first request
        # Checkpoints (harvester.rest.paging): where a resumed run's listing starts, and
        # where the page last yielded by the listing was read.
        self.resume: dict[str, Any] | None = None
        self.position: dict[str, Any] | None = None

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pause(self, seconds: float) -> None:
        """Wait as the client's retries do (a stop request cuts the wait short)."""
        self._sleep(seconds)

    def redact(self, text: str) -> str:
        """``text`` with the access token and the credentials of the base URL (user
        information, secret query values) blanked out, also as they appear in URLs."""
        return redact_url_secrets(text, self.base_url, [self.auth.token] if self.auth else [])

    def url(self, path: str) -> str:
        """``path`` under the source's base URL."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        accept: str = JSON_ACCEPT,
    ) -> Fetched:
        """GET with retries; raises StatusError for a final 4xx/5xx, with the server's message.

        Redirects are followed here, at most :data:`MAX_REDIRECTS`: a hop to another origin
        is made without the token (``requests`` would strip only ``Authorization``).
        """
        self.check_origin(url)
        fetched = self.get_any(url, params, accept=accept)
        url = fetched.url
        if fetched.status >= 400:
            raise StatusError(
                self.redact(
                    f"HTTP {fetched.status} from {without_query(url)}: "
                    f"{_error_message(fetched.content)}"
                ),
                fetched.status,
            )
        return fetched

    def get_any(
        self, url: str, params: Mapping[str, Any] | None = None, *, accept: str = JSON_ACCEPT
    ) -> Fetched:
        """GET with retries and redirects (each hop checked by the URL policy, the token
        only to the source's origin), whatever the final status (OAI-PMH reads 4xx bodies)."""
        query: Mapping[str, Any] | None = params
        for _hop in range(MAX_REDIRECTS + 1):
            fetched = self._get_once(url, query, accept)
            location = fetched.headers.get("Location")
            if fetched.status not in _REDIRECT_STATUSES or not location:
                return fetched
            url, query = urljoin(fetched.url, location), None
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {without_query(url)}")

    def _get_once(self, url: str, params: Mapping[str, Any] | None, accept: str) -> Fetched:
        """One GET without following redirects; the token only to the source's origin."""
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        headers = {"Accept": accept}
        if self.auth is not None:
            if self.auth.param:  # servers echo tokens into next links and redirects
                url = strip_param(url, self.auth.param)
            if _origin(url) == self._origin:
                if self.auth.param:
                    query[self.auth.param] = self.auth.token
                else:
                    scheme, token = self.auth.scheme, self.auth.token
                    headers[self.auth.header or "Authorization"] = (
                        f"{scheme} {token}" if scheme else token
                    )
        self.limiter.wait()
        self.requests += 1
        try:
            fetched = fetch(self.session, url, query, self.settings, sleep=self._sleep,
                            headers=headers, allow_redirects=False)  # fmt: skip
        except HarvestError as exc:
            raise type(exc)(self.redact(str(exc))) from None
        except requests.RequestException as exc:  # e.g. an invalid URL in a next link
            raise FetchError(self.redact(f"{type(exc).__name__}: {exc}")) from None
        if self.first_date is None:
            self.first_date = _http_date(fetched.headers.get("Date"))
        return fetched

    def is_gone(self, url: str, params: Mapping[str, Any] | None = None, *,
                accept: str = JSON_ACCEPT) -> bool:  # fmt: skip
        """Whether the record at ``url`` is gone (HTTP 404 or 410); False when it answers.

        Any other failure is raised: a record is never taken for deleted on a doubt.
        """
        try:
            self.get(url, params, accept=accept)
        except StatusError as exc:
            if exc.status in GONE_STATUSES:
                return True
            raise
        return False

    def get_json(
        self, url: str, params: Mapping[str, Any] | None = None, *, accept: str = JSON_ACCEPT
    ) -> tuple[Any, Fetched]:
        fetched = self.get(url, params, accept=accept)
        return parse_json(fetched.content, without_query(url)), fetched

    def check_origin(self, url: str) -> None:
        """Refuse to follow a link off the source's host: it would carry our token there."""
        if _origin(url) != self._origin:
            raise BadResponse(
                self.redact(f"link {without_query(url)} leaves the source host {self._origin}")
            )


def strip_param(url: str, name: str) -> str:
    """``url`` without query parameter ``name`` (servers echo tokens into their next links)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def without_query(url: str) -> str:
    """``url`` without query and fragment: how messages name URLs (queries carry tokens)."""
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return utc_naive(parsedate_to_datetime(value)).replace(microsecond=0)
    except (TypeError, ValueError):
        return None


def _error_message(content: bytes) -> str:
    """The ``message`` of a JSON error body (B2SHARE, SURF), else the body's start."""
    try:
        body = json.loads(content[:65536])
    except (ValueError, RecursionError):
        return content[:200].decode("utf-8", errors="replace").strip() or "(empty body)"
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return body[key][:500]
    return json.dumps(body)[:200]
