"""``CATALOGUE_SEARCH_URL``: which engine, where, and with which credentials.

Read when the settings load, so a misspelt URL is one line naming the setting before any
command starts, and again by the cluster backend, which takes its credentials out of it.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote, urlsplit

SCHEMES = ("elasticsearch", "opensearch")


class SearchUrl(NamedTuple):
    scheme: str  # "elasticsearch" | "opensearch"
    url: str  # http(s)://host[:port][/path], without credentials
    username: str | None
    password: str | None


def parse_search_url(raw: str) -> SearchUrl:
    """``<engine>+http(s)://[user:password@]host[:port][/path]``; ValueError says what is
    wrong (the URL itself is the caller's to show, through :func:`redacted_url`)."""
    scheme, _, rest = raw.partition("+")
    if scheme not in SCHEMES or not rest:
        raise ValueError("must start with elasticsearch+http(s):// or opensearch+http(s)://")
    parts = urlsplit(rest)
    try:
        port = parts.port
    except ValueError as exc:  # not a number, or past 65535
        raise ValueError(f"bad port ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL with a host")
    netloc = parts.hostname + (f":{port}" if port else "")
    return SearchUrl(
        scheme,
        f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}",
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def check_search_url(raw: str) -> None:
    """The settings' check: empty (the embedded index) or a search URL."""
    if raw:
        parse_search_url(raw)


def redacted_url(url: str) -> str:
    """``url`` without its user info, fit for logs and error messages."""
    scheme, plus, rest = url.rpartition("+") if "+" in url.split("://")[0] else ("", "", url)
    parts = urlsplit(rest)
    if parts.username or parts.password:
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = None
        rest = parts._replace(netloc=host + (f":{port}" if port else "")).geturl()
    return f"{scheme}{plus}{rest}"
