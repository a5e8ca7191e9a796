"""Bounds on what a small request can make the server derive: record sizes, error lists,
response pages. The limits and why they are what they are:

- ``ingest.max_record_bytes`` (default 1 MiB): one record's metadata (compact JSON, UTF-8)
  plus its original document. Real DataCite records are 2-30 KB; the largest in the
  fixtures under 200 KB. Every search page and OAI page repeats records, so their size,
  not the request limit (10 MiB), is what a response multiplies.
- ``max_response_bytes`` (default 8 MiB): a search or OAI-PMH page stops adding records
  once it holds this much (always at least one), and the paging link or resumption token
  carries on from there. 20 records of 1 MiB fit in 20 MiB otherwise; 4 concurrent
  anonymous requests must not cost a gigabyte.
- Error lists: at most :data:`MAX_ERRORS` field errors at the top of a response and
  :data:`MAX_ITEM_ERRORS` per item of a list, :data:`MAX_LISTED_ITEM_ERRORS` over all
  items, each message and field cut at :data:`MAX_MESSAGE_CHARS` (a validator echoes the
  invalid value; a 9 MB string must not come back). What was left out is counted.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

MAX_ERRORS = 100
MAX_ITEM_ERRORS = 10
MAX_LISTED_ITEM_ERRORS = 1000
MAX_MESSAGE_CHARS = 300
MAX_TOP_MESSAGE_CHARS = 1000
_ELLIPSIS = "…"

_SIZE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON (how stores and responses hold it)."""
    return len(_SIZE.encode(value).encode("utf-8", "surrogatepass"))


def response_size(value: Any) -> int:
    """Bytes of ``value`` in a JSON response body: compact UTF-8 as the app's JSON provider
    (orjson) writes it, 5-10x faster to measure than ``json_size``; json's size of what
    orjson refuses."""
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return json_size(value)


def shorten(text: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = text if isinstance(text, str) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


def cap_errors(errors: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` field errors, each cut short, and how many were left out."""
    kept = [
        {key: shorten(value) if isinstance(value, str) else value for key, value in e.items()}
        for e in errors[:limit]
    ]
    return kept, max(0, len(errors) - limit)


def cap_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-item results of a list request, their error lists capped (see module doc)."""
    budget = MAX_LISTED_ITEM_ERRORS
    out = []
    for item in items:
        errors = item.get("errors")
        if not errors:
            out.append(item)
            continue
        kept, omitted = cap_errors(errors, max(0, min(MAX_ITEM_ERRORS, budget)))
        budget -= len(kept)
        item = {**item, "errors": kept}
        if omitted:
            item["errors_omitted"] = omitted
        out.append(item)
    return out


def record_size_problems(candidates: list[Any], max_bytes: int) -> dict[int, str]:
    """Index -> why, for each candidate record (metadata as compact JSON plus its original
    document) larger than ``max_bytes``."""
    found = {}
    for n, candidate in enumerate(candidates):
        size = len(candidate.raw or b"")
        if candidate.metadata is not None:
            size += json_size(candidate.metadata)
        if size > max_bytes:
            found[n] = (
                f"the record is {size} bytes; at most {max_bytes} are accepted "
                "(setting ingest.max_record_bytes)"
            )
    return found
