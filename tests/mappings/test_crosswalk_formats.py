"""The shared format registry."""

import pytest
from crosswalk_support import assert_xsd_valid, demo_file, fixture
from lxml import etree

from mappings import MappingError
from mappings.datacite import from_datacite
from mappings.export import to_datacite, to_oai_datacite
from mappings.formats import FORMATS, HARVEST_PREFERENCE, Format, map_payload, reader_for_namespace
from mappings.oai_dc import from_oai_dc
from mappings.xml import parse_xml


def test_registry_lists_the_three_formats():
    assert set(FORMATS) == {"oai_datacite", "datacite", "oai_dc"}
    assert HARVEST_PREFERENCE == ("oai_datacite", "datacite", "oai_dc")
    assert FORMATS["oai_dc"].namespace == "http://www.openarchives.org/OAI/2.0/oai_dc/"
    assert FORMATS["datacite"].namespace == "http://datacite.org/schema/kernel-4"
    assert FORMATS["oai_datacite"].namespace == "http://schema.datacite.org/oai/oai-1.1/"
    for prefix, fmt in FORMATS.items():
        assert isinstance(fmt, Format)
        assert fmt.prefix == prefix
        assert fmt.schema.endswith(".xsd")
        assert callable(fmt.reader) and callable(fmt.writer)


@pytest.mark.parametrize(
    ("namespace", "reader"),
    [
        ("http://datacite.org/schema/kernel-2.2", from_datacite),
        ("http://datacite.org/schema/kernel-3", from_datacite),
        ("http://datacite.org/schema/kernel-4", from_datacite),
        ("http://schema.datacite.org/oai/oai-1.0/", from_datacite),
        ("http://schema.datacite.org/oai/oai-1.1/", from_datacite),
        ("http://www.openarchives.org/OAI/2.0/oai_dc/", from_oai_dc),
        ("http://www.loc.gov/METS/", None),
        (None, None),
    ],
)
def test_reader_for_namespace(namespace, reader):
    assert reader_for_namespace(namespace) is reader


def test_map_payload_refuses_unknown_namespaces():
    mets = fixture("oai-pmh/perl-oai-lib/mets.xml")
    payload = next(mets.iter("{http://www.loc.gov/METS/}mets"))
    with pytest.raises(MappingError, match="namespace"):
        map_payload(payload)


def test_writers_produce_what_readers_read():
    resource = demo_file("datacite/xml-kernel-4/datacite-example-dataset-v4.xml")
    metadata, _ = map_payload(resource)
    for fmt in FORMATS.values():
        element = parse_xml(etree.tostring(fmt.writer(metadata)))
        again, _ = map_payload(element)
        assert again["titles"][0] == metadata["titles"][0]


@pytest.mark.parametrize("namespace", ["oai-1.0", "oai-1.1"])
def test_oai_datacite_wrappers_are_unwrapped(namespace):
    resource = demo_file("datacite/xml-kernel-3/datacite-example-full-v3.1.xml")
    wrapper = parse_xml(
        f"<oai_datacite xmlns='http://schema.datacite.org/oai/{namespace}/'>"
        "<schemaVersion>3.1</schemaVersion><datacentreSymbol>X</datacentreSymbol>"
        "<payload/></oai_datacite>".encode()
    )
    wrapper[2].append(resource)
    assert map_payload(wrapper) == map_payload(resource)


def test_oai_datacite_export_wraps_kernel_4():
    element = to_oai_datacite(
        {"titles": [{"title": "t"}], "types": {"resourceTypeGeneral": "Text"}}, fallback_year=2020
    )
    payload = element.find("{http://schema.datacite.org/oai/oai-1.1/}payload")
    assert payload[0].tag == "{http://datacite.org/schema/kernel-4}resource"


DC = (
    '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/">{}</oai_dc:dc>'
)
KERNEL_4 = '<resource xmlns="http://datacite.org/schema/kernel-4">{}</resource>'


def _kernel_4(body: str) -> dict:
    return from_datacite(parse_xml(KERNEL_4.format(body).encode()))[0]


def test_dspace_issued_date_is_the_one_without_a_time():
    # DSpace: dc.date.accessioned and .available (deposit timestamps), then dc.date.issued
    dates = "<dc:date>2012-03-01T10:00:00Z</dc:date>" * 2 + "<dc:date>1953</dc:date>"
    metadata, _ = from_oai_dc(parse_xml(DC.format("<dc:title>T</dc:title>" + dates).encode()))
    assert metadata["publicationYear"] == 1953
    assert {d["date"]: d["dateType"] for d in metadata["dates"]} == {
        "2012-03-01T10:00:00Z": "Other",
        "1953": "Issued",
    }


def test_datacite_descriptions_lose_escaped_html():
    body = (
        "<titles><title>T</title></titles><descriptions>"
        '<description descriptionType="Abstract">&lt;p&gt;About &lt;b&gt;this&lt;/b&gt;'
        "&lt;/p&gt;&lt;p&gt;dataset&lt;/p&gt;</description></descriptions>"
    )
    assert _kernel_4(body)["descriptions"][0]["description"] == "About this dataset"


def test_a_doi_written_as_a_resolver_url_is_kept_bare():
    body = (
        '<identifier identifierType="URL">https://repo.example.org/handle/1</identifier>'
        '<alternateIdentifiers><alternateIdentifier alternateIdentifierType="DOI">'
        "https://doi.org/10.25534/TUdatalib-306</alternateIdentifier></alternateIdentifiers>"
    )
    bare = {"identifier": "10.25534/tudatalib-306", "identifierType": "DOI"}
    assert bare in _kernel_4(body)["identifiers"]


@pytest.mark.parametrize(
    "uri", ["https://example.org/100%", "https://x.org/a%zz", "https://x.org/a#b#c", "::", "1a:b"]
)
def test_uri_attributes_that_are_no_uris_still_give_valid_datacite(uri):
    metadata = {
        "titles": [{"title": "t"}],
        "types": {"resourceTypeGeneral": "Text"},
        "rightsList": [{"rights": "CC", "rightsUri": uri, "schemeUri": uri}],
        "subjects": [{"subject": "s", "valueUri": uri, "classificationCode": uri}],
        "fundingReferences": [{"funderName": "EC", "awardNumber": "1", "awardUri": uri}],
    }
    assert_xsd_valid(to_datacite(metadata, fallback_year=2020), "datacite")


def test_openaire_alternative_identifiers_and_grants():
    # OpenAIRE guidelines (European DSpace, EPrints): the record's DOI and PMID in
    # dc:relation or dc:identifier, its EC grant as a grantAgreement relation
    body = (
        "<dc:title>Effects of X on Y</dc:title>"
        "<dc:identifier>https://repository.example.nl/handle/1887/12345</dc:identifier>"
        "<dc:relation>info:eu-repo/semantics/altIdentifier/doi/10.1016/J.CELL.2019.03.001"
        "</dc:relation>"
        "<dc:relation>info:eu-repo/semantics/altIdentifier/pmid/30928301</dc:relation>"
        "<dc:relation>info:eu-repo/grantAgreement/EC/H2020/654065/EU/Environmental research"
        "/ENVRIPLUS</dc:relation>"
        "<dc:identifier>info:eu-repo/semantics/altIdentifier/doi/10.1016/j.cell.2019.03.001"
        "</dc:identifier>"
    )
    metadata, warnings = from_oai_dc(parse_xml(DC.format(body).encode()))
    assert metadata["identifiers"] == [
        {"identifier": "10.1016/j.cell.2019.03.001", "identifierType": "DOI"},
        {"identifier": "https://repository.example.nl/handle/1887/12345", "identifierType": "URL"},
        {"identifier": "30928301", "identifierType": "PMID"},
    ]
    assert metadata["fundingReferences"] == [
        {
            "funderName": "European Commission",
            "awardNumber": "654065",
            "awardTitle": "Environmental research",
        }
    ]
    assert "relatedIdentifiers" not in metadata
    assert not [w for w in warnings if "dropped" in w]


def test_values_of_characters_xml_cannot_carry_still_give_valid_datacite():
    metadata = {
        "titles": [{"title": "t"}],
        "types": {"resourceTypeGeneral": "Text"},
        "contributors": [{"name": "\x01", "contributorType": "Other"}],
        "fundingReferences": [{"funderName": "\ufffe"}],
        "identifiers": [{"identifier": "\x02", "identifierType": "Other"}],
    }
    assert_xsd_valid(to_datacite(metadata, fallback_year=2020), "datacite")
