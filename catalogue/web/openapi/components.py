"""Shared pieces of the OpenAPI document: error responses, references, the schemas."""

from __future__ import annotations

import copy
from typing import Any

from catalogue.model import SET_SPEC, metadata_schema
from catalogue.web import admin_openapi
from catalogue.web.deposit import ID_PATTERN, MAX_SETS, READ_ONLY, RESERVED_ID
from catalogue.web.schemas_api import SCHEMA_ID

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


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error_responses(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
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


def component_schemas() -> dict[str, Any]:
    field_error = {
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "JSON pointer (or header/parameter name)"},
            "message": {"type": "string"},
        },
    }
    registered_schema = {
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
        "schema": registered_schema,
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
                "errors": {"type": "array", "items": schema_ref("FieldError")},
                "items": {"type": "array", "items": schema_ref("ItemResult")},
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
        "RecordInput": {
            "type": "object",
            "required": ["metadata"],
            "additionalProperties": False,
            "properties": {**envelope_props, "metadata": schema_ref("Metadata"), **read_only},
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
                "errors": {"type": "array", "items": schema_ref("FieldError")},
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
        },
        "ListResult": {
            "type": "object",
            "required": ["items", "created", "failed"],
            "properties": {
                "items": {"type": "array", "items": schema_ref("ItemResult")},
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
                "items": {"type": "array", "items": schema_ref("ItemResult")},
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
                # null reads as not given, as it does for any optional member
                "label": {"type": ["string", "null"], "maxLength": 500},
                "comment": {"type": ["string", "null"], "maxLength": 10000},
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
            "properties": {
                "runs": {"type": "array", "items": {"type": "object"}},
                "links": {
                    "type": "object",
                    "properties": {"next": {"type": "string", "format": "uri"}},
                },
            },
        },
    }
    schemas.update(_hoisted_metadata())
    schemas.update(admin_openapi.schemas())
    return schemas
