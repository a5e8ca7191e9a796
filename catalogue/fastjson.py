"""JSON on the hot read paths (the indexer's record reads, the search hits), through orjson
wherever its result is exactly the json module's, else through json.

orjson parses 3-4x and writes 5-10x faster. It differs from json in a few corners, and
each goes to json instead: NaN, Infinity and lone surrogates (orjson refuses them), and
integers past 64 bits (orjson would parse them as floats: a text with a run of 19 digits
is parsed by json). Only values without floats are written here (orjson spells some
exponents differently); the canonical JSON that content hashes cover stays json's own.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")
# json.dumps(..., ensure_ascii=False, separators=(",", ":")), without a new encoder per call
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``, faster."""
    digits = _LONG_DIGITS_BYTES if isinstance(text, bytes) else _LONG_DIGITS
    if digits.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # NaN, Infinity, a lone surrogate: json accepts them; invalid JSON fails below
    return json.loads(text)


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` of a value without
    floats (strings, integers, booleans, None, lists and string-keyed dicts of them)."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        return _COMPACT.encode(value)  # lone surrogates, integers past 64 bits, other keys


def json_compact(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` of any value, floats
    included, spelt as json spells it."""
    return _COMPACT.encode(value)
