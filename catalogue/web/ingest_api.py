"""Record-ingest API: deposit, replace, patch and delete records of the local source.

POST /api/records takes one record or a list (UNIS), or a metadata document (XML or a
metastore2 multipart form); PUT, PATCH (RFC 6902) and DELETE need If-Match (metastore2).
Everything is validated before the store is touched, and the store re-checks ids, DOIs
and ETags inside the write transaction, so a failed request stores nothing.

Past 400 lines: one blueprint for the record resource's six methods, which share its
precondition and answer helpers; split by method they would import each other.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, json, jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from catalogue.model import LOCAL_SOURCE, record_id
from catalogue.store import LocalResult, LocalWrite, LocalWriteConflict, ProblemKind
from catalogue.web.auth import WRITE_RECORDS, require_role
from catalogue.web.deposit import (
    WRITABLE,
    Candidate,
    parse_deposit,
    read_json,
    record_from_json,
    refuse_reserved_id,
    unstorable_text,
)
from catalogue.web.errors import ApiError
from catalogue.web.limits import record_size_problems
from catalogue.web.negotiation import base_etag, record_json
from catalogue.web.patching import apply_patch, check_patch
from catalogue.web.services import services
from mappings.formats import FORMATS

bp = Blueprint("ingest", __name__)

PROBLEM_STATUS = {
    ProblemKind.ID_TAKEN: 409,
    ProblemKind.DOI_TAKEN: 409,
    ProblemKind.NOT_LOCAL: 409,
    ProblemKind.NOT_FOUND: 404,
    ProblemKind.GONE: 410,
    ProblemKind.STALE: 412,
}
# The request field a store problem is about; others are about the record as a whole ("").
PROBLEM_FIELD = {
    ProblemKind.ID_TAKEN: "/id",
    ProblemKind.DOI_TAKEN: "/metadata/identifiers",
    ProblemKind.STALE: "If-Match",
}
PATCH_TYPES = ("application/json-patch+json", "application/json")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class WriteArgs:
    """The query string of a write: ?validate=true stores nothing, ?atomic=false (lists)
    stores the valid records and reports the others."""

    validate: bool
    atomic: bool


def parse_write_args(args: MultiDict[str, str], *, allow_atomic: bool) -> WriteArgs:
    allowed = {"validate", "atomic"} if allow_atomic else {"validate"}
    errors = [
        {"field": name, "message": f"unknown parameter; allowed: {sorted(allowed)}"}
        for name in args
        if name not in allowed
    ]
    values = {}
    for name in sorted(allowed):
        given = args.getlist(name)
        if len(given) > 1:
            errors.append({"field": name, "message": "given more than once"})
        # a bare ?validate (or validate=) is refused, not read as the default: the default
        # stores the records, which is not what someone writing the flag asked for
        raw = given[0].lower() if given else None
        if raw is not None and raw not in _TRUE | _FALSE:
            errors.append({"field": name, "message": "must be true or false"})
        values[name] = raw in _TRUE if raw is not None else name == "atomic"
    if errors:
        raise ApiError(400, "invalid query parameters", errors)
    return WriteArgs(validate=values["validate"], atomic=values.get("atomic", True))


def new_record_id() -> str:
    """A server-chosen id, shaped like the ids of harvested records."""
    return record_id(LOCAL_SOURCE, secrets.token_hex(16))


def _write_of(
    candidate: Candidate, rid: str, op: str, expected: frozenset[str] | None
) -> LocalWrite:
    schema = candidate.schema
    return LocalWrite(
        rid=rid,
        op=op,
        metadata=candidate.metadata,
        sets=candidate.stored_sets,
        raw=candidate.raw,
        raw_format=candidate.raw_format,
        schema_id=schema.schema_id if schema else None,
        schema_version=schema.version if schema else None,
        expected_etags=expected,
    )


def _self_link(rid: str) -> str:
    return url_for("search.get_record", rid=rid, _external=True)


@bp.before_app_request
def _refuse_unstorable_path_values() -> None:
    """A path value no stored key can equal is a 404 before any query: PostgreSQL raises
    on U+0000 in a parameter (a 500), SQLite would just find nothing."""
    if not request.path.startswith("/api/") or not request.view_args:
        return
    for name, value in request.view_args.items():
        if isinstance(value, str) and unstorable_text(value) is not None:
            raise ApiError(404, f"no resource with that {name}")


# -- POST ----------------------------------------------------------------------


@bp.post("/api/records", strict_slashes=False)
def create_records() -> Response:
    token = require_role(WRITE_RECORDS)
    svc = services()
    args = parse_write_args(request.args, allow_atomic=True)
    candidates, is_list = parse_deposit(request, svc.store, svc.settings.ingest.max_list_items)
    oversize = record_size_problems(candidates, svc.settings.ingest.max_record_bytes)
    for candidate in candidates:
        refuse_reserved_id(candidate)
    if not is_list:
        _refuse_oversize(oversize)
        return _create_one(candidates[0], args, token.name)
    return _create_list(candidates, args, token.name, oversize)


def _create_one(candidate: Candidate, args: WriteArgs, actor: str) -> Response:
    if candidate.errors:
        raise ApiError(400, "the record is not valid", candidate.errors, extra=_warned(candidate))
    rid = candidate.rid or new_record_id()
    write = _write_of(candidate, rid, "create", None)
    (result,) = _write([write], actor, atomic=True, dry_run=args.validate, read_back=True)
    if result.problem is not None:
        raise _problem_error(result)
    if args.validate:
        return jsonify({"valid": True, "id": rid, "warnings": candidate.warnings})
    return _record_written(result, 201, candidate.warnings)


def _create_list(
    candidates: list[Candidate], args: WriteArgs, actor: str, oversize: dict[int, str]
) -> Response:
    items: list[dict[str, Any]] = [{"index": n} for n in range(len(candidates))]
    writes, where = [], []
    for n, candidate in enumerate(candidates):
        items[n]["warnings"] = candidate.warnings
        if n in oversize:
            items[n].update(status=413, errors=[{"field": f"/{n}", "message": oversize[n]}])
            continue
        if candidate.errors:
            items[n].update(status=400, errors=candidate.errors)
            continue
        writes.append(_write_of(candidate, candidate.rid or new_record_id(), "create", None))
        where.append(n)
    invalid = len(writes) < len(candidates)
    results: list[LocalResult] = []
    if writes and not (invalid and (args.atomic or args.validate)):
        results = _write(writes, actor, atomic=args.atomic, dry_run=args.validate)
    elif writes:
        # nothing will be stored: still run the store's checks, to report every problem
        results = _write(writes, actor, atomic=True, dry_run=True)
    for n, write, result in zip(where, writes, results, strict=True):
        item = items[n]
        if result.problem is not None:
            item.update(
                status=PROBLEM_STATUS[result.problem.kind],
                errors=[_problem_field(result, f"/{n}")],
            )
            continue
        item.update(id=write.rid, status=200 if args.validate or (invalid and args.atomic) else 201)
        if result.etag is not None:
            item.update(etag=f'"{result.etag}"', links={"self": _self_link(write.rid)})
    failed = [item for item in items if "errors" in item]
    stored = [item for item in items if item.get("status") == 201]
    if args.validate:
        if not failed:
            return jsonify({"valid": True, "items": items})
        _list_failure(items, failed, f"{len(failed)} of {len(items)} records are not valid")
    if failed and (args.atomic or not stored):
        for item in items:
            if item.get("status") in (200, 201):
                item["status"] = 200  # valid, but not stored
                item.pop("etag", None)
                item.pop("links", None)
        _list_failure(
            items, failed, f"{len(failed)} of {len(items)} records failed; nothing was stored"
        )
    body = {"items": items, "created": len(stored), "failed": len(failed)}
    return Response(_json_bytes(body), status=201, mimetype="application/json")


def _list_failure(items: list[dict[str, Any]], failed: list[dict[str, Any]], message: str) -> None:
    statuses = {item["status"] for item in failed}
    status = statuses.pop() if len(statuses) == 1 else 400
    errors = [error for item in failed for error in item["errors"]]
    raise ApiError(status, message, errors, extra={"items": items})


def _json_bytes(body: dict[str, Any]) -> str:
    return json.dumps(body)


def _problem_field(result: LocalResult, pointer: str = "") -> dict[str, str]:
    """The field error of a store problem; ``pointer``: where the record sits in a list."""
    assert result.problem is not None
    field = PROBLEM_FIELD.get(result.problem.kind, "")
    if not field.startswith("If-"):  # a header, not a JSON pointer into the body
        field = pointer + field
    return {"field": field, "message": result.problem.message}


# -- PUT, PATCH, DELETE --------------------------------------------------------


def _if_match() -> frozenset[str] | None:
    """The record ETags the client holds (None for ``*``); 428 without If-Match."""
    if "If-Match" not in request.headers:
        raise ApiError(
            428,
            "this request needs If-Match with the record's ETag (from GET)",
            [{"field": "If-Match", "message": "required"}],
        )
    if request.if_match.star_tag:
        return None
    # werkzeug yields None for an empty entry (If-Match: "")
    return frozenset(base_etag(tag) for tag in request.if_match.as_set() if tag)


@bp.put("/api/records/<rid>")
def replace_record(rid: str) -> Response:
    token = require_role(WRITE_RECORDS)
    svc = services()
    args = parse_write_args(request.args, allow_atomic=False)
    expected = _if_match()
    candidates, is_list = parse_deposit(request, svc.store, 1)
    if is_list:
        raise ApiError(400, "PUT takes one record", [{"field": "", "message": "not a list"}])
    _refuse_oversize(record_size_problems(candidates, svc.settings.ingest.max_record_bytes))
    return _replace(rid, candidates[0], expected, args, token.name)


def _replace(
    rid: str, candidate: Candidate, expected: frozenset[str] | None, args: WriteArgs, actor: str
) -> Response:
    if candidate.rid is not None and candidate.rid != rid:
        candidate.error("/id", f"differs from the id in the URL ({rid!r})")
    if candidate.errors:
        raise ApiError(400, "the record is not valid", candidate.errors, extra=_warned(candidate))
    write = _write_of(candidate, rid, "replace", expected)
    (result,) = _write([write], actor, True, args.validate, read_back=True)
    if result.problem is not None:
        raise _problem_error(result)
    if args.validate:
        return jsonify({"valid": True, "id": rid, "warnings": candidate.warnings})
    return _record_written(result, 200, candidate.warnings)


@bp.patch("/api/records/<rid>")
def patch_record(rid: str) -> Response:
    token = require_role(WRITE_RECORDS)
    svc = services()
    args = parse_write_args(request.args, allow_atomic=False)
    expected = _if_match()
    if request.mimetype not in PATCH_TYPES:
        raise ApiError(
            415,
            f"unsupported Content-Type {request.mimetype or '(none)'!r}",
            [{"field": "Content-Type", "message": f"use {PATCH_TYPES[0]} (RFC 6902)"}],
        )
    operations = check_patch(
        read_json(request.get_data(cache=True)),
        max_operations=svc.settings.ingest.max_patch_operations,
    )
    state = svc.store.get_record_state(rid)
    if state is None:
        raise ApiError(404, f"no record with id {rid!r}")
    if state.record.deleted:
        raise ApiError(410, f"record {rid!r} was deleted")
    if expected is not None and state.etag not in expected:
        raise ApiError(
            412,
            f"record {rid!r} has changed since that ETag was read",
            [{"field": "If-Match", "message": "stale"}],
        )
    current = record_json(state)
    patched = apply_patch(current, operations, svc.settings.max_request_bytes)
    _refuse_read_only_changes(current, patched)
    candidate = record_from_json(patched, "", svc.store)
    _refuse_oversize(record_size_problems([candidate], svc.settings.ingest.max_record_bytes))
    # Compare-and-swap against the version the patch was applied to.
    return _replace(rid, candidate, frozenset({state.etag}), args, token.name)


def _refuse_read_only_changes(current: dict[str, Any], patched: Any) -> None:
    """The members the catalogue sets (deleted, datestamp, source, ...) are read-only: a
    patch changing one was accepted and silently ignored."""
    if not isinstance(patched, dict):
        return  # record_from_json reports it
    changed = sorted(
        name
        for name in current.keys() | patched.keys()
        if name not in WRITABLE and current.get(name) != patched.get(name)
    )
    if changed:
        raise ApiError(
            400,
            "the patch changes members the catalogue sets",
            [{"field": f"/{name}", "message": "read-only"} for name in changed],
        )


@bp.delete("/api/records/<rid>")
def delete_record(rid: str) -> Response:
    token = require_role(WRITE_RECORDS)
    args = parse_write_args(request.args, allow_atomic=False)
    expected = _if_match()
    (result,) = _write(
        [LocalWrite(rid=rid, op="delete", expected_etags=expected)],
        token.name,
        True,
        args.validate,
    )
    if result.problem is not None:
        raise _problem_error(result)
    if args.validate:
        return jsonify({"valid": True, "id": rid, "warnings": []})
    return Response(status=204)


@bp.get("/api/records/<rid>/document")
def get_document(rid: str) -> Response:
    """The record's original document: an XML deposit, or the payload a harvest read
    (XML from OAI-PMH, JSON from most REST APIs), with its own media type."""
    store = services().store
    record = store.get_record(rid)
    if record is None:
        raise ApiError(404, f"no record with id {rid!r}")
    if record.deleted:
        raise ApiError(410, f"record {rid!r} was deleted")
    raw = store.get_raw(rid)
    if raw is None:
        raise ApiError(404, f"record {rid!r} was not deposited as a document")
    fmt, content = raw
    mimetype, extension = document_media_type(fmt, content)
    # no charset parameter: it would override the document's own XML declaration
    response = Response(content, content_type=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{rid}.{extension}"'
    return response


DOCUMENT_TYPES = {
    "xml": "application/xml",
    "json": "application/json",
    "bin": "application/octet-stream",
}


def document_media_type(fmt: str, content: bytes) -> tuple[str, str]:
    """(media type, file extension) of a stored original document.

    The OAI-PMH formats (which are the deposit formats too) are XML; the formats of REST
    harvests are named by their harvester (``b2share-json``, ``metastore2:<schema>``), so
    those are told by their first byte.
    """
    if fmt in FORMATS:
        kind = "xml"
    else:
        start = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        kind = {b"<": "xml", b"{": "json", b"[": "json"}.get(start, "bin")
    return DOCUMENT_TYPES[kind], kind


# -- shared --------------------------------------------------------------------


def _write(
    writes: list[LocalWrite], actor: str, atomic: bool, dry_run: bool, read_back: bool = False
) -> list[LocalResult]:
    try:
        return services().store.write_local(
            writes, actor=actor, atomic=atomic, dry_run=dry_run, read_back=read_back
        )
    except LocalWriteConflict as exc:
        raise ApiError(409, f"{exc}; try again") from exc


def _refuse_oversize(oversize: dict[int, str]) -> None:
    if oversize:
        message = oversize[min(oversize)]
        raise ApiError(413, "the record is too large", [{"field": "", "message": message}])


def _problem_error(result: LocalResult) -> ApiError:
    assert result.problem is not None
    status = PROBLEM_STATUS[result.problem.kind]
    errors = [_problem_field(result)] if status in (409, 412) else []
    return ApiError(status, result.problem.message, errors)


def _warned(candidate: Candidate) -> dict[str, Any]:
    return {"warnings": candidate.warnings} if candidate.warnings else {}


def _record_written(result: LocalResult, status: int, warnings: list[str]) -> Response:
    """The record as the write transaction stored it (no second read)."""
    state = result.state
    assert state is not None
    body = record_json(state)
    body["warnings"] = warnings
    response = jsonify(body)
    response.status_code = status
    response.set_etag(state.etag)
    if status == 201:
        response.headers["Location"] = body["links"]["self"]
    return response
