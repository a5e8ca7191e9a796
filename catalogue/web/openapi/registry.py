"""The OpenAPI paths of the schema registry, the sources listing and the document itself."""

from __future__ import annotations

from typing import Any

from catalogue.web.openapi.components import error_responses, json_content, schema_ref


def registry_paths() -> dict[str, Any]:
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
                        "content": json_content(
                            {
                                "type": "object",
                                "required": ["schemas", "total"],
                                "properties": {
                                    "schemas": {"type": "array", "items": schema_ref("SchemaInfo")},
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
                "requestBody": {
                    "required": True,
                    "content": json_content(schema_ref("SchemaRegistration")),
                },
                "responses": {
                    "200": {
                        "description": "Same content as the latest version: nothing new",
                        "content": json_content(schema_ref("SchemaInfo")),
                    },
                    "201": {
                        "description": "Registered",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": json_content(schema_ref("SchemaInfo")),
                    },
                    **error_responses("400", "401", "403", "413", "415"),
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
                    "200": {
                        "description": "The schema",
                        "content": json_content(schema_ref("SchemaInfo")),
                    },
                    **error_responses("400", "404"),
                },
            }
        },
        "/api/sources": {
            "get": {
                "operationId": "listSources",
                "tags": ["admin"],
                "summary": "Harvest sources with record counts and their last run",
                "responses": {
                    "200": {
                        "description": "Sources",
                        "content": json_content(schema_ref("Sources")),
                    }
                },
            }
        },
        "/api/sources/{key}/runs": {
            "get": {
                "operationId": "listRuns",
                "tags": ["admin"],
                "summary": "The harvest runs of a source, newest first, with their errors",
                "parameters": [
                    {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "size",
                        "in": "query",
                        "description": "runs a page (links.next carries on)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                    {
                        "name": "before",
                        "in": "query",
                        "description": "only runs with a smaller id (as links.next sets it)",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {
                    "200": {"description": "Runs", "content": json_content(schema_ref("Runs"))},
                    **error_responses("400", "404"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["docs"],
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": json_content({"type": "object"}),
                    }
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
