"""Shared helpers for the crosswalk tests: fixture discovery and offline XSD validation.

A module with a unique name rather than conftest.py contents, so that test modules can import
it without clashing with other folders' conftest modules."""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from xsd_validator import validate as xsd_validate

from catalogue.demo import DEMO_DATA
from mappings.xml import parse_xml

TESTS = Path(__file__).resolve().parents[1]
# Test-only files; the recorded responses and DataCite examples the demo serves are read
# from the package (DEMO_DATA), their one copy.
FIXTURES = TESTS / "fixtures"
OAI_NS = "http://www.openarchives.org/OAI/2.0/"

DATACITE_FILES = sorted((DEMO_DATA / "datacite").glob("xml-*/*.xml"))
OAI_RESPONSE_FILES = sorted(
    [
        *(DEMO_DATA / "zenodo").glob("ListRecords_*.xml"),
        *(DEMO_DATA / "zenodo").glob("GetRecord_*.xml"),
        DEMO_DATA / "dspace" / "ListRecords.xml",
        *(DEMO_DATA / "sickle").glob("ListRecords[0-9]*.xml"),
        DEMO_DATA / "sickle" / "ListRecords.xml",
    ]
)
MAPPED_NAMESPACES = (
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "http://datacite.org/schema/kernel-4",
    "http://datacite.org/schema/kernel-3",
)


def load(path: Path) -> etree._Element:
    return parse_xml(path.read_bytes())


def fixture(relative: str) -> etree._Element:
    return load(FIXTURES / relative)


def demo_file(relative: str) -> etree._Element:
    return load(DEMO_DATA / relative)


def payloads(path: Path) -> list[tuple[str, etree._Element]]:
    """(OAI identifier, payload root) for every mappable record in an OAI-PMH response."""
    root = load(path)
    found = []
    for record in root.iter(f"{{{OAI_NS}}}record"):
        ident = record.findtext(f"{{{OAI_NS}}}header/{{{OAI_NS}}}identifier")
        metadata = record.find(f"{{{OAI_NS}}}metadata")
        if metadata is None:
            continue
        for child in metadata:
            if isinstance(child.tag, str) and etree.QName(child).namespace in MAPPED_NAMESPACES:
                found.append((ident, child))
    return found


def all_payloads() -> list[tuple[str, etree._Element]]:
    return [
        (f"{path.parent.name}/{path.name}#{ident}", element)
        for path in OAI_RESPONSE_FILES
        for ident, element in payloads(path)
    ]


def assert_xsd_valid(element: etree._Element, kind: str) -> None:
    result = xsd_validate(etree.tostring(element), kind)
    assert result, result.errors
