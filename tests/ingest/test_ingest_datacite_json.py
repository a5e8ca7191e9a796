"""DataCite's own JSON as `metadata`: kernel-4.x JSON examples, REST API attributes and the
whole REST envelope, on POST and PUT; unknown members refused by name; missing mandatory
properties reported; no export ever says publicationYear 0000."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from catalogue.demo import DEMO_DATA
from catalogue.web.xsd import validate_deposit
from mappings.datacite_json import from_datacite_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "datacite"
KERNEL_JSON = sorted(
    p for d in ("json-schema-examples", "json-kernel-4.2", "json-kernel-4.3")
    for p in (FIXTURES / d).glob("*.json")
)  # fmt: skip
REST_JSON = sorted((FIXTURES / "json-rest").glob("*.json"))
DATACITE = {"Accept": "application/vnd.datacite.datacite+xml"}
K4 = {"d": "http://datacite.org/schema/kernel-4"}


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _doi(doc: dict) -> str:
    attributes = doc["data"]["attributes"] if "data" in doc else doc
    return attributes["doi"].lower()


def _forms(path: Path) -> list[tuple[str, dict]]:
    """The request bodies a DataCite user would send with this document."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if "data" not in doc:
        return [("kernel", {"metadata": doc})]
    return [
        ("envelope", {"metadata": doc}),
        ("attributes", {"metadata": doc["data"]["attributes"]}),
        ("bare envelope", doc),  # the body DataCite's REST API itself takes
    ]


def test_there_are_many_datacite_json_documents() -> None:
    assert len(KERNEL_JSON) >= 30 and len(REST_JSON) >= 10


@pytest.mark.parametrize("path", KERNEL_JSON + REST_JSON, ids=_name)
def test_every_datacite_json_document_maps_completely(path: Path) -> None:
    """The pure normaliser: nothing unknown, the result is canonical."""
    from catalogue.model import validate_metadata

    doc = json.loads(path.read_text(encoding="utf-8"))
    found = from_datacite_json(doc)
    assert found.unknown == []
    assert validate_metadata(found.metadata) == []
    md = found.metadata
    assert isinstance(md["publicationYear"], int)
    assert md["identifiers"][0] == {"identifier": _doi(doc), "identifierType": "DOI"}
    assert isinstance(md["publisher"], str) and md["titles"] and md["creators"]


@pytest.mark.parametrize("path", KERNEL_JSON[::4] + REST_JSON[::3], ids=_name)
def test_post_and_put_datacite_json(ingest_app, path: Path) -> None:
    for n, (form, body) in enumerate(_forms(path)):
        r = ingest_app.post(body)
        assert r.status_code == 201, (form, r.text[:500])
        created = r.json()
        md = created["metadata"]
        assert isinstance(md["publicationYear"], int), form
        assert {"identifier": _doi(json.loads(path.read_text())), "identifierType": "DOI"} in md[
            "identifiers"
        ]
        assert any(w.startswith("DataCite members not kept") for w in created["warnings"]), form
        assert created["missing_mandatory"] == []
        # PUT takes the same forms; the DOI is the record's own, so no 409
        url = f"/api/records/{created['id']}"
        put = ingest_app.call("PUT", url, json=body, headers={"If-Match": r.headers["ETag"]})
        assert put.status_code == 200, (form, put.text[:500])
        assert put.json()["metadata"] == md
        # delete it, so the next form may take the same DOI
        gone = ingest_app.call(
            "DELETE", f"/api/records/{created['id']}", headers={"If-Match": put.headers["ETag"]}
        )
        assert gone.status_code == 204, (n, gone.text)


def test_rest_attributes_are_normalised(ingest_app) -> None:
    doc = json.loads((FIXTURES / "json-rest" / "dois_10.5061_dryad.8515.json").read_text())
    r = ingest_app.post({"metadata": doc, "id": "dryad"})
    assert r.status_code == 201, r.text
    md = r.json()["metadata"]
    assert md["publicationYear"] == 2011
    assert md["identifiers"][0] == {"identifier": "10.5061/dryad.8515", "identifierType": "DOI"}
    assert {"identifier": doc["data"]["attributes"]["url"], "identifierType": "URL"} in md[
        "identifiers"
    ]
    # the REST API's string affiliations become objects; its nulls are gone
    assert md["creators"][0]["affiliation"] == [
        {"name": "Centre International de Recherches Médicales de Franceville"}
    ]
    assert "nameType" not in json.dumps(md["creators"]) or all(
        c.get("nameType") in ("Personal", "Organizational") for c in md["creators"]
    )
    warning = next(w for w in r.json()["warnings"] if w.startswith("DataCite members"))
    for member in ("/data/attributes/state", "/data/attributes/citationCount", "/included"):
        assert member in warning


def test_kernel_45_publisher_object(ingest_app) -> None:
    doc = json.loads((FIXTURES / "json-kernel-4.3" / "datacite-example-full-v4.json").read_text())
    doc["publisher"] = {
        "name": "DataCite",
        "publisherIdentifier": "https://ror.org/04wxnsj81",
        "publisherIdentifierScheme": "ROR",
        "schemeUri": "https://ror.org/",
        "lang": "en",
    }
    r = ingest_app.post({"metadata": doc})
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["publisher"] == "DataCite"
    assert "/publisher/publisherIdentifier" in " ".join(r.json()["warnings"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(titel="typo"), "/metadata/titel"),
        (lambda d: d["creators"][0].update(nmae="x"), "/metadata/creators/0/nmae"),
        (lambda d: d["types"].update(kind="x"), "/metadata/types/kind"),
        (lambda d: d["publisher"].update(url="x"), "/metadata/publisher/url"),
    ],
)
def test_members_no_datacite_version_defines_are_refused(ingest_app, change, field) -> None:
    doc = json.loads((FIXTURES / "json-kernel-4.3" / "datacite-example-full-v4.json").read_text())
    doc["publisher"] = {"name": "DataCite"}
    doc = copy.deepcopy(doc)
    change(doc)
    for method, path, headers in (
        ("POST", "/api/records", {}),
        ("PUT", "/api/records/some-record", {"If-Match": "*"}),
    ):
        r = ingest_app.call(method, path, json={"metadata": doc}, headers=headers)
        assert r.status_code == 400, r.text
        errors = r.json()["errors"]
        assert {"field": field, "message": "not a member of any DataCite metadata version"} in (
            errors
        )
    assert ingest_app.local_count() == 0


def test_envelope_of_another_type_is_refused(ingest_app) -> None:
    doc = json.loads((FIXTURES / "json-rest" / "dois_10.5281_zenodo.48440.json").read_text())
    doc["data"]["type"] = "clients"
    r = ingest_app.post({"metadata": doc})
    assert r.status_code == 400
    assert "/metadata/data/type" in {e["field"] for e in r.json()["errors"]}


def test_missing_mandatory_properties_are_reported_and_year_is_never_0000(ingest_app) -> None:
    minimal = {"titles": [{"title": "Only a title"}], "types": {"resourceTypeGeneral": "Dataset"}}
    r = ingest_app.post({"metadata": minimal})
    assert r.status_code == 201, r.text
    body = r.json()
    expected = ["identifier", "creator", "publisher", "publicationYear"]
    assert body["warnings"] == [f"missing mandatory DataCite property {p}" for p in expected]
    assert body["missing_mandatory"] == expected
    rid = body["id"]
    got = ingest_app.get(f"/api/records/{rid}")
    assert got.json()["missing_mandatory"] == expected
    page = ingest_app.get(f"/records/{rid}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Missing DataCite properties" in page.text
    assert "identifier, creator, publisher, publicationYear" in page.text
    # validate-only says the same
    v = ingest_app.post({"metadata": minimal}, path="/api/records?validate=true")
    assert v.json()["warnings"] == body["warnings"]

    xml = ingest_app.get(f"/api/records/{rid}", headers=DATACITE)
    assert xml.status_code == 200
    root = etree.fromstring(xml.content)
    assert validate_deposit(root) == []
    year = root.findtext("d:publicationYear", namespaces=K4)
    assert year == str(datetime.now(UTC).year)  # published here this year, not "0000"

    identifier = f"oai:{ingest_app.settings.oai.repository_identifier}:{rid}"
    oai = ingest_app.get(
        "/oai",
        params={"verb": "GetRecord", "metadataPrefix": "oai_datacite", "identifier": identifier},
    )
    assert b"<publicationYear>0000<" not in oai.content
    assert f"<publicationYear>{year}</publicationYear>".encode() in oai.content


def test_a_create_doi_body_as_datacite_clients_send_it(ingest_app) -> None:
    """The REST API's create-DOI body: prefix instead of doi, event/mode/source, nulls for
    empty properties, kernel-4.5 publisher object, empty relatedItems."""
    body = {
        "data": {
            "type": "dois",
            "attributes": {
                "prefix": "10.5072",
                "event": "publish",
                "mode": "new",
                "source": "api",
                "url": "https://example.org/datasets/17",
                "creators": [{"name": "Doe, Jane", "givenName": None, "familyName": None,
                              "nameType": None, "nameIdentifiers": [], "affiliation": []}],
                "titles": [{"title": "Seventeen", "titleType": None, "lang": None}],
                "publisher": {"name": "Example University", "lang": None,
                              "publisherIdentifier": "https://ror.org/04wxnsj81",
                              "publisherIdentifierScheme": "ROR", "schemeUri": "https://ror.org"},
                "publicationYear": 2024,
                "types": {"resourceTypeGeneral": "Dataset"},
                "language": None,
                "version": None,
                "relatedItems": [],
                "xml": None,
                "reason": None,
                "schemaVersion": "http://datacite.org/schema/kernel-4",
            },
        }
    }  # fmt: skip
    r = ingest_app.post(body)
    assert r.status_code == 201, r.text
    created = r.json()
    md = created["metadata"]
    assert md["publisher"] == "Example University" and md["publicationYear"] == 2024
    assert md["creators"] == [{"name": "Doe, Jane", "nameIdentifiers": [], "affiliation": []}]
    assert md["identifiers"] == [
        {"identifier": "https://example.org/datasets/17", "identifierType": "URL"}
    ]
    assert created["missing_mandatory"] == []  # the URL is the record's identifier here
    dropped = next(w for w in created["warnings"] if w.startswith("DataCite members"))
    assert (
        "/data/attributes/event" in dropped
        and "/data/attributes/publisher/publisherIdentifier" in dropped
    )


def test_oai_datacite_without_payload_is_accepted_as_a_document(ingest_app) -> None:
    """DSpace's oai_datacite: the kernel-4 <resource> straight inside the wrapper."""
    kernel = (DEMO_DATA / "datacite/xml-kernel-4/datacite-example-full-v4.xml").read_bytes()
    resource = kernel[kernel.index(b"<resource") :]
    wrapper = (
        b'<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/">'
        b"<schemaVersion>4</schemaVersion><datacentreSymbol>X.Y</datacentreSymbol>"
        + resource
        + b"</oai_datacite>"
    )
    headers = {"Content-Type": "application/xml"}
    r = ingest_app.call("POST", "/api/records", data=wrapper, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["titles"][0]["title"] == "Example Title"
    broken = wrapper.replace(b"<publisher", b"<publisherX").replace(
        b"</publisher>", b"</publisherX>"
    )
    r = ingest_app.call("POST", "/api/records", data=broken, headers=headers)
    assert r.status_code == 400  # the resource itself is still validated


def test_a_rest_api_list_is_a_list_deposit(ingest_app) -> None:
    """GET /dois answers {"data": [...], "meta": ...}: posted back, each item is a record."""
    docs = [json.loads(p.read_text()) for p in REST_JSON[:3]]
    listing = {"data": [d["data"] for d in docs], "meta": {"total": 3}, "links": {}}
    r = ingest_app.post(listing)
    assert r.status_code == 201, r.text[:500]
    body = r.json()
    assert body["created"] == 3 and body["failed"] == 0
    for item, doc in zip(body["items"], docs, strict=True):
        stored = ingest_app.get(f"/api/records/{item['id']}").json()["metadata"]
        assert stored["identifiers"][0]["identifier"] == _doi(doc)
    bad = {"data": [docs[0]["data"], {"type": "dois", "attributes": {"titel": "x"}}]}
    r = ingest_app.post(bad, path="/api/records?validate=true")
    assert r.status_code == 400
    assert "/1/metadata/data/attributes/titel" in {e["field"] for e in r.json()["errors"]}


@pytest.mark.parametrize(
    "geo",
    [
        {"geoLocationPolygons": 5},
        {"geoLocationPolygons": True},
        {"geoLocationPolygons": [{"polygonPoints": 7}]},
    ],
)
def test_misshapen_kernel_43_polygons_are_400s(ingest_app, geo: dict) -> None:
    body = {"titles": [{"title": "x"}], "geoLocations": [geo], "doi": "10.1/geo"}
    r = ingest_app.post({"metadata": body})
    assert r.status_code == 400, r.text
    assert any(e["field"].startswith("/metadata/geoLocations/0") for e in r.json()["errors"])
    assert ingest_app.local_count() == 0


def test_datacite_documents_under_their_own_media_type(ingest_app) -> None:
    doc = json.loads((FIXTURES / "json-rest" / "dois_10.5061_dryad.8515.json").read_text())
    r = ingest_app.call(
        "POST",
        "/api/records",
        data=json.dumps({"metadata": doc}).encode(),
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["publicationYear"] == 2011
