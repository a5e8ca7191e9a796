"""perfSONAR UNIS clients push to the catalogue unchanged: ``POST /api/unis/metadata``.

As the UNIS reference (``Insert Metadata``) has it: the body is one metadata object or a
list of them, sent as ``application/perfsonar+json`` with the metadata schema as its
``profile``; the answer is 201 with the object(s) completed by the server (``id``, ``ts`` in
microseconds since the epoch, ``selfRef``) and, for one object, ``Location``; 400 when
validation fails, 401 without credentials, 409 when an object's ``id`` was inserted
before. ``GET /api/unis/metadata/{id}`` returns the object in UNIS form. The objects are
mapped by ``mappings.unis`` (the crosswalk UNIS harvests use) into the local source, set
``source:local:unis``.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from flask import Blueprint, Response, request, url_for
from jsonschema import Draft202012Validator

from catalogue.store import LocalWrite, utcnow
from catalogue.web.auth import WRITE_RECORDS, require_role
from catalogue.web.deposit import ID_PATTERN, read_json, unstorable
from catalogue.web.dialects.common import (
    checked_metadata,
    dialect_record,
    dialect_sets,
    problem_status,
    schema_errors,
    write,
)
from catalogue.web.errors import ApiError
from catalogue.web.services import services
from mappings import MappingError
from mappings.unis import RAW_FORMAT, from_unis

bp = Blueprint("unis", __name__)

NAME = "unis"
MEDIA_TYPE = "application/perfsonar+json"
PROFILE = "http://unis.incntre.iu.edu/schema/20120709/metadata#"
MAX_TEXT = 2000
# A UNIS metadata object as a client sends it: what it is about and which event type; the
# server sets id (when absent), ts and selfRef. Other members are kept (UNIS objects are
# open) and reported by the crosswalk.
METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["subject", "eventType"],
    "properties": {
        # a UNIS metadata schema (of any UNIS version), not node#, port#, ...
        "$schema": {"type": "string", "maxLength": MAX_TEXT, "pattern": "/metadata#?$"},
        "id": {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"},
        "ts": {"type": "integer"},
        "selfRef": {"type": "string", "maxLength": MAX_TEXT},
        "subject": {
            "type": "object",
            "required": ["href"],
            "properties": {
                "href": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
                "rel": {"type": "string", "maxLength": MAX_TEXT},
            },
        },
        "eventType": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
        "parameters": {"type": "object"},
    },
}
REQUEST_SCHEMA: dict[str, Any] = {
    "oneOf": [
        METADATA_SCHEMA,
        {"type": "array", "minItems": 1, "items": METADATA_SCHEMA},
    ]
}
_VALIDATOR = Draft202012Validator(METADATA_SCHEMA)
_PROFILE_PARAM = re.compile(r';\s*profile\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def _content_type() -> str:
    """The response type: UNIS' media type with the profile the client named."""
    return f"{MEDIA_TYPE}; profile={PROFILE}"


def _check_media_type() -> None:
    if request.mimetype not in (MEDIA_TYPE, "application/json"):
        raise ApiError(
            415,
            f"unsupported Content-Type {request.mimetype or '(none)'!r}",
            [{"field": "Content-Type", "message": f"use {MEDIA_TYPE}; profile={PROFILE}"}],
        )
    # UNIS writes the profile URL unquoted, which MIME parameter parsers cut at the colon
    found = _PROFILE_PARAM.search(request.headers.get("Content-Type", ""))
    profile = found.group(1).strip() if found else None
    if profile is not None and not profile.rstrip("#").endswith("/metadata"):
        raise ApiError(
            415,
            f"profile {profile[:200]!r} is not a UNIS metadata schema",
            [{"field": "Content-Type", "message": f"profile must be {PROFILE}"}],
        )


@bp.post("/api/unis/metadata")
def insert_metadata() -> Response:
    token = require_role(WRITE_RECORDS)
    _check_media_type()
    body = read_json(request.get_data(cache=True))
    is_list = isinstance(body, list)
    objects = body if is_list else [body]
    limit = services().settings["ingest"]["max_list_items"]
    if is_list and not objects:
        raise ApiError(400, "empty list", [{"field": "", "message": "no metadata given"}])
    if len(objects) > limit:
        raise ApiError(413, f"at most {limit} metadata objects per request")
    errors: list[dict[str, str]] = []
    writes, completed = [], []
    now = utcnow()
    ts = int(now.timestamp() * 1_000_000)
    for n, obj in enumerate(objects):
        at = f"/{n}" if is_list else ""
        found = unstorable(obj, at) or schema_errors(_VALIDATOR, obj, at)
        if found:
            errors.extend(found)
            continue
        uid = obj.get("id") or secrets.token_hex(12)  # 24 hex digits, like UNIS' ObjectIds
        full = {
            **obj,
            "id": uid,
            "ts": ts,
            "selfRef": url_for(".get_metadata", id=uid, _external=True),
        }
        try:
            metadata, _warnings = from_unis(full)
        except MappingError as exc:
            errors.append({"field": at, "message": str(exc)})
            continue
        problems = checked_metadata(metadata, at)
        if problems:
            errors.extend(problems)
            continue
        raw = json.dumps(full, ensure_ascii=False, separators=(",", ":")).encode()
        writes.append(
            LocalWrite(uid, "create", metadata, dialect_sets(NAME), raw=raw, raw_format=RAW_FORMAT)
        )
        completed.append(full)
    if errors:
        raise ApiError(400, "the metadata failed validation; nothing was inserted", errors)
    results = write(writes, token.name)
    conflicts = [r for r in results if r.problem is not None]
    if conflicts:
        status = max(problem_status(r) for r in conflicts)
        raise ApiError(
            status,
            "metadata inserted before; nothing was inserted",
            [{"field": "/id", "message": r.problem.message} for r in conflicts if r.problem],
        )
    response = Response(
        json.dumps(completed if is_list else completed[0], ensure_ascii=False),
        status=201,
        content_type=_content_type(),
    )
    if not is_list:
        response.headers["Location"] = completed[0]["selfRef"]
        if results[0].etag:
            response.set_etag(results[0].etag)
    return response


@bp.get("/api/unis/metadata/<id>")
def get_metadata(id: str) -> Response:  # noqa: A002 - the reference's name
    state, raw = dialect_record(id, NAME)
    response = Response(raw, content_type=_content_type())
    response.set_etag(state.etag)
    return response.make_conditional(request)


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path items of this dialect."""
    body = {"schema": REQUEST_SCHEMA}
    out = {
        "schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
    }
    return {
        "/api/unis/metadata": {
            "post": {
                "operationId": "unisInsertMetadata",
                "tags": ["dialects"],
                "summary": "perfSONAR UNIS: insert one metadata object or a list of them",
                "description": "As UNIS' Insert Metadata: the server sets id (unless given), "
                "ts (microseconds) and selfRef. Stored in source:local, set source:local:unis.",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {MEDIA_TYPE: body, "application/json": body},
                },
                "responses": {
                    "201": {
                        "description": "Inserted: the object(s) as stored",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": {MEDIA_TYPE: out},
                    },
                    **_errors("400", "401", "403", "409", "413", "415"),
                },
            }
        },
        "/api/unis/metadata/{id}": {
            "get": {
                "operationId": "unisGetMetadata",
                "tags": ["dialects"],
                "summary": "perfSONAR UNIS: one metadata object, in UNIS form",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "The metadata object", "content": {MEDIA_TYPE: out}},
                    "304": {"description": "Not modified (If-None-Match)"},
                    **_errors("404", "410"),
                },
            }
        },
    }


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}
