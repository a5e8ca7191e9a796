"""Network failures in a few words: what an admin reads in a run's message, a log line per
retry, or the CLI ("connection refused", not 300 characters of urllib3 internals)."""

from __future__ import annotations

import requests

PERMANENT = "host not found"
"""A failure no retry can mend (the name does not resolve): not retried."""

_PHRASES = (
    ("Connection refused", "connection refused"),
    ("Name or service not known", PERMANENT),
    ("nodename nor servname", PERMANENT),
    ("No address associated with hostname", PERMANENT),
    ("getaddrinfo failed", PERMANENT),
    ("Temporary failure in name resolution", "host name lookup failed"),
    ("Connection reset", "connection reset by the server"),
    ("Network is unreachable", "network unreachable"),
    ("No route to host", "no route to host"),
    ("RemoteDisconnected", "the server closed the connection without answering"),
    ("without response", "the server closed the connection without answering"),
)


def brief_problem(exc: BaseException) -> str:
    """A one-line description of a failed request (no URL: the caller names it)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer within the timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed (certificate or protocol)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the response was cut off"
    text = str(exc)
    for needle, phrase in _PHRASES:
        if needle in text:
            return phrase
    if isinstance(exc, requests.Timeout):
        return "timed out"
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:160]}"
