"""KIT metastore2 (API v2) clients push to the catalogue unchanged.

``POST /api/metastore/v2/metadata``: multipart with ``record`` (the metastore2 metadata
record JSON: ``titles[{value}]``, ``resourceType{value, typeGeneral}``, and
``relatedIdentifiers`` with a ``HAS_METADATA`` link to a schema registered in this
catalogue's registry (``/api/schemas``; a metastore2 schema URL or the bare id, with
``?version=N`` or the latest) and an ``IS_METADATA_FOR`` link to the described resource) and
``document`` (JSON or XML, validated against that schema). The answer is 201 with the
record completed as metastore2 completes it (id, identifier, dates, version, state, ...),
an ``ETag`` and a ``Location``. A malformed request is a 400, a document that fails its
schema a 422 listing the errors.

``GET /api/metastore/v2/metadata/{id}`` returns the document (as metastore2 does), or the
record with ``Accept: application/vnd.datacite.org+json``; ``PUT`` replaces the record
and/or the document and needs ``If-Match`` (428 without, 412 when stale).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from catalogue.store import LocalWrite, RegisteredSchema, utcnow
from catalogue.web.auth import WRITE_RECORDS, require_role
from catalogue.web.deposit import ID_PATTERN, RESERVED_ID
from catalogue.web.dialects.common import checked_metadata, dialect_sets, problem_status, write
from catalogue.web.dialects.metastore_checks import record_json, schema_of, validate_document
from catalogue.web.errors import ApiError
from catalogue.web.ingest_api import document_media_type, new_record_id
from catalogue.web.negotiation import base_etag
from catalogue.web.services import services
from mappings import MappingError
from mappings.metastore2 import from_metastore_deposit
from mappings.numbers import ascii_int

bp = Blueprint("metastore", __name__)

NAME = "metastore"
RECORD_TYPE = "application/vnd.datacite.org+json"


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _part(name: str) -> tuple[bytes, str] | None:
    if name in request.files:
        upload = request.files[name]
        return upload.read(), upload.mimetype
    if name in request.form:
        return request.form[name].encode("utf-8", errors="surrogatepass"), ""
    return None


def _parts(required: bool) -> tuple[tuple[bytes, str] | None, tuple[bytes, str] | None]:
    if request.mimetype != "multipart/form-data":
        raise ApiError(
            415,
            f"unsupported Content-Type {request.mimetype or '(none)'!r}",
            [{"field": "Content-Type", "message": "use multipart/form-data (record, document)"}],
        )
    names = set(request.files) | set(request.form)
    unknown = sorted(str(n) for n in names - {"record", "document"})
    errors = [{"field": f"/{n}", "message": "unknown part"} for n in unknown]
    record, document = _part("record"), _part("document")
    if required:
        errors += [
            {"field": f"/{name}", "message": "required part"}
            for name, part in (("record", record), ("document", document))
            if part is None
        ]
    elif record is None and document is None:
        errors.append({"field": "", "message": "send a record part, a document part or both"})
    if errors:
        raise ApiError(400, "the form is not a metastore2 metadata upload", errors)
    return record, document


def _completed(
    record: dict[str, Any], rid: str, schema: RegisteredSchema, actor: str, version: int,
    created: str, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The record as metastore2 answers it: what the client left out filled by the server."""
    schema_url = url_for("schemas.get_schema", schema_id=schema.schema_id, _external=True)
    related = []
    for rel in record["relatedIdentifiers"]:
        rel = dict(rel)
        if str(rel["relationType"]).upper() == "HAS_METADATA":
            rel.update(identifierType="URL", value=f"{schema_url}?version={schema.version}")
        related.append(rel)
    dates = [d for d in record.get("dates") or [] if str(d.get("type", "")).upper() != "CREATED"]
    return {
        **record,
        "id": rid,
        "identifier": record.get("identifier") or {"identifierType": "DOI", "value": "(:tba)"},
        "creators": record.get("creators") or [{"givenName": actor}],
        "publisher": record.get("publisher") or actor,
        "publicationYear": str(record.get("publicationYear") or created[:4]),
        "dates": [{"value": created, "type": "CREATED"}, *dates],
        "relatedIdentifiers": related,
        "alternateIdentifiers": [{"value": rid, "identifierType": "INTERNAL"}],
        "version": str(version),
        "rights": record.get("rights") or [],
        "lastUpdate": _iso(now),
        "state": record.get("state") or "VOLATILE",
        "acls": record.get("acls") or [{"sid": actor, "permission": "ADMINISTRATE"}],
    }


def _write_of(
    rid: str, op: str, record: dict[str, Any], document: tuple[bytes, str],
    schema: RegisteredSchema, expected: frozenset[str] | None,
) -> LocalWrite:  # fmt: skip
    try:
        metadata, _warnings = from_metastore_deposit(record, document[0], document[1] or None)
    except MappingError as exc:
        raise ApiError(422, "the document cannot be mapped",
                       [{"field": "/document", "message": str(exc)}]) from exc  # fmt: skip
    problems = checked_metadata(metadata, "/record")
    if problems:
        raise ApiError(400, "the record cannot be stored", problems)
    return LocalWrite(
        rid, op, metadata, dialect_sets(NAME), raw=document[0],
        raw_format=f"metastore2:{schema.schema_id}"[:64], schema_id=schema.schema_id,
        schema_version=schema.version, expected_etags=expected,
    )  # fmt: skip


def _answer(result: Any, record: dict[str, Any], status: int) -> Response:
    if result.problem is not None:
        raise ApiError(
            problem_status(result),
            result.problem.message,
            [{"field": "/record/id" if status == 201 else "If-Match",
              "message": result.problem.message}],
        )  # fmt: skip
    response = jsonify(record)
    response.status_code = status
    response.headers["Location"] = url_for(".get_metadata", id=record["id"], _external=True)
    response.set_etag(result.etag)
    return response


@bp.post("/api/metastore/v2/metadata")
def create_metadata() -> Response:
    token = require_role(WRITE_RECORDS)
    record_part, document = _parts(required=True)
    assert record_part is not None and document is not None
    record = record_json(record_part)
    schema = schema_of(record)
    validate_document(schema, document[0])
    given = record.get("id")
    rid = given if isinstance(given, str) and ID_PATTERN.fullmatch(given) else new_record_id()
    if RESERVED_ID.fullmatch(rid) and rid == given:
        raise ApiError(400, "that id is reserved", [{"field": "/record/id", "message":
                       "ids of the shape of server-assigned ones are reserved"}])  # fmt: skip
    now = utcnow()
    completed = _completed(record, rid, schema, token.name, 1, _iso(now), now)
    (result,) = write([_write_of(rid, "create", completed, document, schema, None)], token.name)
    return _answer(result, completed, 201)


def _stored(rid: str) -> tuple[Any, dict[str, Any], bytes]:
    store = services().store
    state = store.get_record_state(rid)
    if state is None or f"source:local:{NAME}" not in state.record.sets:
        raise ApiError(404, f"no metadata record with id {rid!r}")
    if state.record.deleted:
        raise ApiError(410, f"metadata record {rid!r} was deleted")
    record = (state.record.metadata.get("extra") or {}).get("metastore2", {}).get("record")
    raw = store.get_raw(rid)
    if not isinstance(record, dict) or raw is None:
        raise ApiError(404, f"no metadata record with id {rid!r}")
    return state, record, raw[1]


@bp.get("/api/metastore/v2/metadata/<id>")
def get_metadata(id: str) -> Response:  # noqa: A002 - metastore2's name
    rid = id
    state, record, document = _stored(rid)
    # the record only when asked for by name (a */* client gets the document, as metastore2)
    if any(value == RECORD_TYPE and q > 0 for value, q in request.accept_mimetypes):
        response = jsonify(record)
        response.content_type = RECORD_TYPE
    else:
        mimetype, _ = document_media_type("", document)
        response = Response(document, mimetype=mimetype)
    response.set_etag(state.etag)
    response.vary.add("Accept")
    return response.make_conditional(request)


@bp.put("/api/metastore/v2/metadata/<id>")
def update_metadata(id: str) -> Response:  # noqa: A002 - metastore2's name
    rid = id
    token = require_role(WRITE_RECORDS)
    if "If-Match" not in request.headers:
        raise ApiError(428, "this request needs If-Match with the record's ETag (from GET)",
                       [{"field": "If-Match", "message": "required"}])  # fmt: skip
    expected = (
        None
        if request.if_match.star_tag
        else frozenset(base_etag(t) for t in request.if_match.as_set() if t)
    )
    record_part, document = _parts(required=False)
    state, stored, stored_document = _stored(rid)
    if expected is not None and state.etag not in expected:
        raise ApiError(412, f"metadata record {rid!r} has changed since that ETag was read",
                       [{"field": "If-Match", "message": "stale"}])  # fmt: skip
    record = record_json(record_part) if record_part is not None else stored
    if record.get("id") not in (None, rid):
        raise ApiError(400, "the record's id differs from the URL's",
                       [{"field": "/record/id", "message": f"must be {rid!r}"}])  # fmt: skip
    if document is None:
        document = (stored_document, "")
    schema = schema_of(record)
    validate_document(schema, document[0])
    created = next(
        (d["value"] for d in stored.get("dates", []) if d.get("type") == "CREATED"),
        _iso(utcnow()),
    )
    stored_version = ascii_int(str(stored.get("version", "1")), 9)
    version = stored_version + 1 if stored_version is not None else 2
    completed = _completed(record, rid, schema, token.name, version, created, utcnow())
    write_ = _write_of(rid, "replace", completed, document, schema, frozenset({state.etag}))
    (result,) = write([write_], token.name)
    return _answer(result, completed, 200)


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path items of this dialect."""
    part = {"type": "string", "minLength": 1}
    form = {
        "type": "object",
        "properties": {"record": part, "document": part},
        "additionalProperties": False,
    }
    record_out = {"application/json": {"schema": {"type": "object", "required": ["id"]}}}
    errors = {code: {"$ref": f"#/components/responses/E{code}"} for code in (
        "400", "401", "403", "404", "409", "410", "412", "413", "415", "422", "428")}  # fmt: skip
    rid = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    headers = {"ETag": {"schema": {"type": "string"}}, "Location": {"schema": {"type": "string"}}}
    return {
        "/api/metastore/v2/metadata": {
            "post": {
                "operationId": "metastoreCreateMetadata",
                "tags": ["dialects"],
                "summary": "KIT metastore2 API v2: ingest a metadata record with its document",
                "description": "multipart/form-data: record (metastore2 record JSON with "
                "HAS_METADATA -> a schema of /api/schemas and IS_METADATA_FOR) and document "
                "(validated against that schema: 422 when it fails). Stored in source:local, "
                "set source:local:metastore.",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {**form, "required": ["record", "document"]}
                        }
                    },
                },
                "responses": {
                    "201": {"description": "Created", "headers": headers, "content": record_out},
                    **{k: v for k, v in errors.items() if k not in ("404", "410", "412", "428")},
                },
            }
        },
        "/api/metastore/v2/metadata/{id}": {
            "get": {
                "operationId": "metastoreGetMetadata",
                "tags": ["dialects"],
                "summary": "The document; the record with Accept: " + RECORD_TYPE,
                "parameters": [rid],
                "responses": {
                    "200": {
                        "description": "The document, or the record",
                        "content": {
                            RECORD_TYPE: {"schema": {"type": "object"}},
                            "application/json": {"schema": {}},
                            "application/xml": {"schema": {"type": "string"}},
                            "application/octet-stream": {"schema": {"type": "string"}},
                        },
                    },
                    "304": {"description": "Not modified (If-None-Match)"},
                    "404": errors["404"],
                    "410": errors["410"],
                },
            },
            "put": {
                "operationId": "metastoreUpdateMetadata",
                "tags": ["dialects"],
                "summary": "Replace the record and/or the document (If-Match required)",
                "security": [{"bearer": []}],
                "parameters": [rid, {"$ref": "#/components/parameters/ifMatch"}],
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": form}},
                },
                "responses": {
                    "200": {"description": "Updated", "headers": headers, "content": record_out},
                    **{k: v for k, v in errors.items() if k != "409"},
                },
            },
        },
    }
