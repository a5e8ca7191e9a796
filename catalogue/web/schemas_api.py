"""Schema registry (metastore2-like): POST/GET /api/schemas.

A schema is a JSON Schema (applied to a record's ``metadata.extra``) or an XML Schema
(applied to a deposited XML document), registered under an id; registering the same id
again adds a version. Records name a schema by id (its latest version at deposit time) or
by {id, version}; versions never change once registered.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from catalogue.store import RegisteredSchema
from catalogue.web.auth import caller_is_admin, register_schema_roles, require_role
from catalogue.web.deposit import check_json_schema, read_json, unstorable
from catalogue.web.errors import ApiError
from catalogue.web.services import services
from catalogue.web.xsd import SchemaCompileError, compile_registered
from mappings.numbers import ascii_int

bp = Blueprint("schemas", __name__)

SCHEMA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
TYPES = {"json": "application/schema+json", "xsd": "application/xml"}
MAX_SCHEMA_CHARS = 1024 * 1024
_FIELDS = {"id", "type", "content", "label", "comment"}


def schema_json(schema: RegisteredSchema, versions: list[int], *, content: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": schema.schema_id,
        "version": schema.version,
        "versions": versions,
        "type": schema.type,
        "mime_type": schema.mime_type,
        "label": schema.label,
        "comment": schema.comment,
        "sha256": schema.sha256,
        "created_at": schema.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": {
            "self": url_for(
                "schemas.get_schema",
                schema_id=schema.schema_id,
                version=schema.version,
                _external=True,
            )
        },
    }
    if caller_is_admin():  # a token name is personal data
        body["created_by"] = schema.created_by
    if content:
        body["content"] = json.loads(schema.content) if schema.type == "json" else schema.content
    return body


@bp.post("/api/schemas", strict_slashes=False)
def register_schema() -> Response:
    token = require_role(register_schema_roles())
    if request.args:
        raise ApiError(
            400,
            "invalid query parameters",
            [{"field": name, "message": "unknown parameter"} for name in request.args],
        )
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            f"unsupported Content-Type {request.mimetype or '(none)'!r}",
            [{"field": "Content-Type", "message": "use application/json"}],
        )
    doc = read_json(request.get_data(cache=True))
    schema_id, type_, content, label, comment = _parse_registration(doc)
    store = services().store
    schema, created = store.register_schema(
        schema_id, type_, TYPES[type_], content, label=label, comment=comment, actor=token.name
    )
    body = schema_json(schema, store.schema_versions(schema_id), content=False)
    response = jsonify(body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = body["links"]["self"]
    return response


def _parse_registration(doc: Any) -> tuple[str, str, str, str | None, str | None]:
    if not isinstance(doc, dict):
        raise ApiError(
            400, "the registration is not valid", [{"field": "", "message": "must be an object"}]
        )
    errors = unstorable(doc, "")
    if errors:
        raise ApiError(400, "the registration is not valid", errors)
    errors = [{"field": f"/{k}", "message": "unknown member"} for k in doc if k not in _FIELDS]
    schema_id = doc.get("id")
    if not isinstance(schema_id, str) or not SCHEMA_ID.fullmatch(schema_id):
        errors.append({"field": "/id", "message": f"required, matching {SCHEMA_ID.pattern}"})
    type_ = doc.get("type")
    if not isinstance(type_, str) or type_ not in TYPES:
        errors.append({"field": "/type", "message": f"required, one of {sorted(TYPES)}"})
    for name, limit in (("label", 500), ("comment", 10000)):
        value = doc.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(
                {"field": f"/{name}", "message": f"a string of at most {limit} characters"}
            )
    content = doc.get("content")
    text = ""
    if "content" not in doc:
        errors.append({"field": "/content", "message": "required"})
    elif type_ == "json":
        problem = check_json_schema(content)
        if problem:
            errors.append({"field": "/content", "message": problem})
        text = json.dumps(content, sort_keys=True, ensure_ascii=False)
    elif type_ == "xsd":
        if not isinstance(content, str):
            errors.append({"field": "/content", "message": "an XML Schema document, as a string"})
        else:
            text = content
            try:
                compile_registered(content)
            except SchemaCompileError as exc:
                errors.append({"field": "/content", "message": str(exc)})
    if len(text) > MAX_SCHEMA_CHARS:
        errors.append(
            {"field": "/content", "message": f"longer than {MAX_SCHEMA_CHARS} characters"}
        )
    if errors:
        raise ApiError(400, "the registration is not valid", errors)
    return schema_id, type_, text, doc.get("label"), doc.get("comment")


@bp.get("/api/schemas", strict_slashes=False)
def list_schemas() -> Response:
    store = services().store
    schemas = [
        schema_json(s, store.schema_versions(s.schema_id), content=False)
        for s in store.list_schemas()
    ]
    return jsonify({"schemas": schemas, "total": len(schemas)})


@bp.get("/api/schemas/<schema_id>")
def get_schema(schema_id: str) -> Response:
    """One version (``?version=N``, default the latest) with its content."""
    unknown = [name for name in request.args if name != "version"]
    version = None
    raw = request.args.get("version")
    if unknown or len(request.args.getlist("version")) > 1:
        raise ApiError(
            400,
            "invalid query parameters",
            [
                {"field": n, "message": "unknown or repeated parameter"}
                for n in unknown or ["version"]
            ],
        )
    if raw is not None:
        version = ascii_int(raw, 10)
        if version is None or not 0 < version < 2**31:
            raise ApiError(
                400,
                "invalid query parameters",
                [{"field": "version", "message": "must be a positive integer"}],
            )
    store = services().store
    schema = store.get_schema(schema_id, version)
    if schema is None:
        what = f"version {version} of schema" if version else "schema"
        raise ApiError(404, f"no {what} {schema_id!r}")
    return jsonify(schema_json(schema, store.schema_versions(schema_id), content=True))
