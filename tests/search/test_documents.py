"""Record -> search document mapping."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from catalogue.model import Record, canonical_json
from catalogue.search.documents import access_level, rights_label, to_document
from catalogue.search.tantivy_schema import tantivy_document
from catalogue.store import StoredRecord

ZENODO_LIKE = {
    "identifiers": [{"identifier": "10.5281/zenodo.1234567", "identifierType": "DOI"}],
    "creators": [
        {
            "name": "Müller, Anna",
            "nameType": "Personal",
            "givenName": "Anna",
            "familyName": "Müller",
            "nameIdentifiers": [
                {"nameIdentifier": "0000-0002-1825-0097", "nameIdentifierScheme": "ORCID"}
            ],
            "affiliation": [{"name": "Alfred Wegener Institute"}],
        },
        {"name": "Deep Sea Consortium", "nameType": "Organizational"},
        {"name": "", "givenName": "Jan", "familyName": "de Vries"},
    ],
    "contributors": [{"name": "Smith, John", "contributorType": "DataCurator"}],
    "titles": [
        {"title": "  Arctic Ocean CTD profiles, Polarstern cruise PS122 ", "lang": "en"},
        {"title": "CTD-Profile des Arktischen Ozeans", "titleType": "TranslatedTitle"},
    ],
    "publisher": "PANGAEA",
    "publicationYear": 2021,
    "subjects": [
        {"subject": "Oceanography", "subjectScheme": "keyword"},
        {"subject": "FOS: Earth and related environmental sciences"},
        {"subject": "Oceanography"},
    ],
    "language": "en",
    "types": {"resourceTypeGeneral": "Dataset", "resourceType": "CTD profiles"},
    "rightsList": [
        {
            "rights": "Creative Commons Attribution 4.0 International",
            "rightsUri": "https://creativecommons.org/licenses/by/4.0/legalcode",
            "rightsIdentifier": "cc-by-4.0",
            "rightsIdentifierScheme": "SPDX",
        },
        {"rights": "Open Access", "rightsUri": "info:eu-repo/semantics/openAccess"},
    ],
    "descriptions": [
        {"description": "Temperature and salinity profiles.", "descriptionType": "Abstract"},
        {"description": "Processed with SeaBird software.", "descriptionType": "Methods"},
    ],
}


def make_record(metadata: dict, **kw) -> Record:
    values = {
        "id": "abc123",
        "source": "pangaea",
        "source_id": "oai:pangaea.de:doi:10.1594/PANGAEA.1",
        "metadata": metadata,
        "datestamp": datetime(2024, 5, 6, 7, 8, 9),
    }
    values.update(kw)
    return Record(**values)


def test_to_document_maps_every_field() -> None:
    doc = to_document(make_record(ZENODO_LIKE))
    assert doc["id"] == "abc123"
    assert doc["source"] == "pangaea"
    assert doc["title"] == [
        "Arctic Ocean CTD profiles, Polarstern cruise PS122",
        "CTD-Profile des Arktischen Ozeans",
    ]
    assert doc["description"] == [
        "Temperature and salinity profiles.",
        "Processed with SeaBird software.",
    ]
    assert doc["creator"] == ["Müller, Anna", "Deep Sea Consortium", "Jan de Vries"]
    assert doc["subject"] == ["Oceanography", "FOS: Earth and related environmental sciences"]
    assert doc["type"] == "Dataset"
    assert doc["year"] == 2021
    assert doc["language"] == "en"
    assert doc["publisher"] == "PANGAEA"
    assert doc["rights"] == ["CC-BY-4.0"]
    assert doc["access"] == "open"
    assert doc["datestamp"] == "2024-05-06T07:08:09Z"
    assert doc["title_sort"] == "arctic ocean ctd profiles, polarstern cruise ps122"
    for expected in ("Smith, John", "PANGAEA", "10.5281/zenodo.1234567", "CTD profiles"):
        assert expected in doc["text"]
    assert "Alfred Wegener Institute" in doc["text"]
    stored = json.loads(doc["record"])
    assert stored == json.loads(json.dumps(make_record(ZENODO_LIKE).as_dict()))


def test_to_document_minimal_record() -> None:
    doc = to_document(make_record({"titles": [{"title": "X"}], "types": {}}, datestamp=None))
    assert doc["type"] is None
    assert doc["year"] is None
    assert doc["language"] is None
    assert doc["publisher"] is None
    assert doc["subject"] == [] and doc["creator"] == [] and doc["rights"] == []
    assert doc["access"] == "unknown"
    assert doc["datestamp"] is None
    assert doc["title_sort"] == "x"


def test_to_document_tolerates_odd_shapes() -> None:
    odd = {
        "titles": [{"title": "  "}, "not a dict"],
        "types": "Dataset",
        "publicationYear": "2020",
        "subjects": None,
        "creators": [{"givenName": "Ada"}],
    }
    doc = to_document(make_record(odd))
    assert doc["title"] == [] and doc["title_sort"] == ""
    assert doc["type"] is None
    assert doc["year"] is None
    assert doc["creator"] == ["Ada"]


@pytest.mark.parametrize("metadata_json", [canonical_json, lambda md: json.dumps(md, indent=1)])
def test_stored_records_embed_their_metadata_text(metadata_json) -> None:
    """The store's JSON text of the metadata (canonical on SQLite, JSONB's on PostgreSQL)
    goes into the stored record as it is: same document, same record once parsed."""
    plain = make_record(ZENODO_LIKE, sets=["source:x"], harvested_at=datetime(2024, 5, 6))
    stored = StoredRecord(**vars(plain), metadata_json=metadata_json(ZENODO_LIKE))
    doc, expected = to_document(stored), to_document(plain)
    assert json.loads(doc.pop("record")) == json.loads(expected.pop("record"))
    assert doc == expected
    parsed = json.loads(to_document(stored)["record"])
    assert parsed == stored.as_dict() and list(parsed) == list(stored.as_dict())


def test_tantivy_document_values() -> None:
    doc = to_document(make_record({"titles": [{"title": "X"}]}, datestamp=None))
    doc.update(subject=["a", "", 3, "b"], access="open", year=None)
    values = tantivy_document(doc).to_dict()
    assert values["id"] == ["abc123"] and values["title"] == ["X"]
    assert values["subject"] == ["a", "b"] and values["access"] == ["open"]
    assert "year" not in values and "creator" not in values and "type" not in values
    assert values["datestamp"] == [0] and values["sort_oldest"] == [10_000 * 10**12]
    assert values["sort_title"] == ["x\x1fabc123"]  # ends with the id: unique
    assert values["record"] == [doc["record"].encode()]
    doc.update(year=2021, datestamp="2024-05-06T07:08:09Z")
    values = tantivy_document(doc).to_dict()
    assert values["year"] == [2021] and values["datestamp"] == [1714979289]
    assert values["sort_newest"] == [2021 * 10**12 + 1714979289]


@pytest.mark.parametrize(
    ("rights", "label"),
    [
        ({"rightsIdentifier": "CC-BY-4.0"}, "CC-BY-4.0"),
        ({"rightsIdentifier": "cc-by-sa-4.0"}, "CC-BY-SA-4.0"),
        ({"rightsIdentifier": "MIT"}, "MIT"),
        ({"rightsUri": "https://creativecommons.org/licenses/by-nc/3.0/"}, "CC-BY-NC-3.0"),
        ({"rightsUri": "http://creativecommons.org/publicdomain/zero/1.0/"}, "CC0-1.0"),
        ({"rights": "CC BY 4.0"}, "CC-BY-4.0"),
        ({"rights": "CC0"}, "CC0-1.0"),
        ({"rights": "All rights reserved"}, "All rights reserved"),
        ({"rightsUri": "info:eu-repo/semantics/openAccess"}, None),
        ({"rightsUri": "https://example.org/licence"}, "https://example.org/licence"),
        ({}, None),
    ],
)
def test_rights_label(rights: dict, label: str | None) -> None:
    assert rights_label(rights) == label


@pytest.mark.parametrize(
    ("rights_list", "labels", "access"),
    [
        ([{"rightsUri": "info:eu-repo/semantics/openAccess"}], [], "open"),
        ([{"rightsUri": "info:eu-repo/semantics/restrictedAccess"}], [], "restricted"),
        ([{"rightsUri": "info:eu-repo/semantics/embargoedAccess"}], [], "embargoed"),
        ([{"rights": "info:eu-repo/semantics/closedAccess"}], ["CC-BY-4.0"], "closed"),
        ([], ["CC-BY-4.0"], "open"),
        ([], ["CC0-1.0"], "open"),
        ([], ["MIT"], "open"),
        ([], ["All rights reserved"], "unknown"),
        ([], [], "unknown"),
    ],
)
def test_access_level(rights_list: list, labels: list, access: str) -> None:
    assert access_level(rights_list, labels) == access
