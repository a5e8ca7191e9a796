"""SURF Data Repository, metastore2 and perfSONAR UNIS against servers built exactly as
their reference documents show the responses."""

from __future__ import annotations

from datetime import UTC, datetime

from rest_servers import (
    Fault,
    MetastoreApp,
    SurfApp,
    UnisApp,
    metastore_record,
    surf_object,
    unis_object,
)

from catalogue.model import record_id, validate_metadata
from catalogue.store import Store
from harvester.harvest import harvest_source

COMMUNITIES = [
    {
        "id": "surf",
        "created": "2020-04-12T16:25:28.420000Z",
        "properties": {
            "pid": "community:surf",
            "namespace": "community",
            "type": "Community",
            "state": "Published",
            "sharelevel": "Open",
        },  # fmt: skip
        "metadata": {"base": {"title": "SURF", "description": "This is the SURF community"}},
        "links": {"self": "https://sdr.example.org/api/objects/community/surf"},
    }
]
SCHEMA = {
    "id": "surf",
    "fields": [
        {
            "index": "0",
            "name": "datatype",
            "type": "xs:normalizedString",
            "use": "M",
            "label": "Data type",
            "desc": "The type of data in the dataset",
        },  # fmt: skip
    ],
}
DATACITE_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<resource xmlns="http://datacite.org/schema/kernel-4">
  <identifier identifierType="DOI">10.5072/meta.1</identifier>
  <creators><creator><creatorName>Doe, Jane</creatorName></creator></creators>
  <titles><title>A DataCite document</title></titles>
  <publisher>KIT</publisher><publicationYear>2024</publicationYear>
  <resourceType resourceTypeGeneral="Dataset">Data</resourceType>
</resource>"""


def test_surf_objects_are_listed_fetched_and_mapped(store: Store, api, rest_settings):
    objects = [surf_object(f"{n:016x}", f"Deposit {n}") for n in range(7)]
    objects.append(surf_object("d00000000000000d", "A draft", state="draft"))
    server = api(SurfApp(objects, COMMUNITIES, {"surf": SCHEMA}))
    store.add_source("sdr", "surf", server.url(), config={"page_size": 3})
    run = harvest_source(store, "sdr", rest_settings)
    assert run.status == "succeeded", run.message
    assert (run.counts.added, run.counts.failed) == (7, 0)
    listing = [a.get("page") for p, a in server.paths("/api/objects") if p == "/api/objects"]
    assert listing == ["1", "2", "3"], "1-based pages followed to links.last"
    record = store.get_record(record_id("sdr", "deposit:0000000000000001"))
    md = record.metadata
    assert validate_metadata(md) == []
    assert md["titles"] == [{"title": "Deposit 1"}]
    assert {"identifier": "10.21945/surf-image.1f9b3206-0000000000000001",
            "identifierType": "DOI"} in md["identifiers"]  # fmt: skip
    assert md["types"]["resourceTypeGeneral"] == "Dataset" and md["publicationYear"] == 2021
    assert {"rightsUri": "info:eu-repo/semantics/openAccess"} in md["rightsList"]
    assert md["extra"]["surf"]["community_labels"] == {"datatype": "Data type"}
    assert "source:sdr:surf" in record.sets
    assert store.get_record(record_id("sdr", "deposit:d00000000000000d")) is None


def test_surf_objects_that_fail_fail_alone(store: Store, api, rest_settings):
    objects = [surf_object(f"{n:016x}", f"Deposit {n}") for n in range(4)]
    objects[1]["metadata"] = {}  # no base metadata: cannot be mapped
    server = api(SurfApp(objects, COMMUNITIES, {}))
    server.fail("/api/objects/deposit/0000000000000002", *[Fault(500, b"boom")] * 3)
    store.add_source("sdr", "surf", server.url())
    run = harvest_source(store, "sdr", rest_settings)
    assert run.status == "succeeded", run.message
    assert (run.counts.added, run.counts.failed) == (2, 2)
    errors = {e.source_id: (e.stage, e.reason) for e in store.run_errors(run.id)
              if e.severity == "error"}  # fmt: skip
    assert errors["deposit:0000000000000001"][0] == "map"
    assert errors["deposit:0000000000000002"][0] == "fetch"
    assert "HTTP 500" in errors["deposit:0000000000000002"][1]
    assert any("schema of community surf not read" in e.reason for e in store.run_errors(run.id))


def test_metastore2_documents_choose_their_crosswalk(store: Store, api, rest_settings):
    entries = [
        (
            metastore_record("m1", "datacite_schema", "DataCite doc", "2024-11-25T13:50:12.678Z"),
            DATACITE_XML,
            "application/xml",
        ),  # fmt: skip
        (
            metastore_record("m2", "my_first_json", "JSON doc", "2024-11-25T13:51:00Z"),
            b'{"title": "My first JSON document"}',
            "application/json",
        ),  # fmt: skip
        (
            metastore_record("m3", "datacite_schema", "Broken", "2024-11-25T13:52:00Z"),
            b"<resource",
            "application/xml",
        ),  # fmt: skip
    ]
    server = api(MetastoreApp(entries))
    store.add_source("ms", "metastore2", server.url("/metastore"), config={"page_size": 2})
    run = harvest_source(store, "ms", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 3
    datacite = store.get_record(record_id("ms", "m1")).metadata
    assert datacite["titles"] == [{"title": "A DataCite document"}]
    assert datacite["identifiers"][0]["identifier"] == "10.5072/meta.1"
    unknown = store.get_record(record_id("ms", "m2"))
    assert unknown.metadata["titles"] == [{"title": "JSON doc"}]
    assert unknown.metadata["types"]["resourceTypeGeneral"] == "Model"
    assert store.get_raw(record_id("ms", "m2")) == (
        "metastore2:my_first_json",
        b'{"title": "My first JSON document"}',
    )
    for rid in ("m1", "m2", "m3"):
        assert validate_metadata(store.get_record(record_id("ms", rid)).metadata) == []
    warnings = [e.reason for e in store.run_errors(run.id) if e.source_id == "m2"]
    assert any("schema my_first_json" in w and "stored raw" in w for w in warnings)
    listing = "/metastore/api/v2/metadata/"
    pages = [a["page"] for p, a in server.paths(listing) if p == listing]
    assert pages == ["0", "1"]
    server.requests.clear()
    again = harvest_source(store, "ms", rest_settings)
    assert again.mode == "incremental"
    assert "from" in server.paths("/metastore/api/v2/metadata/")[0][1]


def test_unis_metadata_objects(store: Store, api, rest_settings):
    base = int(datetime(2012, 5, 15, tzinfo=UTC).timestamp() * 1_000_000)
    objects = [unis_object(f"4fb2b024f4735350560000{n:02d}", base + n, port=n) for n in range(5)]
    server = api(UnisApp(objects))
    cfg = {"page_size": 2, "publisher": "perfSONAR test"}
    store.add_source("unis", "unis", server.url(), config=cfg)
    run = harvest_source(store, "unis", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 5
    md = store.get_record(record_id("unis", "4fb2b024f473535056000001")).metadata
    assert validate_metadata(md) == []
    assert md["titles"] == [{"title": "some event type of https://example.com/ports/1"}]
    assert md["types"]["resourceTypeGeneral"] == "Dataset" and md["publicationYear"] == 2012
    assert md["subjects"] == [{"subject": "some event type",
                               "subjectScheme": "perfSONAR eventType"}]  # fmt: skip
    assert md["relatedIdentifiers"][0]["relatedIdentifier"] == "https://example.com/ports/1"
    skips = [a["skip"] for p, a in server.paths("/metadata")]
    assert skips == ["0", "2", "4", "5"], "paged until an empty page: no total is known"
    server.app.objects = objects[:4]
    again = harvest_source(store, "unis", rest_settings)
    assert again.mode == "full" and again.counts.deleted == 1


def test_a_surf_deposit_without_a_doi_keeps_its_epic_pid_as_a_handle():
    from mappings.surf import from_surf

    pid = "21.T12996/5ddde41c-a461-a861-45fd-76594f2b5a20"
    obj = {
        "id": "bd387af9afe48d0a",
        "created": "2021-03-10T20:05:43.250000Z",
        "properties": {"pid": "deposit:bd387af9afe48d0a", "state": "published", "epicpid": pid},
        "metadata": {"base": {"title": "A deposit", "identifier": [f"epic:{pid}"]}},
    }
    metadata, _ = from_surf(obj)
    assert metadata["identifiers"] == [{"identifier": pid, "identifierType": "Handle"}]
    assert validate_metadata(metadata) == []


def test_a_metastore2_record_keeps_subjects_descriptions_rights_and_language():
    from mappings.metastore2 import from_metastore_record, schema_id_of

    record = {
        "id": "db2379c7",
        "identifier": {"value": "(:tba)", "identifierType": "DOI"},
        "creators": [{"familyName": "Pfeil", "givenName": "Andreas"}],
        "titles": [{"value": "Tensile tests of steel"}],
        "publisher": "SELF",
        "publicationYear": "2024",
        "resourceType": {"value": "XML_Metadata", "typeGeneral": "MODEL"},
        "subjects": [{"value": "Materials science", "subjectScheme": "DFG"}],
        "descriptions": [{"description": "<p>Tensile tests</p>", "type": "ABSTRACT"}],
        "rights": [{"schemeId": "CC-BY-4.0", "schemeUri": "https://spdx.org/licenses/CC-BY-4.0"}],
        "language": "en",
        # the schema link of records of older servers
        "relatedIdentifiers": [
            {"identifierType": "INTERNAL", "value": "my_xsd", "relationType": "IS_DERIVED_FROM"}
        ],
    }
    metadata, _ = from_metastore_record(record)
    assert validate_metadata(metadata) == []
    assert metadata["subjects"] == [{"subject": "Materials science", "subjectScheme": "DFG"}]
    assert metadata["descriptions"] == [
        {"description": "Tensile tests", "descriptionType": "Abstract"}
    ]
    assert metadata["rightsList"][0]["rightsUri"] == "https://spdx.org/licenses/CC-BY-4.0"
    assert metadata["language"] == "en"
    assert schema_id_of(record) == "my_xsd"
