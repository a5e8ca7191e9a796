"""ListRecords pages parsed incrementally: what a page yields, and its memory (bounded,
measured in a child process; the figures per page size are benchmarks/page_memory_bench.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from catalogue.demo.repository import Repository
from harvester.oai import OAIClient, UnreadableResponse
from mappings import MappingError
from mappings.xml import iterparse_xml
from tests.harvester.conftest import OAI_DC_FORMAT, record_xml

OAI = "http://www.openarchives.org/OAI/2.0/"
ROOT = Path(__file__).resolve().parents[2]


def _repo(records: list[bytes], page_size: int = 100) -> Repository:
    repo = Repository(name="Pages", page_size=page_size, formats={"oai_dc": OAI_DC_FORMAT})
    for record in records:
        repo.add("oai_dc", record)
    return repo


def test_a_page_holds_its_records_as_bytes_in_order(serve, settings) -> None:
    records = [record_xml(f"oai:p:{n}", datetime(2020, 1, 1 + n), f"T{n}") for n in range(5)]
    nested = (  # a payload that itself holds an OAI-namespace <record>: left where it is
        '<wrap xmlns="urn:x"><o:record xmlns:o="http://www.openarchives.org/OAI/2.0/">'
        "<o:header><o:identifier>inner</o:identifier></o:header></o:record></wrap>"
    )
    records.append(record_xml("oai:p:nested", datetime(2020, 2, 1), payload=nested))
    records.append(record_xml("oai:p:gone", datetime(2020, 2, 2), deleted=True))
    server = serve({"/oai": _repo(records)})
    with OAIClient(server.url("/oai"), settings) as client:
        [page] = list(client.iter_pages("oai_dc"))
    assert [r.source_id for r in page.records] == [
        *(f"oai:p:{n}" for n in range(5)),
        "oai:p:nested",
        "oai:p:gone",
    ]
    first = page.records[0]
    assert first.raw.startswith(b"<oai_dc:dc") and b"<dc:title>T0</dc:title>" in first.raw
    assert first.payload.findtext("{http://purl.org/dc/elements/1.1/}title") == "T0"
    inner = page.records[5].payload
    assert inner.tag == "{urn:x}wrap" and inner.find(f"{{{OAI}}}record") is not None
    assert page.records[6].deleted and page.records[6].raw is None
    assert page.records[6].payload is None
    assert page.resumption_token is None


def test_iterparse_refuses_entities_and_broken_documents() -> None:
    def keep(_element: etree._Element) -> bool:
        return True

    laughs = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r><x>&a;</x></r>'
    with pytest.raises(MappingError, match="entities refused"):
        iterparse_xml(laughs, "x", keep)
    utf16 = laughs.decode().replace("1.0", '1.0" encoding="UTF-16').encode("utf-16")
    with pytest.raises(MappingError, match="entities refused"):
        iterparse_xml(utf16, "x", keep)
    with pytest.raises(MappingError, match="not well-formed"):
        iterparse_xml(b"<r><x>1</x><x>2</r>", "x", keep)
    seen: list[str] = []
    doc = b"<r><x>1</x><y/><x>2</x><z/></r>"
    root = iterparse_xml(doc, "x", lambda e: seen.append(e.text) or True)
    assert seen == ["1", "2"] and [c.tag for c in root] == ["z"]  # dropped up to the last x


def test_a_page_broken_half_way_is_repaired_whole(serve, settings) -> None:
    records = [record_xml(f"oai:b:{n}", datetime(2020, 1, 1 + n), f"T{n}") for n in range(4)]
    repo = _repo(records)
    server = serve({"/oai": repo})
    # Records 0 and 1 parse before the control character and the cp1252 byte in record 2.
    broken = "T2 \x0b caf\xe9<".encode("latin-1")
    server.intercept = lambda path, query: (
        200, {"Content-Type": "text/xml"},
        repo.respond(query, server.url(path)).replace(b"T2<", broken),
    )  # fmt: skip
    with OAIClient(server.url("/oai"), settings) as client:
        [page] = list(client.iter_pages("oai_dc"))
    assert [r.source_id for r in page.records] == [f"oai:b:{n}" for n in range(4)]  # once each
    assert any("page repaired" in w for w in page.warnings)
    assert "café" in page.records[2].payload.findtext("{http://purl.org/dc/elements/1.1/}title")


def test_an_html_page_is_not_parsed_as_a_list(serve, settings) -> None:
    server = serve({"/oai": _repo([])})
    server.intercept = lambda path, query: (200, {"Content-Type": "text/html"}, b"<html></html>")
    with (
        OAIClient(server.url("/oai"), settings) as client,
        pytest.raises(UnreadableResponse, match="HTML page"),
    ):
        list(client.iter_pages("oai_dc"))


_CHILD = """
import json, resource, sys
from pathlib import Path
from catalogue.config import load_settings
from dataclasses import replace
from harvester.oai import OAIClient

def rss_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

settings = load_settings({"data_dir": sys.argv[2]}, env={}).harvest
settings = replace(settings, response_timeout=300, timeout=120)
with OAIClient(sys.argv[1], settings) as client:
    client.identify()  # imports and the connection: not the page's
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the peak starts from here
    except OSError:
        pass
    before = rss_kb("VmRSS")
    [page] = list(client.iter_pages("oai_dc"))
    raw = sum(len(r.raw) for r in page.records)
peak = max(rss_kb("VmHWM"), 0)
print(json.dumps({"records": len(page.records), "raw": raw, "growth_kb": peak - before}))
"""


def test_a_large_page_costs_a_small_multiple_of_its_size(serve, tmp_path) -> None:
    records = [record_xml(f"oai:big:{n}", datetime(2020, 1, 1), f"Record {n} " + "x" * 300)
               for n in range(20_000)]  # fmt: skip
    server = serve({"/oai": _repo(records, page_size=len(records))})
    page_bytes = sum(len(r) for r in records)  # the page is a little larger: its envelope
    assert page_bytes > 10_000_000
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, server.url("/oai"), str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["records"] == len(records)
    ratio = figures["growth_kb"] * 1024 / page_bytes
    # Measured 2.3x (the body, the payloads as bytes, the records); the whole tree was 8x.
    assert ratio < 4.5, figures
