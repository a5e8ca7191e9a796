"""canonical -> export -> import keeps titles, names, identifiers, dates and types."""

import pytest
from crosswalk_support import DATACITE_FILES, all_payloads, load
from lxml import etree

from mappings.datacite import from_datacite
from mappings.export import to_datacite, to_oai_dc
from mappings.formats import map_payload
from mappings.oai_dc import from_oai_dc
from mappings.xml import parse_xml

RECORDS = [(f"{p.parent.name}/{p.name}", load(p)) for p in DATACITE_FILES] + all_payloads()[::5]


@pytest.fixture(params=RECORDS, ids=[name for name, _ in RECORDS])
def canonical(request):
    return map_payload(request.param[1])[0]


def reparse(element: etree._Element) -> etree._Element:
    return parse_xml(etree.tostring(element))


def test_datacite_round_trip(canonical):
    again, _ = from_datacite(reparse(to_datacite(canonical)))
    assert again["titles"] == canonical["titles"]
    assert [c["name"] for c in again.get("creators", [])] == [
        c["name"] for c in canonical.get("creators", [])
    ]
    assert again.get("identifiers") == canonical.get("identifiers")
    assert again.get("dates") == canonical.get("dates")
    assert again["types"]["resourceTypeGeneral"] == canonical["types"]["resourceTypeGeneral"]
    assert again.get("publicationYear") == canonical.get("publicationYear")
    assert again.get("fundingReferences") == canonical.get("fundingReferences")
    assert again.get("geoLocations") == canonical.get("geoLocations")
    assert again.get("subjects") == canonical.get("subjects")


def test_oai_dc_round_trip(canonical):
    dc = reparse(to_oai_dc(canonical))
    again, _ = from_oai_dc(dc)
    assert [t["title"] for t in again["titles"]] == [t["title"] for t in canonical["titles"]]
    assert [c["name"] for c in again.get("creators", [])] == [
        c["name"] for c in canonical.get("creators", [])
    ]
    assert [i["identifier"] for i in again.get("identifiers", [])] == [
        i["identifier"] for i in canonical.get("identifiers", [])
    ]
    assert {d["date"] for d in canonical.get("dates", [])} <= {
        d["date"] for d in again.get("dates", [])
    }
    dc_types = [el.text for el in dc.iter("{http://purl.org/dc/elements/1.1/}type")]
    assert dc_types[0] == canonical["types"]["resourceTypeGeneral"]
    assert again["types"]["resourceTypeGeneral"] == canonical["types"]["resourceTypeGeneral"]
