"""Every recorded DataCite/oai_dc record maps, validates canonically, and exports validly."""

import pytest
from crosswalk_support import (
    DATACITE_FILES,
    OAI_RESPONSE_FILES,
    all_payloads,
    assert_xsd_valid,
    load,
)

from catalogue.model import validate_metadata
from mappings import MappingError
from mappings.export import to_datacite, to_oai_datacite, to_oai_dc, to_schema_org
from mappings.formats import map_payload

RECORDS = [(f"{p.parent.name}/{p.name}", load(p)) for p in DATACITE_FILES] + all_payloads()


def test_the_sweep_covers_the_fixtures():
    assert len(DATACITE_FILES) == 32
    assert len(OAI_RESPONSE_FILES) == 11
    assert len(RECORDS) > 200


@pytest.fixture(params=RECORDS, ids=[name for name, _ in RECORDS])
def mapped(request):
    _, element = request.param
    return map_payload(element)


def test_maps_to_valid_canonical_metadata(mapped):
    metadata, warnings = mapped
    assert validate_metadata(metadata) == []
    assert all(isinstance(w, str) and w for w in warnings)


def test_has_no_empty_values(mapped):
    def walk(value):
        assert value not in (None, "", [], {})
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(mapped[0])


def test_datacite_export_is_xsd_valid(mapped):
    assert_xsd_valid(to_datacite(mapped[0]), "datacite")


def test_oai_datacite_export_is_xsd_valid(mapped):
    assert_xsd_valid(to_oai_datacite(mapped[0]), "datacite")


def test_oai_dc_export_is_xsd_valid(mapped):
    assert_xsd_valid(to_oai_dc(mapped[0]), "oai_dc")


def test_schema_org_export_has_the_basics(mapped):
    metadata = mapped[0]
    document = to_schema_org(metadata)
    assert document["@context"] == "https://schema.org"
    assert document["name"] == metadata["titles"][0]["title"] or document["name"]
    doi = next((i for i in metadata.get("identifiers", []) if i["identifierType"] == "DOI"), None)
    if doi:
        assert document["@id"] == f"https://doi.org/{doi['identifier']}"


def test_minimal_record_exports_validly():
    minimal = {"titles": [{"title": "Only a title"}], "types": {"resourceTypeGeneral": "Other"}}
    resource = to_datacite(minimal, fallback_year=2024)
    assert_xsd_valid(resource, "datacite")
    assert_xsd_valid(to_oai_datacite(minimal, fallback_year=2024), "datacite")
    assert_xsd_valid(to_oai_dc(minimal), "oai_dc")
    ns = {"d": "http://datacite.org/schema/kernel-4"}
    assert resource.findtext("d:publisher", namespaces=ns) == "(:unav)"
    assert resource.findtext("d:creators/d:creator/d:creatorName", namespaces=ns) == "(:unav)"
    # no year in the record: the caller's year (when it was published here), never "0000"
    assert resource.findtext("d:publicationYear", namespaces=ns) == "2024"
    with pytest.raises(MappingError, match="no publication year"):
        to_datacite(minimal)


def test_export_survives_awkward_values():
    awkward = {
        "identifiers": [{"identifier": "local-1", "identifierType": "Local"}],
        "titles": [{"title": "Bad \x07char", "lang": "not a language tag"}],
        "types": {"resourceTypeGeneral": "Dataset"},
        "publicationYear": -24,
        "language": "x-klingon-too-long-subtag",
        "contributors": [{"name": "X", "contributorType": "Funder"}],
        "relatedIdentifiers": [
            {"relatedIdentifier": "a", "relatedIdentifierType": "Other", "relationType": "Cites"},
            {"relatedIdentifier": "10.1/x", "relatedIdentifierType": "doi", "relationType": "Odd"},
        ],
        "geoLocations": [
            {"geoLocationPolygon": [{"polygonPoint": {"pointLongitude": 1, "pointLatitude": 2}}]}
        ],
        "fundingReferences": [{"funderName": "F", "funderIdentifier": "x"}],
    }
    resource = to_datacite(awkward, fallback_year=1999)
    assert_xsd_valid(resource, "datacite")
    assert_xsd_valid(to_oai_dc(awkward), "oai_dc")
    ns = {"d": "http://datacite.org/schema/kernel-4"}
    assert resource.findtext("d:identifier", namespaces=ns) == "local-1"
    assert resource.find("d:identifier", namespaces=ns).get("identifierType") == "Local"
