"""Checks of a metastore2 upload: the record's shape and links, the schema its HAS_METADATA
link names in this catalogue's registry, and the document against that schema."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import current_app
from jsonschema.validators import validator_for

from catalogue.store import RegisteredSchema
from catalogue.web.deposit import read_json
from catalogue.web.errors import ApiError
from catalogue.web.schema_worker import SchemaValidationError, validators
from catalogue.web.services import services
from catalogue.web.xsd import validate_registered
from mappings import MappingError
from mappings.numbers import ascii_int
from mappings.xml import parse_xml

MAX_ERRORS = 20
_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["titles", "resourceType", "relatedIdentifiers"],
    "properties": {
        "id": {"type": "string"},
        "titles": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object", "required": ["value"], "properties": {"value": _TEXT}},
        },
        "resourceType": {
            "type": "object",
            "required": ["value", "typeGeneral"],
            "properties": {"value": _TEXT, "typeGeneral": _TEXT},
        },
        "relatedIdentifiers": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["value", "relationType"],
                "properties": {"identifierType": _TEXT, "value": _TEXT, "relationType": _TEXT},
            },
        },
        "creators": {"type": "array", "items": {"type": "object"}},
        "dates": {"type": "array", "items": {"type": "object"}},
        "publisher": {"type": "string"},
        "publicationYear": {"type": ["string", "integer"]},
        "rights": {"type": "array"},
        "version": {"type": ["string", "integer"]},
    },
}
_RECORD_VALIDATOR = validator_for(RECORD_SCHEMA)(RECORD_SCHEMA)


def record_json(part: tuple[bytes, str]) -> dict[str, Any]:
    try:
        record = read_json(part[0])
    except ApiError as exc:
        raise ApiError(400, "the record part is not JSON", under("/record", exc.errors)) from exc
    errors = [
        {
            "field": "/record" + "".join(f"/{p}" for p in err.absolute_path),
            "message": err.message[:500],
        }
        for err in _RECORD_VALIDATOR.iter_errors(record)
    ]
    if not errors:
        relations = [str(r["relationType"]).upper() for r in record["relatedIdentifiers"]]
        for needed in ("HAS_METADATA", "IS_METADATA_FOR"):
            if needed not in relations:
                errors.append(
                    {"field": "/record/relatedIdentifiers", "message": f"needs a {needed} link"}
                )
    if errors:
        raise ApiError(400, "the metadata record is not valid", errors)
    return record


def under(pointer: str, errors: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"field": pointer + e["field"], "message": e["message"]} for e in errors]


def schema_of(record: dict[str, Any]) -> RegisteredSchema:
    """The registered schema the HAS_METADATA link names (a URL with ?version= or an id)."""
    for n, rel in enumerate(record["relatedIdentifiers"]):
        if str(rel["relationType"]).upper() != "HAS_METADATA":
            continue
        value = rel["value"].strip()
        parts = urlsplit(value)
        schema_id = parts.path.rstrip("/").rsplit("/", 1)[-1] if parts.scheme else value
        versions = parse_qs(parts.query).get("version", [])
        version = ascii_int(versions[0], 9) if versions else None
        named = schema_id and (version is not None or not versions)  # "?version=x": none
        schema = services().store.get_schema(schema_id, version) if named else None
        if schema is None:
            raise ApiError(
                400,
                "the HAS_METADATA link names no registered schema",
                [{"field": f"/record/relatedIdentifiers/{n}/value",
                  "message": f"no registered schema {schema_id!r}"
                  + (f" version {versions[0][:20]}" if versions else "")
                  + " (see GET /api/schemas)"}],
            )  # fmt: skip
        return schema
    raise AssertionError("checked by _record_json")


def validate_document(schema: RegisteredSchema, document: bytes) -> None:
    """422 with the errors when the document does not satisfy its schema."""
    label = f"{schema.schema_id} v{schema.version}"
    if schema.type == "xsd":
        try:
            root = parse_xml(document)
        except MappingError as exc:
            raise ApiError(422, f"the document is not XML ({label} is an XML Schema)",
                           [{"field": "/document", "message": str(exc)}]) from exc  # fmt: skip
        messages = validate_registered(schema.sha256, schema.content, root)
    else:
        try:
            doc = read_json(document)
        except ApiError as exc:
            raise ApiError(422, f"the document is not JSON ({label} is a JSON Schema)",
                           under("/document", exc.errors)) from exc  # fmt: skip
        # time-boxed in a worker process, like every registered JSON Schema (issue 18)
        pool = validators(current_app.extensions, services().settings.ingest)
        try:
            found = pool.errors(schema.sha256, schema.content, doc)[:MAX_ERRORS]
        except SchemaValidationError as exc:
            raise ApiError(
                exc.status,
                f"{label}: {exc.message}",
                [{"field": "/document", "message": exc.message}],
            ) from None
        messages = [
            f"{'/'.join(str(p) for p in path) or '(root)'}: {message[:300]}"
            for path, message in found
        ]
    if messages:
        raise ApiError(
            422,
            f"the document does not satisfy schema {label}",
            [{"field": "/document", "message": f"{label}: {m}"} for m in messages[:MAX_ERRORS]],
        )
