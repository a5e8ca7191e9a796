"""HTTP for harvesters: one session per source, retries with backoff, capped bodies.

Transient failures (connection errors, timeouts, 408, 429 and 5xx) are retried with
exponential backoff; a ``Retry-After`` header (seconds or an HTTP date) wins over the
backoff. Any other status is handed back to the caller, because protocols such as
OAI-PMH put their own errors in 4xx bodies (Zenodo answers OAI errors with HTTP 422).

Every wait is bounded by the settings: ``timeout`` per socket read, ``response_timeout``
for a whole response while its body streams in (a server sending one byte every 2 s never
trips a read timeout), and ``timeout * max_retries`` for all the waits one request may
spend in retries (``Retry-After: 600`` five times would otherwise be 50 minutes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache

import requests
import urllib3

from harvester import stop
from harvester.net_errors import PERMANENT, brief_problem
from harvester.settings import HarvestSettings
from harvester.url_policy import (
    INSTANCE_HEADER,
    UrlPolicy,
    UrlRefused,
    public_url,
)
from mappings.numbers import ascii_digits

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 507, 509})
# Longest wait a Retry-After header may impose; a server asking for more is treated as down.
MAX_RETRY_AFTER = 600.0
_CHUNK = 1 << 16
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class HarvestError(Exception):
    """Base of all errors that end a harvest run (the run is recorded as failed)."""


class FetchError(HarvestError):
    """The server could not be reached or kept failing after all retries."""


class ResponseTooLarge(FetchError):
    """A response body exceeded the configured maximum size."""


class AddressRefused(FetchError):
    """The URL, a redirect or the address a connection reached is not allowed
    (:mod:`harvester.url_policy`), or the response came from this catalogue itself."""


@cache
def url_policy(deny_networks: tuple[str, ...]) -> UrlPolicy:
    """The URL policy of a deny-list (built once per list: it parses every range)."""
    return UrlPolicy(deny_networks)


@dataclass(frozen=True)
class Fetched:
    """A complete HTTP response whose body was read within the size cap."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes


def make_session(settings: HarvestSettings) -> requests.Session:
    """A session sending our User-Agent and accepting gzip (requests decodes it), whose
    every connection is checked against the URL policy's deny-list."""
    session = url_policy(settings.deny_networks).mount(requests.Session())
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header value (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if ascii_digits(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def fetch(
    session: requests.Session,
    url: str,
    params: Mapping[str, str],
    settings: HarvestSettings,
    *,
    sleep: Callable[[float], None] = stop.pause,
    headers: Mapping[str, str] | None = None,
    allow_redirects: bool = True,
) -> Fetched:
    """GET ``url`` with retries; returns the response whatever its final non-transient status.

    ``headers`` are sent with this request only (auth, Accept), on top of the session's.
    With ``allow_redirects=False`` a 3xx answer is returned as it is, for callers that must
    decide themselves where their credentials may go.
    Raises FetchError when the server stays unreachable or keeps answering with a
    transient status after ``max_retries`` retries, ResponseTooLarge over the size cap.
    """
    attempt = 0
    waited = 0.0
    try:
        url_policy(settings.deny_networks).check_url(url)
    except UrlRefused as exc:
        raise AddressRefused(f"refused {_shown(url)}: {exc}") from None
    while True:
        wait: float | None = None
        try:
            fetched = _get(session, url, params, settings, headers, allow_redirects)
        except UrlRefused as exc:  # at connect time: a redirect or a changed DNS answer
            raise AddressRefused(f"refused a connection for {_shown(url)}: {exc}") from None
        except _TRANSIENT as exc:
            stop.check()  # the stop cut the connection (harvester.stop): not the source's fault
            problem = brief_problem(exc)
            if problem == PERMANENT:
                raise FetchError(f"{problem}: {_shown(url)}") from None
        except requests.RequestException as exc:
            stop.check()
            raise FetchError(f"{brief_problem(exc)}: {_shown(url)}") from exc
        else:
            own = settings.instance_id
            if own and fetched.headers.get(INSTANCE_HEADER) == own:
                raise AddressRefused(f"{_shown(url)} is this catalogue: it cannot harvest itself")
            if fetched.status not in RETRY_STATUSES:
                return fetched
            problem = f"HTTP {fetched.status}"
            wait = retry_after_seconds(fetched.headers.get("Retry-After"))
        if attempt >= settings.max_retries:
            raise FetchError(f"{problem} from {url} (after {attempt} retries)")
        if wait is None:
            wait = settings.backoff * (2**attempt)
        if wait > MAX_RETRY_AFTER:
            raise FetchError(f"{problem} from {url}: server asks to wait {wait:.0f} s")
        if waited + wait > settings.retry_wait_budget:
            raise FetchError(
                f"{problem} from {url}: waiting {wait:.0f} s more would exceed the "
                f"{settings.retry_wait_budget:.0f} s of retry waits allowed per request "
                f"(timeout x max_retries; {waited:.0f} s waited, {attempt} retries)"
            )
        waited += wait
        attempt += 1
        log.warning(
            "%s from %s; retry %d/%d in %.1f s", problem, url, attempt, settings.max_retries, wait
        )
        sleep(wait)


def _shown(url: str) -> str:
    return public_url(url)


def _get(
    session: requests.Session,
    url: str,
    params: Mapping[str, str],
    settings: HarvestSettings,
    headers: Mapping[str, str] | None = None,
    allow_redirects: bool = True,
) -> Fetched:
    limit = settings.max_page_bytes
    deadline = time.monotonic() + settings.response_timeout
    with session.get(
        url,
        params=params,
        headers=headers,
        timeout=settings.timeout,
        stream=True,
        allow_redirects=allow_redirects,
    ) as response:
        declared = response.headers.get("Content-Length")
        if declared and ascii_digits(declared) and int(declared) > limit:
            raise ResponseTooLarge(f"response of {declared} bytes from {url} exceeds {limit}")
        chunks: list[bytes] = []
        size = 0
        # Counted after gzip decoding, so a compressed bomb is caught as well.
        for chunk in _body(response, deadline, settings.response_timeout):
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(f"response from {url} exceeds {limit} bytes")
            chunks.append(chunk)
        return Fetched(response.url, response.status_code, response.headers, b"".join(chunks))


class ResponseTimeout(requests.Timeout):
    """A response whose body did not arrive within ``response_timeout`` (transient)."""


def _body(response: requests.Response, deadline: float, seconds: float) -> Iterator[bytes]:
    """The decoded body as it arrives, given up at ``deadline`` (``time.monotonic``).

    ``read1`` returns whatever one socket read brought, so the deadline is checked at least
    once per ``timeout`` however slowly the bytes come; ``iter_content`` would wait for
    whole 64 KB chunks.
    """
    raw = response.raw
    while True:
        stop.check()
        if time.monotonic() > deadline:
            raise ResponseTimeout(f"the response took longer than {seconds:g} s")
        try:
            chunk = raw.read1(_CHUNK, decode_content=True)
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
        if not chunk:
            return
        yield chunk
