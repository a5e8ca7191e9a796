"""The OpenAPI description of the admin API of sources and runs (merged into the document
by :mod:`catalogue.web.openapi`), built from the same constants the endpoints check with."""

from __future__ import annotations

from typing import Any

from catalogue.schedules import MAX_SPEC_CHARS, SCHEDULE_HELP
from catalogue.source_fields import MAX_SETS
from harvester.harvest import SOURCE_TYPES
from harvester.sink import MAX_SET_SPEC_CHARS

SECURED = [{"bearer": []}]
KEY_PATTERN = "^[A-Za-z0-9._-]{1,64}$"
SET_PATTERN = r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _fields() -> dict[str, Any]:
    return {
        "url": {
            "type": "string",
            "format": "uri",
            "pattern": "^https?://",
            "maxLength": 2000,
            "description": "http(s) URL of the OAI-PMH endpoint or REST API",
        },
        "type": {"enum": list(SOURCE_TYPES), "description": "Source type (default oai)"},
        "metadata_prefix": {
            "type": ["string", "null"],
            "pattern": r"^[A-Za-z0-9\-_.!~*'()]{0,64}$",
            "description": "OAI-PMH metadataPrefix; null: the best the source offers",
        },
        "sets": {
            "type": ["array", "null"],
            "maxItems": MAX_SETS,
            "items": {"type": "string", "pattern": SET_PATTERN, "maxLength": MAX_SET_SPEC_CHARS},
            "description": "OAI-PMH setSpecs to harvest; empty: all",
        },
        "schedule": {
            "type": ["string", "null"],
            "maxLength": MAX_SPEC_CHARS,
            "description": f"When the scheduler harvests it: {SCHEDULE_HELP}; null: manual only",
        },
        "config": {
            "type": ["object", "null"],
            "description": "Options of the source type (checked against its JSON Schema); "
            "null: none",
        },
        "enabled": {"type": "boolean", "description": "false: paused (records stay)"},
    }


def schemas() -> dict[str, Any]:
    fields = _fields()
    run_counts = {
        "type": "object",
        "properties": {
            name: {"type": "integer"}
            for name in ("added", "updated", "unchanged", "deleted", "failed", "warnings")
        },
    }
    return {
        "SourceInput": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key", "url"],
            "properties": {
                "key": {"type": "string", "pattern": KEY_PATTERN, "not": {"const": "local"}},
                **fields,
            },
        },
        "SourceChange": {
            "type": "object",
            "additionalProperties": False,
            "properties": fields,
        },
        "Source": {
            "type": "object",
            "required": ["key", "type", "url", "enabled", "records"],
            "properties": {
                "key": {"type": "string"},
                "type": {"type": "string"},
                "url": {"type": "string"},
                "metadata_prefix": {"type": ["string", "null"]},
                "sets": {"type": "array", "items": {"type": "string"}},
                "schedule": {"type": ["string", "null"]},
                "next_run": {"type": ["string", "null"]},
                "enabled": {"type": "boolean"},
                "records": {"type": "integer"},
                "config": {"type": "object"},
                "running": {"type": ["integer", "null"]},
                "last_run": {"oneOf": [{"type": "null"}, _ref("Run")]},
            },
        },
        "Run": {
            "type": "object",
            "required": ["id", "source", "mode", "status", "counts"],
            "properties": {
                "id": {"type": "integer"},
                "source": {"type": "string"},
                "mode": {"type": "string"},
                "status": {"enum": ["queued", "running", "succeeded", "failed"]},
                "started_at": {"type": ["string", "null"]},
                "finished_at": {"type": ["string", "null"]},
                "counts": run_counts,
                "message": {"type": ["string", "null"]},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "source_id": {"type": ["string", "null"]},
                            "stage": {"type": "string"},
                            "reason": {"type": "string"},
                            "severity": {"enum": ["error", "warning"]},
                        },
                    },
                },
                "errors_total": {"type": "integer"},
            },
        },
        "RunRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"mode": {"enum": ["incremental", "full"]}},
        },
        "ProbeRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {k: fields[k] for k in ("url", "type", "metadata_prefix", "config")},
        },
        "ProbeResult": {
            "type": "object",
            "required": ["ok", "type", "url"],
            "properties": {
                "ok": {"type": "boolean"},
                "type": {"type": "string"},
                "url": {"type": "string"},
                "error": {"type": ["string", "null"]},
                "repository_name": {"type": ["string", "null"]},
                "metadata_formats": {"type": "array", "items": {"type": "object"}},
                "suggested_prefix": {"type": ["string", "null"]},
                "sets": {"type": "array", "items": {"type": "object"}},
                "more_sets": {"type": "boolean"},
                "total_records": {"type": ["integer", "null"]},
                "first_page_records": {"type": ["integer", "null"]},
                "sample": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Removed": {
            "type": "object",
            "required": ["key", "records_deleted"],
            "properties": {"key": {"type": "string"}, "records_deleted": {"type": "integer"}},
        },
    }


def paths() -> dict[str, Any]:
    key = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    location = {"Location": {"schema": {"type": "string"}}}
    return {
        "/api/sources": {
            "post": {
                "operationId": "createSource",
                "tags": ["admin"],
                "summary": "Register a harvest source (admin)",
                "security": SECURED,
                "requestBody": {"required": True, "content": _json(_ref("SourceInput"))},
                "responses": {
                    "201": {
                        "description": "Registered",
                        "headers": location,
                        "content": _json(_ref("Source")),
                    },
                    **_errors("400", "401", "403", "409", "413", "415"),
                },
            }
        },
        "/api/sources/probe": {
            "post": {
                "operationId": "probeSource",
                "tags": ["admin"],
                "summary": "Contact a would-be source (Identify, ListMetadataFormats, "
                "ListSets; a REST type's first page) and report it; nothing is saved (admin)",
                "security": SECURED,
                "requestBody": {"required": True, "content": _json(_ref("ProbeRequest"))},
                "responses": {
                    "200": {
                        "description": "What the source answered (ok false: why it failed)",
                        "content": _json(_ref("ProbeResult")),
                    },
                    **_errors("400", "401", "403", "413", "415"),
                },
            }
        },
        "/api/sources/{key}": {
            "get": {
                "operationId": "getSource",
                "tags": ["admin"],
                "summary": "A source with its config, schedule, next and last run (admin)",
                "security": SECURED,
                "parameters": [key],
                "responses": {
                    "200": {"description": "The source", "content": _json(_ref("Source"))},
                    **_errors("400", "401", "403", "404"),
                },
            },
            "patch": {
                "operationId": "editSource",
                "tags": ["admin"],
                "summary": "Change a source's fields, pause or resume it; its records stay (admin)",
                "security": SECURED,
                "parameters": [key],
                "requestBody": {"required": True, "content": _json(_ref("SourceChange"))},
                "responses": {
                    "200": {"description": "The source", "content": _json(_ref("Source"))},
                    **_errors("400", "401", "403", "404", "413", "415"),
                },
            },
            "delete": {
                "operationId": "deleteSource",
                "tags": ["admin"],
                "summary": "Remove a source; its records become deleted (tombstones) (admin)",
                "security": SECURED,
                "parameters": [key],
                "responses": {
                    "200": {"description": "Removed", "content": _json(_ref("Removed"))},
                    **_errors("400", "401", "403", "404", "409"),
                },
            },
        },
        "/api/sources/{key}/runs": {
            "post": {
                "operationId": "startRun",
                "tags": ["admin"],
                "summary": "Harvest now: queue a run, started within seconds (admin)",
                "security": SECURED,
                "parameters": [key],
                "requestBody": {"required": False, "content": _json(_ref("RunRequest"))},
                "responses": {
                    "202": {
                        "description": "Queued; poll the Location",
                        "headers": location,
                        "content": _json(_ref("Run")),
                    },
                    **_errors("400", "401", "403", "404", "409", "413", "415"),
                },
            }
        },
        "/api/sources/{key}/runs/{run_id}": {
            "get": {
                "operationId": "getRun",
                "tags": ["admin"],
                "summary": "A run: status, counts so far, errors (admin)",
                "security": SECURED,
                "parameters": [key, run_id],
                "responses": {
                    "200": {"description": "The run", "content": _json(_ref("Run"))},
                    **_errors("400", "401", "403", "404"),
                },
            }
        },
    }
