"""What the dialect endpoints share: checking a mapped record, writing it into the local
source through the ingest API's store path, and reading a dialect's records back.

Every dialect maps its request through a crosswalk of ``mappings`` and stores the result
with ``Store.write_local`` (one transaction, change log, OAI datestamps), in ``source:local``
and its own set ``source:local:<dialect>``; the original request object is kept as the
record's raw payload, so that GET can answer in the dialect's own form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator

from catalogue.store import LocalResult, LocalWrite, LocalWriteConflict, RecordState
from catalogue.web.deposit import LOCAL_SET, metadata_errors, unstorable, unstorable_text
from catalogue.web.errors import ApiError
from catalogue.web.ingest_api import PROBLEM_STATUS
from catalogue.web.limits import json_size
from catalogue.web.services import services


def dialect_sets(name: str) -> list[str]:
    """The sets of a record deposited through dialect ``name``."""
    return [LOCAL_SET, f"{LOCAL_SET}:{name}"]


def schema_errors(validator: Draft202012Validator, doc: Any, pointer: str = "") -> list[dict]:
    """Every violation of a request schema, as field errors (JSON pointers)."""
    errors = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "".join(f"/{_escape(str(p))}" for p in err.absolute_path)
        errors.append({"field": pointer + where, "message": err.message[:500]})
    return errors


def _escape(part: str) -> str:
    if unstorable_text(part) is not None:
        return "?"
    return part.replace("~", "~0").replace("/", "~1")


def checked_metadata(metadata: dict[str, Any], pointer: str) -> list[dict[str, str]]:
    """What keeps mapped metadata out of the store (both databases, canonical schema);
    413 for a record over ``ingest.max_record_bytes``."""
    limit = services().settings["ingest"]["max_record_bytes"]
    size = json_size(metadata)
    if size > limit:
        raise ApiError(
            413,
            "the record is too large",
            [
                {
                    "field": pointer,
                    "message": f"{size} bytes; at most {limit} (ingest.max_record_bytes)",
                }
            ],
        )
    bad = unstorable(metadata, pointer)
    if bad:
        return bad
    return [
        {"field": pointer + e["field"][len("/metadata") :], "message": e["message"]}
        for e in metadata_errors(metadata)
    ]


def write(
    writes: Sequence[LocalWrite], actor: str, *, dry_run: bool = False, atomic: bool = True
) -> list[LocalResult]:
    """The writes in one transaction; a lost race is a 409 to retry."""
    try:
        return services().store.write_local(
            writes, actor=actor, atomic=atomic, dry_run=dry_run, read_back=not dry_run
        )
    except LocalWriteConflict as exc:
        raise ApiError(409, f"{exc}; try again") from exc


def problem_status(result: LocalResult) -> int:
    assert result.problem is not None
    return PROBLEM_STATUS[result.problem.kind]


def dialect_record(rid: str, name: str) -> tuple[RecordState, bytes]:
    """A live record deposited through dialect ``name`` and its raw payload; 404/410."""
    store = services().store
    state = store.get_record_state(rid)
    if state is None or f"{LOCAL_SET}:{name}" not in state.record.sets:
        raise ApiError(404, f"no {name} record with id {rid!r}")
    if state.record.deleted:
        raise ApiError(410, f"record {rid!r} was deleted")
    raw = store.get_raw(rid)
    if raw is None:
        raise ApiError(404, f"no {name} record with id {rid!r}")
    return state, raw[1]
