"""The app's JSON provider writes with orjson and means exactly what Flask's json did."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider

from catalogue.web import http


@dataclasses.dataclass
class Point:
    x: int
    label: str


VALUES = [
    {"b": 1, "a": ["é", "😀", "\u2028", None, True, 0.5, -0.0, 1e-05, 10**18]},
    {"when": datetime(2024, 5, 1, 12, 30, tzinfo=UTC), "day": date(2024, 5, 1)},
    {"point": Point(3, "x"), "amount": Decimal("1.10")},
    {"lone": "\ud800"},  # orjson refuses it: written by json, as Flask did
    {"big": 2**70},  # past 64 bits: json again
]


@pytest.fixture()
def apps() -> tuple[Flask, Flask]:
    ours, flask_own = Flask("ours"), Flask("flask_own")
    http.install(ours)
    flask_own.json = DefaultJSONProvider(flask_own)
    flask_own.json.sort_keys = False
    return ours, flask_own


@pytest.mark.parametrize("value", VALUES)
def test_same_json_as_flask(apps, value) -> None:
    ours, flask_own = apps
    with ours.app_context():
        got = jsonify(value)
    with flask_own.app_context():
        expected = jsonify(value)
    assert got.mimetype == expected.mimetype == "application/json"
    assert json.loads(got.get_data(as_text=True)) == json.loads(expected.get_data(as_text=True))
    assert list(json.loads(got.get_data(as_text=True))) == list(value)  # key order kept


def test_non_ascii_is_written_as_utf8(apps) -> None:
    ours, _ = apps
    with ours.app_context():
        body = jsonify({"title": "Glaçier ❄"}).get_data()
    assert "Glaçier ❄".encode() in body


def test_response_size_is_the_size_of_the_response_body(apps) -> None:
    from catalogue.web.limits import json_size, response_size

    ours, _ = apps
    hit = {"id": "abc", "metadata": {"titles": [{"title": "Île 😀"}], "geo": [52.1, 1e-07]}}
    for value in (VALUES[0], hit):
        with ours.app_context():
            body = ours.json.dumps(value).encode()
        assert response_size(value) == len(body)
    for value in VALUES[3:]:  # what orjson refuses: json's compact size
        assert response_size(value) == json_size(value)
