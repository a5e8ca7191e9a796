"""The OpenAPI 3.1 document of every /api endpoint, served at /api/openapi.json and /api/docs.

Built from the code's own constants (the canonical metadata schema, facet names, sorts,
media types) so that the document cannot drift from what the endpoints accept.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from catalogue.model import SET_SPEC, metadata_schema
from catalogue.search.base import FACETS
from catalogue.web import admin_openapi, dialects, negotiation
from catalogue.web.deposit import ID_PATTERN, MAX_SETS, READ_ONLY, RESERVED_ID, XML_TYPES
from catalogue.web.ingest_api import DOCUMENT_TYPES
from catalogue.web.openapi_examples import add_examples
from catalogue.web.schemas_api import SCHEMA_ID
from catalogue.web.search_api import SORTS

bp = Blueprint("openapi", __name__)

ERROR_STATUSES = {
    "400": "Invalid input: every failing field is listed with a JSON pointer",
    "401": "No token, or an unknown or revoked one (see WWW-Authenticate)",
    "403": "The token's role may not do this",
    "404": "No such resource",
    "406": "None of the accepted media types is available",
    "409": "Conflict: the id or the DOI is in use, or the record is not a local one",
    "410": "The record was deleted (a tombstone)",
    "412": "If-Match does not hold the record's current ETag",
    "413": "Too large: the body (max_request_bytes), a record (ingest.max_record_bytes), "
    "a JSON Patch (ingest.max_patch_operations) or the record it would make",
    "415": "Unsupported Content-Type",
    "422": "The registered schema cannot judge the record in time (ingest.schema_timeout)",
    "428": "If-Match is required",
    "503": "The search engine, or every schema validator, is busy or away; try again",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _hoisted_metadata() -> dict[str, dict[str, Any]]:
    """The canonical metadata schema as components: its $defs become Metadata_<name> and
    every local $ref is rewritten to them (refs resolve against the OpenAPI document)."""
    schema = copy.deepcopy(metadata_schema())
    defs = schema.pop("$defs", {})
    schema.pop("$schema", None)
    schema.pop("$id", None)  # an $id would change the base that $refs resolve against

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rewrite(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                out["$ref"] = "#/components/schemas/Metadata_" + ref[len("#/$defs/") :]
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    out = {"Metadata": rewrite(schema)}
    out.update({f"Metadata_{name}": rewrite(body) for name, body in defs.items()})
    return out


def _schemas() -> dict[str, Any]:
    field_error = {
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "JSON pointer (or header/parameter name)"},
            "message": {"type": "string"},
        },
    }
    schema_ref = {
        "oneOf": [
            {"type": "string", "pattern": f"^{SCHEMA_ID.pattern}$"},
            {
                "type": "object",
                "required": ["id"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": f"^{SCHEMA_ID.pattern}$"},
                    "version": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                },
            },
            {"type": "null"},
        ],
        "description": "A registered schema (latest version, or {id, version}) that "
        "metadata.extra (JSON Schema) or the deposited document (XSD) must satisfy.",
    }
    sets = {
        "type": "array",
        "maxItems": MAX_SETS,
        "items": {"type": "string", "pattern": f"^{SET_SPEC.pattern}$", "maxLength": 150},
        "description": "OAI-PMH setSpecs. Stored under 'source:local:' (a bare 'x' becomes "
        "'source:local:x'); every deposited record is also in 'source:local'.",
    }
    envelope_props = {
        "id": {
            "type": "string",
            "pattern": f"^{ID_PATTERN.pattern}$",
            "description": "Optional on POST (honoured only if unused, else 409); the server "
            "chooses one when absent. Ids matching "
            f"^{RESERVED_ID.pattern}$ (the shape of server-assigned and harvested ids) are "
            "reserved: a new record may not choose one (400). On PUT it must equal the id in "
            "the URL.",
        },
        "sets": sets,
        "schema": schema_ref,
    }
    read_only = {name: {"readOnly": True} for name in READ_ONLY}
    time = {"type": ["string", "null"], "format": "date-time"}
    schemas: dict[str, Any] = {
        "FieldError": field_error,
        "Error": {
            "type": "object",
            "required": ["status", "message", "errors"],
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "errors": {"type": "array", "items": _ref("FieldError")},
                "items": {"type": "array", "items": _ref("ItemResult")},
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
        "RecordInput": {
            "type": "object",
            "required": ["metadata"],
            "additionalProperties": False,
            "properties": {**envelope_props, "metadata": _ref("Metadata"), **read_only},
            "description": "A canonical record as sent: metadata plus optional id, sets and "
            "schema. Server-set members (as GET returns them) are accepted and ignored. "
            "metadata may also be DataCite's own JSON (a kernel-4.x JSON document, a REST API "
            "data.attributes object or the whole {data: {type: dois, attributes}} envelope, "
            "which is also taken as the body itself): it is normalised, dropped DataCite "
            "members are listed in warnings, and members no DataCite version defines are "
            "a 400 naming them.",
        },
        "RecordEnvelope": {
            "type": "object",
            "additionalProperties": False,
            "properties": envelope_props,
            "description": "The 'record' part of a multipart deposit (metadata comes from "
            "the 'document' part).",
        },
        "Record": {
            "type": "object",
            "required": ["id", "source", "source_id", "deleted", "sets", "metadata", "links"],
            "properties": {
                "id": {"type": "string"},
                "source": {"type": "string"},
                "source_id": {"type": "string"},
                "deleted": {"type": "boolean"},
                "sets": {"type": "array", "items": {"type": "string"}},
                "datestamp": time,
                "source_datestamp": time,
                "harvested_at": time,
                "created_at": time,
                "original": {
                    "type": "object",
                    "properties": {"format": {"type": ["string", "null"]}},
                },
                "metadata": {"type": "object"},
                "schema": {
                    "type": ["object", "null"],
                    "properties": {"id": {"type": "string"}, "version": {"type": "integer"}},
                },
                "created_by": {
                    "type": ["string", "null"],
                    "description": "Token name; shown to admins only",
                },
                "updated_by": {
                    "type": ["string", "null"],
                    "description": "Token name; shown to admins only",
                },
                "links": {
                    "type": "object",
                    "required": ["self"],
                    "properties": {
                        "self": {"type": "string", "format": "uri"},
                        "document": {"type": "string", "format": "uri"},
                    },
                },
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
        "ItemResult": {
            "type": "object",
            "required": ["index"],
            "properties": {
                "index": {"type": "integer"},
                "status": {"type": "integer"},
                "id": {"type": "string"},
                "etag": {"type": "string"},
                "links": {"type": "object", "properties": {"self": {"type": "string"}}},
                "errors": {"type": "array", "items": _ref("FieldError")},
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
        "ListResult": {
            "type": "object",
            "required": ["items", "created", "failed"],
            "properties": {
                "items": {"type": "array", "items": _ref("ItemResult")},
                "created": {"type": "integer"},
                "failed": {"type": "integer"},
            },
        },
        "ValidationResult": {
            "type": "object",
            "required": ["valid"],
            "properties": {
                "valid": {"const": True},
                "id": {"type": "string"},
                "warnings": {"type": "array", "items": {"type": "string"}},
                "items": {"type": "array", "items": _ref("ItemResult")},
            },
        },
        "JsonPatch": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["op", "path"],
                "properties": {
                    "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
                    "path": {"type": "string"},
                    "from": {"type": "string"},
                    "value": {},
                },
            },
            "description": "RFC 6902, applied to the record's JSON representation (GET); "
            "the result is validated like a PUT body.",
        },
        "SchemaRegistration": {
            "type": "object",
            "required": ["id", "type", "content"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": f"^{SCHEMA_ID.pattern}$"},
                "type": {"enum": ["json", "xsd"]},
                "content": {
                    "description": "A JSON Schema (object) or an XML Schema (string); "
                    "self-contained: no remote $ref, no include/import but the XML namespace.",
                },
                "label": {"type": "string", "maxLength": 500},
                "comment": {"type": "string", "maxLength": 10000},
            },
        },
        "SchemaInfo": {
            "type": "object",
            "required": ["id", "version", "versions", "type", "sha256", "links"],
            "properties": {
                "id": {"type": "string"},
                "version": {"type": "integer"},
                "versions": {"type": "array", "items": {"type": "integer"}},
                "type": {"enum": ["json", "xsd"]},
                "mime_type": {"type": "string"},
                "label": {"type": ["string", "null"]},
                "comment": {"type": ["string", "null"]},
                "sha256": {"type": "string"},
                "created_at": {"type": "string"},
                "created_by": {
                    "type": ["string", "null"],
                    "description": "Token name; shown to admins only",
                },
                "content": {},
                "links": {"type": "object"},
            },
        },
        "SearchResult": {
            "type": "object",
            "required": ["hits", "total", "aggregations", "links"],
            "properties": {
                "hits": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {
                            "highlight": {
                                "description": "With q: matched words in <mark> (HTML, "
                                "escaped otherwise), by field: title, description",
                                "type": "object",
                                "additionalProperties": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                },
                            }
                        },
                    },
                },
                "total": {"type": "integer"},
                "aggregations": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"key": {}, "count": {"type": "integer"}},
                        },
                    },
                },
                "links": {"type": "object", "properties": {"self": {"type": "string"}}},
            },
        },
        "Sources": {
            "type": "object",
            "required": ["sources", "total"],
            "properties": {
                "sources": {"type": "array", "items": {"type": "object", "required": ["key"]}},
                "total": {"type": "integer"},
            },
        },
        "Runs": {
            "type": "object",
            "required": ["runs"],
            "properties": {"runs": {"type": "array", "items": {"type": "object"}}},
        },
    }
    schemas.update(_hoisted_metadata())
    schemas.update(admin_openapi.schemas())
    return schemas


def _write_params(atomic: bool = False) -> list[dict[str, Any]]:
    params = [{"$ref": "#/components/parameters/validate"}]
    if atomic:
        params.append({"$ref": "#/components/parameters/atomic"})
    return params


def _deposit_body(list_allowed: bool) -> dict[str, Any]:
    json_schema = (
        {
            "oneOf": [
                _ref("RecordInput"),
                {"type": "array", "minItems": 1, "items": _ref("RecordInput")},
            ]
        }
        if list_allowed
        else _ref("RecordInput")
    )
    content: dict[str, Any] = {"application/json": {"schema": json_schema}}
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
                "record": _ref("RecordEnvelope"),
                "document": {
                    "type": "string",
                    "description": "The metadata document: XML as above, or DataCite JSON",
                },
            },
        },
        "encoding": {"record": {"contentType": "application/json"}},
    }
    return {"required": True, "content": content}


def _record_paths() -> dict[str, Any]:
    rid = {"$ref": "#/components/parameters/rid"}
    if_match = {"$ref": "#/components/parameters/ifMatch"}
    secured = [{"bearer": []}]
    etag = {"ETag": {"schema": {"type": "string"}, "description": "The record's strong ETag"}}
    representations = {
        mimetype: {
            "schema": _ref("Record")
            if mimetype == negotiation.JSON
            else {"type": "object" if mimetype.endswith("json") else "string"}
        }
        for mimetype in negotiation.REPRESENTATIONS
    }
    written = {
        "description": "The record as stored",
        "headers": etag,
        "content": _json(_ref("Record")),
    }
    validated = {
        "description": "?validate=true: valid, nothing stored",
        "content": _json(_ref("ValidationResult")),
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
                        "content": _json(_ref("SearchResult")),
                    },
                    **_errors("400", "503"),
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
                        "content": _json({"oneOf": [_ref("Record"), _ref("ListResult")]}),
                    },
                    **_errors("400", "401", "403", "409", "413", "415", "422", "503"),
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
                    **_errors("404", "406", "410"),
                },
            },
            "put": {
                "operationId": "replaceRecord",
                "tags": ["ingest"],
                "summary": "Replace a deposited record (If-Match required)",
                "security": secured,
                "parameters": [if_match, *_write_params()],
                "requestBody": _deposit_body(list_allowed=False),
                "responses": {
                    "200": {
                        **written,
                        "content": _json({"oneOf": [_ref("Record"), _ref("ValidationResult")]}),
                    },
                    **_errors(
                        "400",
                        "401",
                        "403",
                        "404",
                        "409",
                        "410",
                        "412",
                        "413",
                        "415",
                        "422",
                        "428",
                        "503",
                    ),
                },
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
                        "application/json-patch+json": {"schema": _ref("JsonPatch")},
                        "application/json": {"schema": _ref("JsonPatch")},
                    },
                },
                "responses": {
                    "200": {
                        **written,
                        "content": _json({"oneOf": [_ref("Record"), _ref("ValidationResult")]}),
                    },
                    **_errors(
                        "400",
                        "401",
                        "403",
                        "404",
                        "409",
                        "410",
                        "412",
                        "413",
                        "415",
                        "422",
                        "428",
                        "503",
                    ),
                },
            },
            "delete": {
                "operationId": "deleteRecord",
                "tags": ["ingest"],
                "summary": "Delete a deposited record: it becomes a tombstone (OAI-PMH deleted)",
                "security": secured,
                "parameters": [if_match, *_write_params()],
                "responses": {
                    "204": {"description": "Deleted"},
                    **_errors("400", "401", "403", "404", "409", "410", "412", "428"),
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
                    **_errors("404", "410"),
                },
            },
        },
    }


def _other_paths() -> dict[str, Any]:
    secured = [{"bearer": []}]
    return {
        "/api/schemas": {
            "get": {
                "operationId": "listSchemas",
                "tags": ["schemas"],
                "summary": "Registered schemas (latest version of each)",
                "responses": {
                    "200": {
                        "description": "The registry",
                        "content": _json(
                            {
                                "type": "object",
                                "required": ["schemas", "total"],
                                "properties": {
                                    "schemas": {"type": "array", "items": _ref("SchemaInfo")},
                                    "total": {"type": "integer"},
                                },
                            }
                        ),
                    }
                },
            },
            "post": {
                "operationId": "registerSchema",
                "tags": ["schemas"],
                "summary": "Register a schema, or a new version of one (same id)",
                "security": secured,
                "requestBody": {"required": True, "content": _json(_ref("SchemaRegistration"))},
                "responses": {
                    "200": {
                        "description": "Same content as the latest version: nothing new",
                        "content": _json(_ref("SchemaInfo")),
                    },
                    "201": {
                        "description": "Registered",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": _json(_ref("SchemaInfo")),
                    },
                    **_errors("400", "401", "403", "413", "415"),
                },
            },
        },
        "/api/schemas/{schema_id}": {
            "get": {
                "operationId": "getSchema",
                "tags": ["schemas"],
                "summary": "One version of a schema (default: the latest), with its content",
                "parameters": [
                    {
                        "name": "schema_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {
                    "200": {"description": "The schema", "content": _json(_ref("SchemaInfo"))},
                    **_errors("400", "404"),
                },
            }
        },
        "/api/sources": {
            "get": {
                "operationId": "listSources",
                "tags": ["admin"],
                "summary": "Harvest sources with record counts and their last run",
                "responses": {"200": {"description": "Sources", "content": _json(_ref("Sources"))}},
            }
        },
        "/api/sources/{key}/runs": {
            "get": {
                "operationId": "listRuns",
                "tags": ["admin"],
                "summary": "The last harvest runs of a source, with their errors",
                "parameters": [
                    {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "Runs", "content": _json(_ref("Runs"))},
                    **_errors("404"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["docs"],
                "summary": "This document",
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}
                },
            }
        },
        "/api/docs": {
            "get": {
                "operationId": "getApiDocs",
                "tags": ["docs"],
                "summary": "This document as an HTML page",
                "responses": {
                    "200": {
                        "description": "HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


Q_SYNTAX = (
    "Words rank records matching more of them first (at least one of two words, all but "
    'one of three or four, 75% of more); +word, "a phrase" and field:value are required, '
    "-word excluded; a pasted DOI, Handle or URL finds its record; AND/OR/NOT, parentheses "
    "and ranges (year:[2000 TO 2010]) switch to boolean syntax with AND between terms."
)


def _merged_paths(*groups: dict[str, Any]) -> dict[str, Any]:
    """Path items of several surfaces, the methods of one path from several of them joined."""
    paths: dict[str, Any] = {}
    for group in groups:
        for path, item in group.items():
            paths.setdefault(path, {}).update(item)
    return paths


@cache
def openapi_document() -> dict[str, Any]:
    return add_examples(_document())


def _document() -> dict[str, Any]:
    error = {"application/json": {"schema": _ref("Error")}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Research Metadata Catalogue API",
            "version": "1",
            "description": "Search, harvest sources, record ingest and schema registry. Reads "
            "need no token; writes need `Authorization: Bearer <token>` (tokens are created "
            "with `catalogue tokens create --role depositor`). Every error has the body "
            "{status, message, errors: [{field, message}]}, fields as JSON pointers.",
        },
        "paths": _merged_paths(
            _record_paths(), _other_paths(), dialects.openapi_paths(), admin_openapi.paths()
        ),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
            "parameters": {
                "rid": {
                    "name": "rid",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                },
                "ifMatch": {
                    "name": "If-Match",
                    "in": "header",
                    "required": True,
                    "description": "The ETag from GET (428 without it, 412 when stale; * = any)",
                    "schema": {"type": "string"},
                },
                "validate": {
                    "name": "validate",
                    "in": "query",
                    "description": "true: run every check, store nothing",
                    "schema": {"type": "boolean"},
                },
                "atomic": {
                    "name": "atomic",
                    "in": "query",
                    "description": "false: store the valid records of a list, report the others",
                    "schema": {"type": "boolean"},
                },
            },
            "responses": {
                f"E{code}": {"description": text, "content": error}
                for code, text in ERROR_STATUSES.items()
            },
        },
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return jsonify(openapi_document())


@bp.get("/api/docs")
def api_docs() -> str:
    doc = openapi_document()
    return render_template(
        "api_docs.html", doc=doc, methods=("get", "post", "put", "patch", "delete")
    )
