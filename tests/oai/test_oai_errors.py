"""Every OAI-PMH error condition: the right code, HTTP 200, a valid document, never a 500.

The validating middleware of the ``oai`` fixture checks each response against
OAI-PMH.xsd, so a hostile argument echoed into ``<request>`` would fail these tests too.
"""

from __future__ import annotations

import pytest
import requests
from lxml import etree
from oai_support import NS, Corpus, OaiServer

from catalogue.model import record_id

GOOD_ID = "oai:catalogue.test.org:" + record_id("zen", "zen-0")

CASES = [
    # (arguments as a list of pairs, expected error code)
    ([], "badVerb"),
    ([("verb", "Frobnicate")], "badVerb"),
    ([("verb", "identify")], "badVerb"),
    ([("verb", "Identify"), ("verb", "Identify")], "badVerb"),
    ([("verb", "Identify"), ("foo", "bar")], "badArgument"),
    ([("verb", "Identify"), ("metadataPrefix", "oai_dc")], "badArgument"),
    ([("verb", "ListRecords")], "badArgument"),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("identifier", GOOD_ID)],
        "badArgument",
    ),
    (
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2020-01-01"),
            ("until", "2020-01-02T00:00:00Z"),
        ],
        "badArgument",
    ),
    (
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2020-01-02"),
            ("until", "2020-01-01"),
        ],
        "badArgument",
    ),
    (
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2020-01-01T00:00:01Z"),
            ("until", "2020-01-01T00:00:00Z"),
        ],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2020-13-01")],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2020-02-30")],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2020-01-01T00:00:00")],
        "badArgument",
    ),
    (
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2020-01-01T00:00:00+01:00"),
        ],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2020-01-01T00:00Z")],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("until", "yesterday")],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("until", "9999-12-31")],
        None,
    ),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "0001-01-01")], None),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "a b")], "badArgument"),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "source::zen")],
        "badArgument",
    ),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("resumptionToken", "x")],
        "badArgument",
    ),
    ([("verb", "ListRecords"), ("resumptionToken", "x"), ("resumptionToken", "y")], "badArgument"),
    ([("verb", "ListRecords"), ("resumptionToken", "x")], "badResumptionToken"),
    ([("verb", "ListIdentifiers"), ("resumptionToken", "")], "badResumptionToken"),
    ([("verb", "ListSets"), ("resumptionToken", "abc")], "badResumptionToken"),
    ([("verb", "Identify"), ("resumptionToken", "abc")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "marc21")], "cannotDisseminateFormat"),
    ([("verb", "ListRecords"), ("metadataPrefix", "<oai_dc>")], "badArgument"),
    ([("verb", "ListRecords"), ("metadataPrefix", "")], "badArgument"),
    (
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "source:nope")],
        "noRecordsMatch",
    ),
    (
        [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("until", "1999-01-01")],
        "noRecordsMatch",
    ),
    ([("verb", "GetRecord"), ("identifier", GOOD_ID)], "badArgument"),
    ([("verb", "GetRecord"), ("metadataPrefix", "oai_dc")], "badArgument"),
    (
        [("verb", "GetRecord"), ("identifier", GOOD_ID), ("metadataPrefix", "marc21")],
        "cannotDisseminateFormat",
    ),
    (
        [
            ("verb", "GetRecord"),
            ("identifier", "oai:catalogue.test.org:nope"),
            ("metadataPrefix", "oai_dc"),
        ],
        "idDoesNotExist",
    ),
    (
        [
            ("verb", "GetRecord"),
            ("identifier", "oai:other.org:" + record_id("zen", "zen-0")),
            ("metadataPrefix", "oai_dc"),
        ],
        "idDoesNotExist",
    ),
    (
        [
            ("verb", "GetRecord"),
            ("identifier", "oai:catalogue.test.org:"),
            ("metadataPrefix", "oai_dc"),
        ],
        "idDoesNotExist",
    ),
    (
        [("verb", "GetRecord"), ("identifier", "not a uri <x>"), ("metadataPrefix", "oai_dc")],
        "badArgument",
    ),
    (
        [("verb", "ListMetadataFormats"), ("identifier", "oai:catalogue.test.org:nope")],
        "idDoesNotExist",
    ),
    (
        [("verb", "ListMetadataFormats"), ("identifier", "oai:catalogue.test.org:" + "a" * 500)],
        "idDoesNotExist",
    ),
    # hostile input: control characters, huge values, markup, odd encodings
    (
        [("verb", "GetRecord"), ("identifier", "oai:x:\x00\x01"), ("metadataPrefix", "oai_dc")],
        "badArgument",
    ),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc\x0b")], "badArgument"),
    ([("verb", "ListRecords"), ("resumptionToken", "A" * 30_000)], "badArgument"),
    ([("verb", "ListRecords"), ("resumptionToken", "\u2603.\u2603")], "badResumptionToken"),
    ([("verb", "ListRecords"), ("resumptionToken", "]]>&<'\"")], "badResumptionToken"),
    ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "x" * 5000)], "badArgument"),
    ([("verb", "Identify"), ("x" * 3000, "1")], "badArgument"),
    ([("verb", "\ud7ff\ue000"), ("metadataPrefix", "oai_dc")], "badVerb"),
]


def _ids(case: tuple[list[tuple[str, str]], str]) -> str:
    return ",".join(f"{k[:12]}={v[:12]!r}" for k, v in case[0]) or "empty"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_error_conditions(oai: OaiServer, corpus: Corpus, case) -> None:
    pairs, code = case
    response = requests.get(oai.url, params=pairs, timeout=30)
    assert response.status_code == 200
    tree = etree.fromstring(response.content)
    errors = tree.findall("o:error", NS)
    assert [e.get("code") for e in errors] == ([code] if code else [])
    request = tree.find("o:request", NS)
    if code in ("badVerb", "badArgument"):
        assert dict(request.attrib) == {}, "badVerb/badArgument echo no arguments"
    else:
        assert request.get("verb") == dict(pairs)["verb"]


def test_errors_by_post_too(oai: OaiServer, corpus: Corpus) -> None:
    for data, code in (
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({}, "badVerb"),
    ):
        tree = etree.fromstring(requests.post(oai.url, data=data, timeout=10).content)
        assert tree.find("o:error", NS).get("code") == code


def test_hostile_bodies_are_oai_errors(oai: OaiServer) -> None:
    big = requests.post(oai.url, data={"verb": "Identify", "padding": "x" * 200_000}, timeout=30)
    assert big.status_code == 200
    assert etree.fromstring(big.content).find("o:error", NS).get("code") == "badArgument"
    junk = requests.post(
        oai.url,
        data=b"\xff\xfe\x00verb=Identify&&&==%zz%",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert junk.status_code == 200
    json_body = requests.post(oai.url, json={"verb": "Identify"}, timeout=10)
    assert etree.fromstring(json_body.content).find("o:error", NS).get("code") == "badVerb"
    raw_query = requests.get(oai.url + "?verb=Identify&%ff%fe=%00%c3%28", timeout=10)
    assert etree.fromstring(raw_query.content).find("o:error", NS).get("code") == "badArgument"


def test_an_empty_store_has_no_records_but_answers(oai: OaiServer) -> None:
    assert oai.error_code(verb="ListRecords", metadataPrefix="oai_dc") == "noRecordsMatch"
    assert oai.error_code(verb="ListSets") is None
    assert oai.error_code(verb="ListMetadataFormats") is None
