"""/api/docs: Swagger UI from a package (no CDN), an example for every operation."""

from __future__ import annotations

from lxml import html
from pages_site import Site

KNOWN_OPERATIONS = {
    "searchRecords",
    "createRecords",
    "getRecord",
    "replaceRecord",
    "patchRecord",
    "deleteRecord",
    "getRecordDocument",
    "listSchemas",
    "registerSchema",
    "getSchema",
    "listSources",
    "listRuns",
    "getOpenApi",
    "getApiDocs",
}


def _has_example(doc: dict, operation: dict) -> bool:
    def resolve(node: dict) -> dict:
        ref = node.get("$ref")
        if not ref:
            return node
        section, name = ref.split("/")[-2:]
        return doc["components"][section][name]

    bodies = operation.get("requestBody", {}).get("content", {}).values()
    responses = [resolve(r) for r in operation.get("responses", {}).values()]
    contents = [c for r in responses for c in r.get("content", {}).values()]
    params = [resolve(p) for p in operation.get("parameters", [])]
    return any("example" in x for x in [*bodies, *contents, *params])


def test_every_operation_has_an_example(site: Site) -> None:
    doc = site.get("/api/openapi.json").json()
    operations = {
        op["operationId"]: op
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert set(operations) >= KNOWN_OPERATIONS
    for name in KNOWN_OPERATIONS:
        assert _has_example(doc, operations[name]), name
    body = operations["createRecords"]["requestBody"]["content"]["application/json"]
    assert body["example"]["metadata"]["titles"][0]["title"]


def test_swagger_ui_is_served_from_the_package(site: Site) -> None:
    r = site.get("/api/docs")
    doc = html.fromstring(r.content)
    sources = doc.xpath("//script/@src") + doc.xpath("//link[@rel='stylesheet']/@href")
    assert sources and all(s.startswith("/") for s in sources)  # nothing from another host
    for src in sources:
        asset = site.get(src)
        assert asset.status_code == 200 and len(asset.content) > 500, src
    assert doc.xpath("//div[@id='swagger-ui']/@data-spec") == ["/api/openapi.json"]
    # without JavaScript the reference is there, examples included
    assert "Example:" in doc.xpath("string(//div[@id='reference'])")
