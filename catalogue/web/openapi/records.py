"""The OpenAPI paths of records: search, deposit, read, replace, patch, delete, documents."""

from __future__ import annotations

from typing import Any

from catalogue.search.base import FACETS
from catalogue.web import negotiation
from catalogue.web.deposit import JSON_TYPES, XML_TYPES
from catalogue.web.ingest_api import DOCUMENT_TYPES
from catalogue.web.openapi.components import error_responses, json_content, schema_ref
from catalogue.web.search_api import SORTS

Q_SYNTAX = (
    "Words rank records matching more of them first (at least one of two words, all but "
    'one of three or four, 75% of more); +word, "a phrase" and field:value are required, '
    "-word excluded; a pasted DOI, Handle or URL finds its record; AND/OR/NOT, parentheses "
    "and ranges (year:[2000 TO 2010]) switch to boolean syntax with AND between terms."
)


def _write_params(atomic: bool = False) -> list[dict[str, Any]]:
    params = [{"$ref": "#/components/parameters/validate"}]
    if atomic:
        params.append({"$ref": "#/components/parameters/atomic"})
    return params


def _deposit_body(list_allowed: bool) -> dict[str, Any]:
    json_schema = (
        {
            "oneOf": [
                schema_ref("RecordInput"),
                {"type": "array", "minItems": 1, "items": schema_ref("RecordInput")},
            ]
        }
        if list_allowed
        else schema_ref("RecordInput")
    )
    content: dict[str, Any] = {mimetype: {"schema": json_schema} for mimetype in JSON_TYPES}
    for mimetype in XML_TYPES:
        content[mimetype] = {
            "schema": {
                "type": "string",
                "description": "A DataCite kernel-3/4 resource, an oai_datacite wrapper or an "
                "oai_dc record; validated against its XSD and mapped like harvested records.",
            }
        }
    content["multipart/form-data"] = {
        "schema": {
            "type": "object",
            "required": ["document"],
            "properties": {
                "record": schema_ref("RecordEnvelope"),
                "document": {
                    "type": "string",
                    "description": "The metadata document: XML as above, or DataCite JSON",
                },
            },
        },
        "encoding": {"record": {"contentType": "application/json"}},
    }
    return {"required": True, "content": content}


def record_paths() -> dict[str, Any]:
    rid = {"$ref": "#/components/parameters/rid"}
    if_match = {"$ref": "#/components/parameters/ifMatch"}
    secured = [{"bearer": []}]
    etag = {"ETag": {"schema": {"type": "string"}, "description": "The record's strong ETag"}}
    representations = {
        mimetype: {
            "schema": schema_ref("Record")
            if mimetype == negotiation.JSON
            else {"type": "object" if mimetype.endswith("json") else "string"}
        }
        for mimetype in negotiation.REPRESENTATIONS
    }
    written = {
        "description": "The record as stored",
        "headers": etag,
        "content": json_content(schema_ref("Record")),
    }
    # PUT and PATCH answer alike: the record as stored, or a validate-only result.
    changed = {
        "200": {
            **written,
            "content": json_content(
                {"oneOf": [schema_ref("Record"), schema_ref("ValidationResult")]}
            ),
        },
        **error_responses(
            "400", "401", "403", "404", "409", "410", "412", "413", "415", "422", "428", "503"
        ),
    }
    validated = {
        "description": "?validate=true: valid, nothing stored",
        "content": json_content(schema_ref("ValidationResult")),
    }
    return {
        "/api/records": {
            "get": {
                "operationId": "searchRecords",
                "tags": ["search"],
                "summary": "Search records (facets, filters, sorts, paging)",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "description": Q_SYNTAX,
                        "schema": {"type": "string", "maxLength": 1000},
                    },
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "sort", "in": "query", "schema": {"enum": sorted(SORTS)}},
                    {
                        "name": "facets",
                        "in": "query",
                        "description": "false: hits without facet counts (aggregations {})",
                        "schema": {"type": "boolean", "default": True},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "Deep paging: the cursor that links.next carries "
                        "beyond max_result_window hits (opaque, signed)",
                        "schema": {"type": "string"},
                    },
                    *(
                        {
                            "name": name,
                            "in": "query",
                            "description": f"filter on the {name} facet, case-insensitive; "
                            "repeated values combine with OR, different facets with AND",
                            "schema": {"type": "array", "items": {"type": "string"}},
                            "style": "form",
                            "explode": True,
                        }
                        for name in FACETS
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "Hits, total, facet counts",
                        "content": json_content(schema_ref("SearchResult")),
                    },
                    **error_responses("400", "503"),
                },
            },
            "post": {
                "operationId": "createRecords",
                "tags": ["ingest"],
                "summary": "Deposit one record, a list of records, or a metadata document",
                "description": "A list is stored atomically (nothing if any item fails; "
                "per-item results in `items`) unless ?atomic=false, which stores the valid "
                "items and reports the others (201 when at least one was stored). A duplicate "
                "id or a DOI held by another live local record is a 409.",
                "security": secured,
                "parameters": _write_params(atomic=True),
                "requestBody": _deposit_body(list_allowed=True),
                "responses": {
                    "200": validated,
                    "201": {
                        "description": "Created: the record (with Location and ETag), or "
                        "per-item results of a list",
                        "headers": {
                            **etag,
                            "Location": {
                                "schema": {"type": "string"},
                                "description": "The new record",
                            },
                        },
                        "content": json_content(
                            {"oneOf": [schema_ref("Record"), schema_ref("ListResult")]}
                        ),
                    },
                    **error_responses("400", "401", "403", "409", "413", "415", "422", "503"),
                },
            },
        },
        "/api/records/{rid}": {
            "parameters": [rid],
            "get": {
                "operationId": "getRecord",
                "tags": ["search"],
                "summary": "One record, in the representation asked for with Accept",
                "responses": {
                    "200": {
                        "description": "The record",
                        "headers": etag,
                        "content": representations,
                    },
                    "304": {"description": "Not modified (If-None-Match)"},
                    **error_responses("404", "406", "410"),
                },
            },
            "put": {
                "operationId": "replaceRecord",
                "tags": ["ingest"],
                "summary": "Replace a deposited record (If-Match required)",
                "security": secured,
                "parameters": [if_match, *_write_params()],
                "requestBody": _deposit_body(list_allowed=False),
                "responses": changed,
            },
            "patch": {
                "operationId": "patchRecord",
                "tags": ["ingest"],
                "summary": "Change a deposited record with a JSON Patch (If-Match required)",
                "security": secured,
                "parameters": [if_match, *_write_params()],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json-patch+json": {"schema": schema_ref("JsonPatch")},
                        "application/json": {"schema": schema_ref("JsonPatch")},
                    },
                },
                "responses": changed,
            },
            "delete": {
                "operationId": "deleteRecord",
                "tags": ["ingest"],
                "summary": "Delete a deposited record: it becomes a tombstone (OAI-PMH deleted)",
                "security": secured,
                "parameters": [if_match, *_write_params()],
                "responses": {
                    "200": validated,
                    "204": {"description": "Deleted"},
                    **error_responses("400", "401", "403", "404", "409", "410", "412", "428"),
                },
            },
        },
        "/api/records/{rid}/document": {
            "parameters": [rid],
            "get": {
                "operationId": "getRecordDocument",
                "tags": ["ingest"],
                "summary": "The original document: an XML deposit, or a harvested payload",
                "description": "Deposited documents and OAI-PMH payloads are XML; payloads "
                "of REST harvests are mostly JSON. The media type says which.",
                "responses": {
                    "200": {
                        "description": "The document",
                        "content": {
                            media_type: {"schema": {"type": "string"}}
                            for media_type in DOCUMENT_TYPES.values()
                        },
                    },
                    **error_responses("404", "410"),
                },
            },
        },
    }
