"""The six verbs against a live provider over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from datetime import datetime

import requests
from lxml import etree
from oai_support import (
    NS,
    REPO_ID,
    Corpus,
    OaiServer,
    header_of,
    is_deleted,
    item,
    local_id,
)

from catalogue.model import record_id

DC = "{http://purl.org/dc/elements/1.1/}"
KERNEL4 = "{http://datacite.org/schema/kernel-4}"
PROV = {"p": "http://www.openarchives.org/OAI/2.0/provenance"}


def test_identify(oai: OaiServer, corpus: Corpus) -> None:
    tree = oai.get(verb="Identify")
    identify = tree.find("o:Identify", NS)
    assert identify.findtext("o:baseURL", namespaces=NS) == oai.url
    assert identify.findtext("o:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("o:deletedRecord", namespaces=NS) == "persistent"
    assert identify.findtext("o:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    earliest = identify.findtext("o:earliestDatestamp", namespaces=NS)
    stamps = [r.datestamp for r in oai.store.get_records(corpus.all).values()]
    assert earliest == min(stamps).strftime("%Y-%m-%dT%H:%M:%SZ")
    oai_id = "{http://www.openarchives.org/OAI/2.0/oai-identifier}"
    assert identify.findtext(f".//{oai_id}repositoryIdentifier") == REPO_ID
    assert identify.findtext(f".//{oai_id}sampleIdentifier").startswith(f"oai:{REPO_ID}:")
    assert tree.find("o:request", NS).get("verb") == "Identify"


def test_identify_on_an_empty_store(oai: OaiServer) -> None:
    assert oai.get(verb="Identify").find(".//o:earliestDatestamp", NS) is not None


def test_list_metadata_formats(oai: OaiServer, corpus: Corpus) -> None:
    prefixes = oai.get(verb="ListMetadataFormats").xpath("//o:metadataPrefix/text()", namespaces=NS)
    assert prefixes == ["oai_dc", "oai_datacite", "datacite"]
    one = oai.identifier(sorted(corpus.live)[0])
    tree = oai.get(verb="ListMetadataFormats", identifier=one)
    assert tree.xpath("//o:metadataPrefix/text()", namespaces=NS) == prefixes
    assert tree.find("o:request", NS).get("identifier") == one
    gone = oai.identifier(sorted(corpus.deleted)[0])
    assert oai.error_code(verb="ListMetadataFormats", identifier=gone) is None


def test_list_sets_names_every_set_with_a_description(oai: OaiServer, corpus: Corpus) -> None:
    sets = oai.get(verb="ListSets").findall(".//o:set", NS)
    specs = [s.findtext("o:setSpec", namespaces=NS) for s in sets]
    for expected in (
        "source",
        "source:zen",
        "source:zen:user-a",
        "source:b2",
        "source:dc:examples",
        "type",
        "type:Dataset",
        "type:Software",
    ):
        assert expected in specs
    assert specs == sorted(specs)
    assert all(s.find("o:setDescription", NS) is not None for s in sets)
    zen = sets[specs.index("source:zen")]
    assert "zenodo.example.org" in zen.findtext(".//" + DC + "description")


def test_list_records_delivers_every_record_and_tombstone_once(
    oai: OaiServer, corpus: Corpus
) -> None:
    records = oai.harvest("ListRecords", metadataPrefix="oai_dc")
    ids = [local_id(r) for r in records]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == corpus.all
    assert {local_id(r) for r in records if is_deleted(r)} == corpus.deleted
    for record in records:
        has_metadata = record.find("o:metadata", NS) is not None
        assert has_metadata != is_deleted(record)
    keys = [(header_of(r).findtext("o:datestamp", namespaces=NS), local_id(r)) for r in records]
    assert keys == sorted(keys), "keyset order: datestamp, then id"


def test_pages_carry_cursor_and_complete_list_size(oai: OaiServer, corpus: Corpus) -> None:
    tree = oai.get(verb="ListIdentifiers", metadataPrefix="oai_dc")
    cursor, seen = 0, 0
    while True:
        body = tree.find("o:ListIdentifiers", NS)
        headers = body.findall("o:header", NS)
        token = body.find("o:resumptionToken", NS)
        assert len(headers) == 7 or not (token.text or "").strip()
        assert int(token.get("cursor")) == cursor
        assert int(token.get("completeListSize")) == len(corpus.all)
        seen += len(headers)
        cursor += len(headers)
        if not (token.text or "").strip():
            break
        tree = oai.get(verb="ListIdentifiers", resumptionToken=token.text)
    assert seen == len(corpus.all)


def test_single_page_lists_need_no_token(oai: OaiServer, corpus: Corpus) -> None:
    body = oai.get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="source:dc:examples")
    headers = body.findall(".//o:header", NS)
    assert 0 < len(headers) <= 7 or body.find(".//o:resumptionToken", NS) is not None


def test_list_identifiers_match_list_records(oai: OaiServer, corpus: Corpus) -> None:
    headers = oai.harvest("ListIdentifiers", metadataPrefix="oai_datacite")
    records = oai.harvest("ListRecords", metadataPrefix="oai_datacite")
    as_text = [etree.tostring(h) for h in headers]
    assert as_text == [etree.tostring(header_of(r)) for r in records]


def test_headers_carry_the_record_set_specs(oai: OaiServer, corpus: Corpus) -> None:
    rid = record_id("zen", "zen-3")
    tree = oai.get(verb="GetRecord", identifier=oai.identifier(rid), metadataPrefix="oai_dc")
    specs = tree.xpath("//o:header/o:setSpec/text()", namespaces=NS)
    kind = oai.store.get_record(rid).metadata["types"]["resourceTypeGeneral"]
    assert specs == sorted(["source", "source:zen", "source:zen:user-a", "type", f"type:{kind}"])


def test_set_restriction_follows_the_hierarchy(oai: OaiServer, corpus: Corpus) -> None:
    def ids(spec: str) -> set[str]:
        return {
            local_id(h) for h in oai.harvest("ListIdentifiers", metadataPrefix="oai_dc", set=spec)
        }

    zen_all = {rid for rid in corpus.all if oai.store.get_record(rid).source == "zen"}
    assert ids("source:zen") == zen_all
    user_a = ids("source:zen:user-a")
    assert user_a == {record_id("zen", f"zen-{n}") for n in range(0, 45, 3)}
    assert ids("type:Software") >= {record_id("b2", f"b2-{n}") for n in range(25)}
    assert ids("source") == ids("type") == corpus.all
    assert oai.error_code(verb="ListIdentifiers", metadataPrefix="oai_dc", set="source:nope") == (
        "noRecordsMatch"
    )
    for header in oai.harvest("ListIdentifiers", metadataPrefix="oai_dc", set="source:zen:user-a"):
        assert "source:zen:user-a" in header.xpath("o:setSpec/text()", namespaces=NS)


def test_from_until_are_inclusive_in_both_granularities(oai: OaiServer, monkeypatch) -> None:
    import harvester.clock

    days = [datetime(2024, 5, d, 12, 0, 0) for d in (1, 2, 3)]
    for n, day in enumerate(days):
        monkeypatch.setattr(harvester.clock, "utcnow", lambda day=day: day)
        oai.store.upsert_page("zen", [item("zen", n)])

    def stamps(**dates: str) -> list[str]:
        headers = oai.harvest("ListIdentifiers", metadataPrefix="oai_dc", **dates)
        return [h.findtext("o:datestamp", namespaces=NS)[:10] for h in headers]

    assert stamps(**{"from": "2024-05-02"}) == ["2024-05-02", "2024-05-03"]
    assert stamps(until="2024-05-02") == ["2024-05-01", "2024-05-02"]
    assert stamps(**{"from": "2024-05-02", "until": "2024-05-02"}) == ["2024-05-02"]
    exact = {"from": "2024-05-02T12:00:00Z", "until": "2024-05-02T12:00:00Z"}
    assert stamps(**exact) == ["2024-05-02"]
    after = {"from": "2024-05-02T12:00:01Z", "until": "2024-05-03T11:59:59Z"}
    assert oai.error_code(verb="ListIdentifiers", metadataPrefix="oai_dc", **after) == (
        "noRecordsMatch"
    )


def test_get_record_in_every_format(oai: OaiServer, corpus: Corpus) -> None:
    rid = record_id("zen", "zen-4")
    ident = oai.identifier(rid)
    dc = oai.get(verb="GetRecord", identifier=ident, metadataPrefix="oai_dc")
    assert dc.findtext(f".//{DC}title") == "Record 4: a title with <markup> & entities"
    assert "10.5555/test.4" in " ".join(dc.xpath("//*[local-name()='identifier']/text()"))
    for prefix in ("oai_datacite", "datacite"):
        tree = oai.get(verb="GetRecord", identifier=ident, metadataPrefix=prefix)
        assert tree.findtext(f".//{KERNEL4}identifier") == "10.5555/test.4"
        assert tree.find("o:request", NS).get("metadataPrefix") == prefix


def test_deleted_records_are_headers_forever(oai: OaiServer, corpus: Corpus) -> None:
    rid = record_id("local", "local-3")
    tree = oai.get(verb="GetRecord", identifier=oai.identifier(rid), metadataPrefix="oai_dc")
    record = tree.find(".//o:record", NS)
    assert record.find("o:header", NS).get("status") == "deleted"
    assert record.find("o:metadata", NS) is None
    # Removing the whole source tombstones its records too; they stay listed.
    oai.store.remove_source("b2")
    headers = oai.harvest("ListIdentifiers", metadataPrefix="oai_dc", set="source:b2")
    assert len(headers) == 25 and all(h.get("status") == "deleted" for h in headers)


def test_provenance_of_harvested_records(oai: OaiServer, corpus: Corpus) -> None:
    def about(source: str, sid: str) -> etree._Element | None:
        ident = oai.identifier(record_id(source, sid))
        tree = oai.get(verb="GetRecord", identifier=ident, metadataPrefix="oai_dc")
        return tree.find(".//o:about/p:provenance/p:originDescription", {**NS, **PROV})

    origin = about("zen", "zen-5")
    assert origin.findtext("p:baseURL", namespaces=PROV) == "https://zenodo.example.org/oai2d"
    assert origin.findtext("p:identifier", namespaces=PROV) == "zen-5"
    assert origin.findtext("p:datestamp", namespaces=PROV) == "2021-01-06T00:00:00Z"
    assert origin.findtext("p:metadataNamespace", namespaces=PROV) == (
        "http://www.openarchives.org/OAI/2.0/oai_dc/"
    )
    assert origin.get("altered") == "true"
    dc_origin = about("dc", "datacite-example-full-v4")
    assert dc_origin.findtext("p:metadataNamespace", namespaces=PROV) == (
        "http://datacite.org/schema/kernel-4"
    )
    assert about("local", "local-0") is None, "ingested records have no origin elsewhere"
    assert about("b2", "b2-0") is None, "JSON payloads have no metadata namespace"


def test_post_is_answered_like_get(oai: OaiServer, corpus: Corpus) -> None:
    data = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "source:zen:user-a"}
    posted = requests.post(oai.url, data=data, timeout=10)
    assert posted.status_code == 200
    tree = etree.fromstring(posted.content)
    got = oai.get(**data)
    assert tree.xpath("//o:identifier/text()", namespaces=NS) == got.xpath(
        "//o:identifier/text()", namespaces=NS
    )


def test_compression_when_asked(oai: OaiServer, corpus: Corpus) -> None:
    params = {"verb": "ListRecords", "metadataPrefix": "oai_datacite"}
    plain = requests.get(
        oai.url, params=params, headers={"Accept-Encoding": "identity"}, timeout=10
    )
    assert "Content-Encoding" not in plain.headers
    for encoding, unpack in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
        raw = requests.get(
            oai.url, params=params, headers={"Accept-Encoding": encoding}, timeout=10, stream=True
        )
        assert raw.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in raw.headers["Vary"]
        body = unpack(raw.raw.read())
        assert len(body) > 4 * int(raw.headers["Content-Length"])
        strip = [
            etree.tostring(etree.fromstring(b).find("o:ListRecords", NS))
            for b in (body, plain.content)
        ]
        assert strip[0] == strip[1]


def test_stylesheet_is_served(oai: OaiServer) -> None:
    response = requests.get(oai.url, params={"verb": "Identify"}, timeout=10)
    assert b'<?xml-stylesheet type="text/xsl" href="/oai/static/oai2.xsl"?>' in response.content
    xsl = requests.get(oai.url.replace("/oai", "/oai/static/oai2.xsl"), timeout=10)
    assert xsl.status_code == 200
    html = etree.XSLT(etree.fromstring(xsl.content))(etree.fromstring(response.content))
    assert "Identify" in str(html)


def test_base_url_from_a_public_host_header_warns_once(oai: OaiServer, caplog) -> None:
    """Without oai.base_url the baseURL is the URL requested: right on localhost, but a
    public provider must configure it (its Host header is the client's to choose)."""
    caplog.set_level("WARNING", logger="catalogue.web.oai.provider")

    def base_url(host: str | None) -> str:
        headers = {"Host": host} if host else {}
        r = requests.get(oai.url, params={"verb": "Identify"}, headers=headers, timeout=30)
        assert r.status_code == 200
        return etree.fromstring(r.content).findtext("o:request", namespaces=NS)

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if "oai.base_url is empty" in r.getMessage()]

    assert base_url(None) == oai.url  # 127.0.0.1:<port>
    assert base_url("localhost:8080") == "http://localhost:8080/oai"
    assert base_url("[::1]:8080") == "http://[::1]:8080/oai"
    assert warnings() == []
    assert base_url("catalogue.example.org") == "http://catalogue.example.org/oai"
    assert base_url("evil.example") == "http://evil.example/oai"
    (message,) = warnings()
    assert "CATALOGUE_OAI_BASE_URL" in message and "catalogue.example.org" in message
