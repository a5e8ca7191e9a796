"""Shared helpers for the crosswalk tests: fixture discovery and offline XSD validation.

A module with a unique name rather than conftest.py contents, so that test modules can import
it without clashing with other folders' conftest modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from lxml import etree

from mappings.xml import parse_xml

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "fixtures"
OAI_NS = "http://www.openarchives.org/OAI/2.0/"

DATACITE_FILES = sorted((FIXTURES / "datacite").glob("xml-*/*.xml"))
OAI_RESPONSE_FILES = sorted(
    [
        *(FIXTURES / "oai-pmh" / "zenodo").glob("ListRecords_*.xml"),
        *(FIXTURES / "oai-pmh" / "zenodo").glob("GetRecord_*.xml"),
        FIXTURES / "oai-pmh" / "dspace-eur-pyoai" / "ListRecords.xml",
        *(FIXTURES / "oai-pmh" / "sickle").glob("ListRecords[0-9]*.xml"),
        FIXTURES / "oai-pmh" / "sickle" / "ListRecords.xml",
    ]
)
MAPPED_NAMESPACES = (
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "http://datacite.org/schema/kernel-4",
    "http://datacite.org/schema/kernel-3",
)


def _load_validator():
    # tests/xsd/validate.py is written to run from its own folder: load it by path.
    spec = importlib.util.spec_from_file_location("xsd_validate", TESTS / "xsd" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.validate


xsd_validate = _load_validator()


def load(path: Path) -> etree._Element:
    return parse_xml(path.read_bytes())


def fixture(relative: str) -> etree._Element:
    return load(FIXTURES / relative)


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
