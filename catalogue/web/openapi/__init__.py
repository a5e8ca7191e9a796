"""The OpenAPI 3.1 document of every /api endpoint, served at /api/openapi.json and /api/docs.

Built from the code's own constants (the canonical metadata schema, facet names, sorts,
media types) so that the document cannot drift from what the endpoints accept.
One module per resource: records (search and ingest), registry (schemas, sources, this
document), the dialects and admin modules their own; components holds what they share.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from catalogue.web import admin_openapi, dialects
from catalogue.web.openapi.components import ERROR_STATUSES, component_schemas, schema_ref
from catalogue.web.openapi.records import record_paths
from catalogue.web.openapi.registry import registry_paths
from catalogue.web.openapi_examples import add_examples

bp = Blueprint("openapi", __name__)


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
    error = {"application/json": {"schema": schema_ref("Error")}}
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
            record_paths(), registry_paths(), dialects.openapi_paths(), admin_openapi.paths()
        ),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": component_schemas(),
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
