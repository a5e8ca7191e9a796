"""The demo OAI-PMH replay server speaks the protocol (over real HTTP)."""

from __future__ import annotations

from pathlib import Path

import requests
from lxml import etree

from catalogue.demo import DEMO_DATA
from catalogue.demo.replay import DEMO_SOURCES, record_counts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "oai-pmh"
NS = {"o": "http://www.openarchives.org/OAI/2.0/"}


def _get(server, path, **params):
    response = requests.get(server.url(path), params=params, timeout=10)
    assert response.status_code == 200
    return etree.fromstring(response.content)


def _error(root):
    found = root.find("o:error", NS)
    return found.get("code") if found is not None else None


def test_demo_record_counts():
    counts = record_counts()
    assert counts["/zenodo/oai"]["oai_dc"] == 104
    assert counts["/zenodo/oai"]["datacite"] == 51
    assert counts["/dspace/oai"]["oai_dc"] == 18
    assert counts["/datacite/oai"]["datacite"] == 32
    assert {s.path for s in DEMO_SOURCES if s.type == "oai"} <= set(counts)


def test_demo_b2share_api_pages_newest_first_and_honours_update_windows(replay):
    import json
    from urllib.request import urlopen

    def search(**params):
        from urllib.parse import urlencode

        with urlopen(replay.url("/b2share/api/records/?" + urlencode(params))) as response:
            return json.load(response)

    first = search(q="", size=5, page=1)
    assert first["hits"]["total"] == 14 and len(first["hits"]["hits"]) == 5
    stamps = [hit["updated"] for hit in first["hits"]["hits"]]
    assert stamps[0].startswith("2017-11-04"), "sort=mostrecent: newest first"
    seen, page = [], first
    while True:
        seen += [hit["id"] for hit in page["hits"]["hits"]]
        if "next" not in page["links"]:
            break
        with urlopen(page["links"]["next"]) as response:
            page = json.load(response)
    assert len(seen) == len(set(seen)) == 14
    window = search(q="updated:[2017-11-03T09:04:47Z TO 2017-11-04T00:00:00Z}", size=10)
    assert window["hits"]["total"] == 3  # 09:04:47.18, 47.91 and 48.10
    assert search(q="updated:[2017-11-04T09:04:48.096744Z TO *]", size=10)["hits"]["total"] == 1
    with urlopen(replay.url("/b2share/api/communities/")) as response:
        assert json.load(response)["hits"]["hits"][0]["name"] == "EUDAT"


def test_list_records_is_paginated_with_cursor_and_size(replay):
    root = _get(replay, "/zenodo/oai", verb="ListRecords", metadataPrefix="oai_dc")
    token = root.find(".//o:resumptionToken", NS)
    assert len(root.findall(".//o:record", NS)) == 25
    assert (token.get("cursor"), token.get("completeListSize")) == ("0", "104")
    identifiers = set()
    while token is not None and token.text:
        identifiers |= {i.text for i in root.iterfind(".//o:header/o:identifier", NS)}
        root = _get(replay, "/zenodo/oai", verb="ListRecords", resumptionToken=token.text)
        token = root.find(".//o:resumptionToken", NS)
    identifiers |= {i.text for i in root.iterfind(".//o:header/o:identifier", NS)}
    assert len(identifiers) == 104
    assert token.get("cursor") == "100" and not token.text


def test_served_record_xml_is_the_recorded_xml(replay):
    recorded = etree.parse(str(DEMO_DATA / "zenodo" / "ListRecords_datacite.xml")).getroot()
    first = recorded.find(".//o:record", NS)
    identifier = first.findtext("o:header/o:identifier", namespaces=NS)
    root = _get(
        replay, "/zenodo/oai", verb="GetRecord", identifier=identifier, metadataPrefix="datacite"
    )
    served = root.find(".//o:record", NS)
    assert etree.tostring(served, method="c14n") == etree.tostring(first, method="c14n")


def test_from_until_and_set_filter_on_headers(replay):
    root = _get(
        replay,
        "/zenodo/oai",
        verb="ListIdentifiers",
        metadataPrefix="oai_dc",
        **{"from": "2026-04-01", "until": "2026-04-01"},
    )
    stamps = [d.text for d in root.iterfind(".//o:datestamp", NS)]
    assert stamps and all(s.startswith("2026-04-01") for s in stamps)
    root = _get(
        replay, "/zenodo/oai", verb="ListIdentifiers", metadataPrefix="oai_dc", set="software"
    )
    headers = root.findall(".//o:header", NS)
    assert headers and all(
        "software" in [s.text for s in h.iterfind("o:setSpec", NS)] for h in headers
    )


def test_protocol_errors(replay):
    cases = [
        ({"verb": "Nonsense"}, "badVerb"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"},
            "badArgument",
        ),
        ({"verb": "ListRecords", "resumptionToken": "not-a-token"}, "badResumptionToken"),
        ({"verb": "ListRecords", "metadataPrefix": "marcxml"}, "cannotDisseminateFormat"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2099-01-01"},
            "noRecordsMatch",
        ),
        (
            {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:nope"},
            "idDoesNotExist",
        ),
    ]
    for params, code in cases:
        assert _error(_get(replay, "/zenodo/oai", **params)) == code, params


def test_day_granularity_repository_refuses_seconds(replay):
    root = _get(
        replay,
        "/sickle/oai",
        verb="ListRecords",
        metadataPrefix="oai_dc",
        **{"from": "2011-01-01T00:00:00Z"},
    )
    assert _error(root) == "badArgument"


def test_identify_and_formats(replay):
    root = _get(replay, "/zenodo/oai", verb="Identify")
    assert root.findtext(".//o:baseURL", namespaces=NS) == replay.url("/zenodo/oai")
    assert root.findtext(".//o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    root = _get(replay, "/zenodo/oai", verb="ListMetadataFormats")
    prefixes = [p.text for p in root.iterfind(".//o:metadataPrefix", NS)]
    assert prefixes == ["oai_dc", "datacite"]
