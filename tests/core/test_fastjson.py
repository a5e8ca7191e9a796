"""catalogue.fastjson gives exactly what the json module gives, corners included."""

from __future__ import annotations

import json
import math

import pytest

from catalogue import fastjson

TEXTS = [
    '{"a":1,"b":[true,false,null],"c":"x\\u00e9\\ud83d\\ude00"}',
    '{"a":1,"a":2}',  # the last duplicate wins, as in json
    "-0.0",
    "0.1",
    "1e-07",
    '"\\u0000\\n\\u2028"',
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",  # past 64 bits: an int, not a float
    "-9223372036854775809",
    '{"id":"1234567890123456789012345"}',  # a long digit run in a string
    "123456789012345678901234567890",
    '"\\ud800"',  # a lone surrogate
    "NaN",
    '{"a":Infinity,"b":-Infinity}',
    "1e400",
]


@pytest.mark.parametrize("text", TEXTS)
def test_loads_is_json_loads(text: str) -> None:
    expected = json.loads(text)
    for given in (text, text.encode()):
        got = fastjson.loads(given)
        assert type(got) is type(expected)
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got)
        else:
            assert repr(got) == repr(expected)


@pytest.mark.parametrize("text", ["", "{", '{"a":}', "[1,]", "nul", '"\xff'])
def test_invalid_json_fails_as_json_does(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        fastjson.loads(text)


VALUES = [
    {"id": "abc", "deleted": False, "sets": ["source:x", "x:é"], "original": {"format": None}},
    ['\x00\x1f\x7f\u2028\u2029\ufeff<>&/\\"', "😀"],
    {"n": 9223372036854775807, "m": -(2**63), "big": 2**64, "bigger": -(2**70)},
    {"s": "\ud800"},  # a lone surrogate: json writes it as it is
    [],
    {},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_compact_is_json_dumps(value) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert fastjson.dumps_compact(value) == expected


@pytest.mark.parametrize("value", [*VALUES, {"lat": 52.1, "e": 1e-07, "big": 1e300, "n": -0.0}])
def test_json_compact_is_json_dumps_floats_included(value) -> None:
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert fastjson.json_compact(value) == expected
