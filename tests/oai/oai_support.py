"""Helpers of the OAI-PMH provider tests: a validating live server, parsing, test data.

Every response the provider sends while a test runs, whoever asked for it (the test
itself, sickle, scythe, pyoai, node), is validated against OAI-PMH.xsd and its payloads
against oai_dc.xsd / DataCite kernel-4 / provenance.xsd / oai-identifier.xsd by a WSGI
middleware; the fixture fails the test if any response was invalid or not HTTP 200.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from live_server import serve_in_thread
from lxml import etree
from xsd_validator import validate  # tests/xsd/validate.py over the packaged schemas

from catalogue.config import Settings, load_settings
from catalogue.demo import DEMO_DATA
from catalogue.search.indexer import open_index
from catalogue.store import IncomingRecord, Store
from catalogue.web.app import create_app
from mappings.formats import map_payload
from mappings.xml import parse_xml

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
NS = {"o": OAI_NS}
REPO_ID = "catalogue.test.org"
KERNEL4_DIR = DEMO_DATA / "datacite/xml-kernel-4"
KINDS = ("Dataset", "Software", "Image", "Text", "Collection")


@dataclass
class Checked:
    """Every /oai response the server sent, with what was wrong with it."""

    count: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, problem: str | None) -> None:
        with self.lock:
            self.count += 1
            if problem:
                self.problems.append(f"{what}: {problem}")


def validating(app: Callable, checked: Checked) -> Callable:
    """WSGI middleware validating each /oai response body (after undoing its compression)."""

    def middleware(environ: dict[str, Any], start_response: Callable) -> Any:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, dict(headers)
            return start_response(status, headers, exc_info)

        body = b"".join(app(environ, capture))
        path = environ.get("PATH_INFO", "")
        if path == "/oai":
            what = f"{environ['REQUEST_METHOD']} ?{environ.get('QUERY_STRING', '')[:200]}"
            checked.add(what, _problem(captured["status"], captured["headers"], body))
        return [body]

    return middleware


def _problem(status: str, headers: dict[str, str], body: bytes) -> str | None:
    if not status.startswith("200"):
        return f"HTTP {status}"
    encoding = headers.get("Content-Encoding")
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "deflate":
        body = zlib.decompress(body)
    result = validate(body, "oai-pmh")
    if not result:
        return "; ".join(result.errors[:5])
    if result.skipped:
        return "payload without a schema: " + "; ".join(result.skipped[:3])
    return None


@dataclass
class OaiServer:
    url: str
    store: Store
    settings: Settings
    checked: Checked

    def get(self, **params: str) -> etree._Element:
        """GET /oai, asserting HTTP 200; the parsed response document."""
        response = requests.get(self.url, params=params, timeout=30)
        assert response.status_code == 200, response.text[:500]
        return etree.fromstring(response.content)

    def error_code(self, **params: str) -> str | None:
        error = self.get(**params).find("o:error", NS)
        return None if error is None else error.get("code")

    def identifier(self, rid: str) -> str:
        return f"oai:{REPO_ID}:{rid}"

    def harvest(self, verb: str = "ListRecords", **params: str) -> list[etree._Element]:
        """Every <record> (or <header>) of a list, following resumption tokens."""
        items: list[etree._Element] = []
        tree = self.get(verb=verb, **params)
        while True:
            if tree.find("o:error", NS) is not None:
                assert tree.find("o:error", NS).get("code") == "noRecordsMatch"
                return items
            body = tree.find(f"o:{verb}", NS)
            items.extend(body.findall("o:record" if verb == "ListRecords" else "o:header", NS))
            token = body.find("o:resumptionToken", NS)
            if token is None or not (token.text or "").strip():
                return items
            tree = self.get(verb=verb, resumptionToken=token.text)


def header_of(item: etree._Element) -> etree._Element:
    return item if item.tag == f"{{{OAI_NS}}}header" else item.find("o:header", NS)


def local_id(item: etree._Element) -> str:
    return header_of(item).findtext("o:identifier", namespaces=NS).rsplit(":", 1)[1]


def is_deleted(item: etree._Element) -> bool:
    return header_of(item).get("status") == "deleted"


# -- test data ---------------------------------------------------------------------


def metadata(n: int, kind: str) -> dict[str, Any]:
    """DataCite-shaped metadata with the fields the exports write, and awkward text."""
    return {
        "identifiers": [{"identifier": f"10.5555/test.{n}", "identifierType": "DOI"}],
        "creators": [
            {"name": "Doe, Jane", "nameType": "Personal", "givenName": "Jane", "familyName": "Doe"},
            {"name": f'Lab <{n}> & "Partners" \u00e9\u4e2d'},
        ],
        "titles": [{"title": f"Record {n}: a title with <markup> & entities"}],
        "publisher": "Test Repository",
        "publicationYear": 2000 + n % 25,
        "subjects": [{"subject": "testing"}, {"subject": f"topic {n % 5}"}],
        "dates": [{"date": f"{2000 + n % 25}-03-04", "dateType": "Issued"}],
        "types": {"resourceTypeGeneral": kind, "resourceType": f"{kind} thing"},
        "descriptions": [
            {
                "description": f"Description {n}\u0001 with a control char",
                "descriptionType": "Abstract",
            }
        ],
        "rightsList": [
            {"rights": "CC-BY-4.0", "rightsUri": "https://creativecommons.org/licenses/by/4.0/"}
        ],
    }


def item(
    source: str, n: int, *, sets: list[str] | None = None, kind: str | None = None
) -> IncomingRecord:
    return IncomingRecord(
        source_id=f"{source}-{n}",
        metadata=metadata(n, kind or KINDS[n % len(KINDS)]),
        sets=sets if sets is not None else [f"source:{source}"],
        source_datestamp=datetime(2021, 1, 1) + timedelta(days=n),
        raw=f"<x n='{n}'/>".encode(),
        raw_format="oai_dc",
    )


def kernel4_records() -> list[IncomingRecord]:
    """The DataCite kernel-4 example documents, mapped by our inbound crosswalk."""
    out = []
    for path in sorted(KERNEL4_DIR.glob("*.xml")):
        mapped, _warnings = map_payload(parse_xml(path.read_bytes()))
        out.append(
            IncomingRecord(
                source_id=path.stem,
                metadata=mapped,
                sets=["source:dc", "source:dc:examples"],
                source_datestamp=datetime(2019, 5, 6, 7, 8, 9),
                raw=path.read_bytes(),
                raw_format="datacite",
            )
        )
    return out


@dataclass
class Corpus:
    live: set[str]
    deleted: set[str]

    @property
    def all(self) -> set[str]:
        return self.live | self.deleted


def load_corpus(store: Store) -> Corpus:
    """~100 records: three harvested sources with subsets, local records, tombstones."""
    from catalogue.model import record_id

    store.add_source("zen", "oai", "https://zenodo.example.org/oai2d")
    store.add_source("b2", "b2share", "https://b2share.example.org/api")
    store.add_source("dc", "oai", "https://datacite.example.org/oai")
    zen = [
        item("zen", n, sets=["source:zen", "source:zen:user-a"] if n % 3 == 0 else None)
        for n in range(45)
    ]
    store.upsert_page("zen", zen)
    b2 = [item("b2", n, kind="Software") for n in range(25)]
    for record in b2:
        record.raw_format = "b2share-json"  # no XML namespace: no provenance container
    store.upsert_page("b2", b2)
    store.upsert_page("dc", kernel4_records())
    store.upsert_page("local", [item("local", n, sets=[]) for n in range(12)])
    ids = {
        record_id(source, f"{source}-{n}")
        for source, count in (("zen", 45), ("b2", 25), ("local", 12))
        for n in range(count)
    }
    ids |= {record_id("dc", path.stem) for path in KERNEL4_DIR.glob("*.xml")}
    store.mark_deleted("zen", [f"zen-{n}" for n in (1, 2, 10, 33)])
    store.mark_deleted("local", ["local-3"])
    deleted = {record_id("zen", f"zen-{n}") for n in (1, 2, 10, 33)} | {
        record_id("local", "local-3")
    }
    return Corpus(live=ids - deleted, deleted=deleted)


def make_server_fixture(store: Store, tmp_path: Path, page_size: int) -> Iterator[OaiServer]:
    settings = load_settings(
        {
            "data_dir": str(tmp_path),
            "index_dir": str(tmp_path / "index"),
            "search_url": "",
            "secret_key": "test-secret",
            "oai": {"page_size": page_size, "repository_identifier": REPO_ID, "base_url": ""},
        }
    )
    open_index(settings, writer=True).close()  # creates the empty index the app opens
    app = create_app(settings, store=store)
    checked = Checked()
    app.wsgi_app = validating(app.wsgi_app, checked)
    for base in serve_in_thread(app):
        url = base + "/oai"
        yield OaiServer(url, store, settings, checked)
    assert checked.count > 0
    assert not checked.problems, "\n".join(checked.problems[:20])
