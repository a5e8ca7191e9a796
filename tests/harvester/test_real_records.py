"""Every real record in tests/fixtures/real-records maps, or fails with a reason that names
what the record lacks; and a harvest of all of them in mixed pages loses none to another's
quirk (record-level tolerance)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from catalogue.demo.repository import Repository
from catalogue.model import record_id, validate_metadata
from catalogue.store import Store
from harvester.harvest import harvest_source
from harvester.oai import OAI_NS, parse_record
from mappings import MappingError
from mappings.formats import map_payload
from mappings.xml import parse_xml

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real-records"
FILES = sorted(REAL.rglob("*.xml"))
_RECORD = f"{{{OAI_NS}}}record"
# Why a record may fail: each names what the record lacks (a format we read).
REASONS = (
    "the record has no oai_datacite, datacite or oai_dc metadata",
    "has no namespace of its own",
)
# Files whose records this catalogue cannot read, by design: (folder, the format they have)
UNREADABLE = {
    "deims": "ISO 19139",
    "enes-iso": "ISO 19139",
    "envidat-iso19139": "ISO 19139",
    "wdcc": "ISO 19139",
    "pdc": "FGDC without a namespace",
}


def _payloads(path: Path) -> list[tuple[str, etree._Element | None]]:
    """(identifier, payload as the harvester hands it over) of every live record of a file:
    a response, a bare <record>, or a bare metadata document."""
    root = parse_xml(path.read_bytes())
    if root.tag != _RECORD and etree.QName(root).namespace != OAI_NS:
        return [(path.name, root)]
    nodes = [root] if root.tag == _RECORD else list(root.iter(_RECORD))
    found = []
    for node in nodes:
        record = parse_record(node)
        if record is None:
            found.append((f"{path.name}: a record without an identifier", None))
        elif not record.deleted:
            found.append((record.source_id, record.payload))
    return found


def _cases() -> list[tuple[str, str, etree._Element | None]]:
    return [
        (str(path.relative_to(REAL)), ident, payload)
        for path in FILES
        for ident, payload in _payloads(path)
    ]


CASES = _cases()


def test_the_collection_is_large_and_varied() -> None:
    origins = {path.relative_to(REAL).parts[0] for path in FILES}
    assert origins >= {"b2find", "ckanext-oaipmh", "hepcrawl", "pyoai"}
    mapped = [case for case in CASES if case[2] is not None and _maps(case[2])]
    assert len(mapped) >= 100
    # the B2FIND folders are one provider (and platform) each; the others add more
    providers = {Path(name).parent for name, _, _ in mapped}
    assert len(providers) >= 20
    for path in FILES:
        assert (path.parent / "SOURCES.md").exists() or (path.parent.parent / "SOURCES.md").exists()


def _maps(payload: etree._Element) -> bool:
    try:
        map_payload(payload)
    except MappingError:
        return False
    return True


@pytest.mark.parametrize(("name", "ident", "payload"), CASES, ids=[f"{c[0]}#{c[1]}" for c in CASES])
def test_every_real_record_maps_or_says_what_it_lacks(name: str, ident: str, payload) -> None:
    if payload is None:
        assert "without an identifier" in ident  # the harvester skips it with a warning
        return
    try:
        metadata, warnings = map_payload(payload)
    except MappingError as exc:
        assert any(reason in str(exc) for reason in REASONS), str(exc)
        folder = Path(name).parts[-2]
        assert folder in UNREADABLE or folder in ("hepcrawl", "ckanext-oaipmh"), (name, exc)
        return
    assert validate_metadata(metadata) == [], name
    assert all(isinstance(w, str) and w for w in warnings)
    if metadata["titles"][0]["title"] == "(:unav)":  # stored, and the gap reported
        assert "missing mandatory property title; using '(:unav)'" in warnings


def test_dspace_oai_datacite_without_payload_maps() -> None:
    """TUdatalib (DSpace) writes <resource> straight under <oai_datacite>."""
    (path,) = (REAL / "b2find" / "tudatalib").glob("*.xml")
    ((_, payload),) = _payloads(path)
    assert etree.QName(payload).localname == "oai_datacite"
    assert payload.find("{http://schema.datacite.org/oai/oai-1.0/}payload") is None
    metadata, _ = map_payload(payload)
    assert metadata["identifiers"][0] == {
        "identifier": "https://tudatalib.ulb.tu-darmstadt.de/handle/tudatalib/2460",
        "identifierType": "URL",
    }
    assert metadata["creators"] and metadata["publicationYear"] and metadata["titles"]


def test_namespace_slips_are_repaired_and_reported() -> None:
    (hzb,) = (REAL / "b2find" / "hzb_inv").glob("*.xml")
    ((_, payload),) = _payloads(hzb)
    metadata, warnings = map_payload(payload)
    assert metadata["identifiers"][0] == {
        "identifier": "21.11151/74ix-jvpa",
        "identifierType": "Handle",
    }
    assert "DataCite <resource> without its namespace declaration" in warnings
    for path in (REAL / "b2find" / "slks-oai_dc").glob("*.xml"):
        ((_, payload),) = _payloads(path)
        metadata, warnings = map_payload(payload)
        assert metadata["titles"] and "dc elements without an oai_dc:dc wrapper" in warnings


def test_a_harvest_of_every_real_record_in_mixed_pages(store: Store, serve, settings) -> None:
    """Pages of 7 mixing readable and unreadable records: each record's fate is its own."""
    repo = Repository(
        name="Real records", page_size=7, formats={"oai_dc": ("http://x/oai_dc.xsd", OAI_NS)}
    )
    expected = Counter()
    for path in FILES:
        root = parse_xml(path.read_bytes())
        nodes = [root] if root.tag == _RECORD else list(root.iter(_RECORD))
        for node in nodes:
            record = parse_record(node)
            if record is None or record.deleted or record.source_id in expected:
                continue
            repo.add("oai_dc", etree.tostring(node))
            expected[record.source_id] = _maps(record.payload)
    server = serve({"/oai": repo})
    store.add_source("real", "oai-pmh", server.url("/oai"), metadata_prefix="oai_dc")
    run = harvest_source(store, "real", settings)
    assert run.status == "succeeded", run.message
    good = [ident for ident, ok in expected.items() if ok]
    assert run.counts.added == len(good) >= 100
    assert run.counts.failed == len(expected) - len(good) > 0
    for ident in good:
        assert store.get_record(record_id("real", ident)) is not None, ident
    failures = [e for e in store.run_errors(run.id) if e.severity == "error"]
    assert {e.source_id for e in failures} == {i for i, ok in expected.items() if not ok}
    assert all(any(reason in e.reason for reason in REASONS) for e in failures)
