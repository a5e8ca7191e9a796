"""Golden checks of the important fields for specific fixtures (values read off the files)."""

from crosswalk_support import FIXTURES, demo_file, payloads

from catalogue.demo import DEMO_DATA
from mappings.datacite import from_datacite
from mappings.oai_dc import from_oai_dc


def dc(path: str, index: int = 0):
    return from_oai_dc(payloads(path)[index][1])


def dcite(path: str):
    return from_datacite(demo_file(path))


def test_kernel4_full():
    md, _ = dcite("datacite/xml-kernel-4/datacite-example-full-v4.xml")
    assert md["identifiers"][0] == {"identifier": "10.82433/b09z-4k37", "identifierType": "DOI"}
    assert {"identifier": "12345", "identifierType": "Local accession number"} in md["identifiers"]
    assert md["titles"][0] == {"title": "Example Title", "lang": "en"}
    assert md["titles"][1]["titleType"] == "Subtitle"
    creator = md["creators"][0]
    assert creator["name"] == "ExampleFamilyName, ExampleGivenName"
    assert creator["nameType"] == "Personal"
    assert (
        creator["nameIdentifiers"][0]["nameIdentifier"] == "https://orcid.org/0000-0001-5727-2427"
    )
    assert creator["affiliation"][0]["affiliationIdentifier"] == "https://ror.org/04wxnsj81"
    assert md["creators"][1]["nameType"] == "Organizational"
    assert md["publisher"] == "Example Publisher"
    assert md["publicationYear"] == 2024
    assert md["types"] == {"resourceTypeGeneral": "Dataset", "resourceType": "Example ResourceType"}
    assert md["subjects"][1]["classificationCode"] == "461001"
    assert {"date": "2024-01-01/2024-12-31", "dateType": "Collected"} in md["dates"]
    assert {
        "date": "2024-01-01",
        "dateType": "Other",
        "dateInformation": "ExampleDateInformation",
    } in md["dates"]
    assert len(md["contributors"]) == 22
    assert md["rightsList"][0]["rightsUri"] == "https://creativecommons.org/licenses/by/4.0/"
    assert md["rightsList"][0]["rightsIdentifier"] == "CC-BY-4.0"
    assert md["fundingReferences"][0] == {
        "funderName": "Example Funder",
        "funderIdentifier": "https://doi.org/10.13039/501100000780",
        "funderIdentifierType": "Crossref Funder ID",
        "awardNumber": "12345",
        "awardUri": "https://example.com/example-award-uri",
        "awardTitle": "Example AwardTitle",
    }
    geo = md["geoLocations"][0]
    assert geo["geoLocationPoint"] == {"pointLongitude": -123.1207, "pointLatitude": 49.2827}
    assert geo["geoLocationBox"]["southBoundLatitude"] == 49.195
    assert len(geo["geoLocationPolygon"]) == 5
    assert md["sizes"] == ["1 MB", "90 pages"]
    assert md["version"] == "1"
    assert md["language"] == "en"


def test_kernel3_full_geo_strings_and_orcid():
    md, warnings = dcite("datacite/xml-kernel-3/datacite-example-full-v3.1.xml")
    assert warnings == []
    assert md["creators"][0]["nameIdentifiers"][0]["nameIdentifier"] == (
        "https://orcid.org/0000-0001-5000-0007"
    )
    assert md["contributors"][0]["nameIdentifiers"][0]["nameIdentifier"] == (
        "https://orcid.org/0000-0002-7285-027X"
    )
    assert md["language"] == "en"
    assert md["types"]["resourceTypeGeneral"] == "Software"
    geo = md["geoLocations"][0]
    assert geo["geoLocationPoint"] == {"pointLatitude": 31.233, "pointLongitude": -67.302}
    assert geo["geoLocationBox"] == {
        "southBoundLatitude": 41.09,
        "westBoundLongitude": -71.032,
        "northBoundLatitude": 42.893,
        "eastBoundLongitude": -68.211,
    }


def test_kernel3_geolocation_point_order_is_lat_lon():
    md, _ = dcite("datacite/xml-kernel-3/datacite-example-GeoLocation-v3.0.xml")
    geo = md["geoLocations"][0]
    assert geo["geoLocationPlace"] == "Disko Bay"
    assert geo["geoLocationPoint"] == {"pointLatitude": -52.0, "pointLongitude": 69.0}
    assert md["creators"][1]["name"] == "Völker, David"


def test_kernel4_funding_reference():
    md, _ = dcite("datacite/xml-kernel-4/datacite-example-fundingReference-v4.xml")
    assert md["fundingReferences"]
    assert all(f["funderName"] for f in md["fundingReferences"])
    assert any(f.get("awardNumber") for f in md["fundingReferences"])


def test_kernel4_ancient_dates():
    md, _ = dcite("datacite/xml-kernel-4/datacite-example-ancientdates-v4.xml")
    assert md["dates"] == [
        {"date": "-0024/-0022", "dateType": "Created", "dateInformation": "from 25 BC to 23 BC"}
    ]
    assert md["types"] == {"resourceTypeGeneral": "PhysicalObject", "resourceType": "Coin"}


def test_kernel47_poster_becomes_text():
    md, _ = dcite("datacite/xml-kernel-4/datacite-example-poster-v4.xml")
    assert md["types"] == {"resourceTypeGeneral": "Text", "resourceType": "Conference poster"}
    assert md["creators"][0]["affiliation"][0]["name"] == "Arizona State University"
    assert md["creators"][0]["nameIdentifiers"][0]["nameIdentifier"] == (
        "https://orcid.org/0000-0001-5727-2427"
    )


def test_kernel22_quirks():
    md, _ = dcite("datacite/xml-quirks-bolognese/datacite-empty-sizes.xml")
    assert md["identifiers"] == [
        {"identifier": "10.13116/c6b6060e-0648-4f88-b108-95ea00928171", "identifierType": "DOI"}
    ]
    assert "sizes" not in md
    assert "rightsList" not in md
    assert "dates" not in md
    assert md["fundingReferences"] == [{"funderName": "EvK2 CNR Committee"}]
    assert "contributors" not in md
    assert md["types"] == {"resourceTypeGeneral": "Dataset"}


def test_blank_publisher_is_reported():
    md, warnings = dcite("datacite/xml-quirks-bolognese/datacite_blank_publisher.xml")
    assert "publisher" not in md
    assert "missing mandatory property publisher" in warnings
    assert md["types"]["resourceTypeGeneral"] == "JournalArticle"


def test_malformed_creator_is_split():
    md, warnings = dcite("datacite/xml-quirks-bolognese/datacite_malformed_creator.xml")
    assert [c["name"] for c in md["creators"]] == [
        "Grošelj, Blaž",
        "Oražem, Miha",
        "Kovač, Viljem",
    ]
    assert md["creators"][2]["givenName"] == "Viljem"
    assert any("malformed creator" in w for w in warnings)
    assert md["language"] == "sl"


def test_missing_creator_is_reported():
    md, warnings = dcite("datacite/xml-quirks-bolognese/datacite_missing_creator.xml")
    assert "creators" not in md
    assert "missing mandatory property creator" in warnings
    assert md["identifiers"][0]["identifier"] == "10.5438/4k3m-nyvg"


def test_escaped_text_and_iso639_2_language():
    md, _ = dcite("datacite/xml-quirks-bolognese/datacite-example-escaped-text.xml")
    assert md["titles"][0]["title"] == "Some initial text<the rest of the text won't display."
    assert md["subjects"][0]["subject"] == "830 German & related literatures"
    assert md["language"] == "de"
    assert md["contributors"][0]["nameIdentifiers"][0]["nameIdentifier"] == (
        "https://orcid.org/0000-0001-5393-1421"
    )


def test_xml_lang_is_kept():
    md, _ = dcite("datacite/xml-quirks-bolognese/datacite-xml-lang.xml")
    assert md["titles"][0] == {"title": "DOI Test 2 title content", "lang": "en"}
    assert {"date": "2004-01-19/2015-12-31", "dateType": "Valid"} in md["dates"]


def test_nist_doi_url_is_normalised():
    md, _ = dcite("datacite/xml-quirks-bolognese/nist.xml")
    assert md["identifiers"][0] == {"identifier": "10.5072/m32163", "identifierType": "DOI"}
    assert md["identifiers"][1] == {
        "identifier": "7CE9D6400C0A30C9E053B357068182C92163",
        "identifierType": "text",
    }
    assert md["creators"][0]["nameType"] == "Personal"


def test_empty_geolocation_is_dropped():
    md, _ = dcite("datacite/xml-quirks-bolognese/datacite-geolocation-empty.xml")
    assert md["geoLocations"] == [
        {"geoLocationPoint": {"pointLongitude": -68.2975, "pointLatitude": -11.64583333}}
    ]


def test_zenodo_datacite_record():
    md, _ = from_datacite(payloads(DEMO_DATA / "zenodo/GetRecord_datacite.xml")[0][1])
    assert md["identifiers"][0] == {
        "identifier": "10.5281/zenodo.10357859",
        "identifierType": "DOI",
    }
    assert md["creators"][0]["name"] == "Klar, Jochen"
    assert md["creators"][0]["nameIdentifiers"] == [
        {
            "nameIdentifier": "https://orcid.org/0000-0002-5883-4273",
            "nameIdentifierScheme": "ORCID",
            "schemeUri": "https://orcid.org",
        }
    ]


def test_zenodo_oai_dc_article():
    md, warnings = dc(DEMO_DATA / "zenodo/ListRecords_oai_dc_from_until.xml")
    assert md["identifiers"] == [
        {"identifier": "10.5281/zenodo.19355137", "identifierType": "DOI"},
        {"identifier": "oai:zenodo.org:19355137", "identifierType": "OAI"},
    ]
    assert md["types"] == {
        "resourceTypeGeneral": "JournalArticle",
        "resourceType": "info:eu-repo/semantics/article",
    }
    assert md["publicationYear"] == 2025
    assert md["dates"] == [{"date": "2025", "dateType": "Issued"}]
    assert {"rightsUri": "info:eu-repo/semantics/openAccess"} in md["rightsList"]
    # licences get their SPDX id beside the URI as harvested (issue 14)
    assert {
        "rightsUri": "https://creativecommons.org/licenses/by/4.0/legalcode",
        "rightsIdentifier": "CC-BY-4.0",
        "rightsIdentifierScheme": "SPDX",
        "schemeUri": "https://spdx.org/licenses/",
    } in md["rightsList"]
    assert {
        "relatedIdentifier": "10.5281/zenodo.19355136",
        "relatedIdentifierType": "DOI",
        "relationType": "Other",
    } in md["relatedIdentifiers"]
    # Zenodo sends entity-escaped HTML in dc:description.
    assert md["descriptions"][0]["description"].startswith("O trabalho culinário")
    assert any("dc:source" in w for w in warnings)


def test_zenodo_oai_dc_software_names():
    md, _ = from_oai_dc(next(demo_file("zenodo/GetRecord_oai_dc.xml").iter("{*}dc")))
    first = md["creators"][0]
    assert first == {
        "name": "Klar, Jochen",
        "nameType": "Personal",
        "givenName": "Jochen",
        "familyName": "Klar",
    }
    assert md["types"]["resourceTypeGeneral"] == "Other"


def test_dspace_oai_dc_record():
    md, warnings = dc(DEMO_DATA / "dspace/ListRecords.xml")
    assert md["identifiers"] == [
        {"identifier": "90-5892-036-4", "identifierType": "ISBN"},
        {"identifier": "1765/308", "identifierType": "Handle"},
    ]
    assert md["dates"] == [{"date": "2003-04-15T10:18:51Z", "dateType": "Issued"}]
    assert md["publicationYear"] == 2003
    assert md["contributors"][0]["familyName"] == "Smidts"
    assert "missing mandatory property creator" in warnings
    assert "unrecognised language 'other' in dc:language" in warnings


def test_sickle_oai_dc_record():
    md, _ = dc(FIXTURES / "oai-pmh/sickle/GetRecord.xml")
    assert md["titles"] == [{"title": "Sample Title"}]
    assert md["language"] == "en"
    assert md["publicationYear"] == 2011
    assert md["identifiers"][0]["identifierType"] == "URL"
