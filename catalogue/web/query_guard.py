"""What the search API lets through to a backend's query parser, and what it says back.

The embedded index has fields for its own use: ``text`` (every word of a record, what bare
words search anyway), ``title_sort``, the sort keys, the stored ``record``. Naming them in a
query answers questions nobody should ask (``title_sort:[a TO b]`` scans a fast field;
``record:`` reaches raw bytes), so a query naming one is refused here, for every backend.
And engine errors name the engine's internals (``ParseIntError { kind: InvalidDigit }``):
those become a plain sentence.
"""

from __future__ import annotations

import re

from catalogue.web.errors import ApiError

INTERNAL_FIELDS = frozenset(
    {"text", "title_sort", "sort_newest", "sort_oldest", "record", "datestamp"}
)
# A field name at the start of a term (after space, a sign or a parenthesis), outside quotes.
_FIELD_AT = re.compile(r"(?:^|[\s(+\-!])([A-Za-z_][A-Za-z0-9_]*)\s*:")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?')
_INTERNAL_TEXT = re.compile(
    r"[A-Z][A-Za-z]*(?:Error|Exception)\s*\{|\bkind:|sys\.|Traceback|0x[0-9a-f]{6,}|"
    r"\bfield_id\b|\bField\(",
)
_GENERIC = (
    "the query cannot be parsed: check field values (year: takes a number), quotes and "
    'parentheses; put text with a colon in "quotes"'
)


def refuse_internal_fields(q: str) -> None:
    """400 when ``q`` names one of the index's internal fields."""
    unquoted = _QUOTED.sub(" ", q)
    for match in _FIELD_AT.finditer(unquoted):
        name = match.group(1)
        if name.lower() in INTERNAL_FIELDS:
            raise ApiError(
                400,
                "invalid query syntax",
                [{"field": "q", "message": f"there is no field {name!r} to search"}],
            )


def public_message(message: str) -> str:
    """An engine's error message, unless it names the engine's internals."""
    if _INTERNAL_TEXT.search(message):
        return _GENERIC
    return message[:300]
