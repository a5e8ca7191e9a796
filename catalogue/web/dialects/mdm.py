"""MDM clients push to the catalogue unchanged: ``POST /api/mdm/records/{repositoryName}``.

The request is MDM's add-record model (``process``, ``validate``, ``perspectiveName``,
``record{productId, attributes[{name, value, multivalues, ...}], relationship, ...}``); the
answer is MDM's response model (``success``, ``records[{..., productKeyId,
responseAttributes[{attributeName, values, errorCode, errorMessage, errorType}]}]``,
``responseMessages``): 200 when stored (or, with ``validate: true``, when it would be: then
nothing is stored), 400 with the same model and per-attribute errors when not.

Attributes are mapped by the generic JSON crosswalk (the one MDM-style harvests use) through
an attribute map: attribute name (case-insensitive) -> canonical target. The default map
covers title, creator, description, subject, date, identifier, publisher and type; the
``[mdm] attributes`` table of the settings replaces it. Records go into the local source,
sets ``source:local:mdm`` and ``source:local:mdm:<repositoryName>``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from jsonschema import Draft202012Validator

from catalogue.model import MAX_SET_SPEC_CHARS, SET_SPEC
from catalogue.store import LocalWrite
from catalogue.web.auth import WRITE_RECORDS, require_role
from catalogue.web.deposit import ID_PATTERN, RESERVED_ID, read_json, unstorable
from catalogue.web.dialects.common import (
    checked_metadata,
    dialect_sets,
    problem_status,
    schema_errors,
    write,
)
from catalogue.web.errors import ApiError
from catalogue.web.ingest_api import new_record_id
from catalogue.web.services import services
from mappings import MappingError
from mappings.mdm import (
    RAW_FORMAT,
    attribute_values,
    from_mdm_record,
    normalized_map,
    value_problem,
)

bp = Blueprint("mdm", __name__)

NAME = "mdm"
MAX_ATTRIBUTES = 1000
_TEXT = {"type": "string", "maxLength": 2000}
_VALUE = {"type": ["string", "number", "boolean", "null"]}
ATTRIBUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": _TEXT,
        "value": _VALUE,
        "displayName": _TEXT,
        "multivalues": {
            "type": "array",
            "maxItems": MAX_ATTRIBUTES,
            "items": {"anyOf": [_VALUE, {"type": "object", "properties": {"value": _VALUE}}]},
        },
        "type": {"type": "integer"},
        "id": {"type": "integer"},
        "multivalue": {"type": "boolean"},
    },
}
RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["attributes"],
    "properties": {
        "productId": _TEXT,
        "productIdExt": _TEXT,
        "version": _TEXT,
        "state": _TEXT,
        "key": {"type": "integer"},
        "attributes": {"type": "array", "maxItems": MAX_ATTRIBUTES, "items": ATTRIBUTE_SCHEMA},
        "repositoryName": _TEXT,
        "relationship": {"type": "object"},
        "relationships": {"type": "object"},
        "deleted": {"type": "boolean"},
    },
}
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["record"],
    "properties": {
        "process": {"type": "boolean"},
        "validate": {"type": "boolean"},
        "perspectiveName": _TEXT,
        "record": RECORD_SCHEMA,
    },
}
_VALIDATOR = Draft202012Validator(REQUEST_SCHEMA)


def attribute_map() -> dict[str, str]:
    """attribute name (lower case) -> canonical target, from the settings or the default."""
    return normalized_map(services().settings.get("mdm", {}).get("attributes"))


def _attribute_results(
    attributes: list[dict[str, Any]], mapping: dict[str, str]
) -> tuple[list[dict[str, Any]], bool]:
    """MDM's responseAttributes, and whether any attribute is in error."""
    results, failed = [], False
    for attr in attributes:
        name = str(attr.get("name") or "").strip()
        result: dict[str, Any] = {
            "attributeName": name,
            "attributeDisplayName": attr.get("displayName") or name,
            "values": attribute_values(attr),
            "errorCode": None,
            "errorMessage": None,
            "errorType": None,
        }
        if not name:
            result.update(
                errorCode="MISSING_NAME",
                errorMessage="an attribute needs a name",
                errorType="ERROR",
            )
            failed = True
        elif name.lower() not in mapping:
            result.update(
                errorCode="UNMAPPED",
                errorMessage=f"no catalogue property for attribute {name!r}; not stored",
                errorType="WARNING",
            )
        elif problems := [
            p for v in result["values"] if (p := value_problem(mapping[name.lower()], v))
        ]:
            result.update(errorCode="INVALID_VALUE", errorMessage=problems[0], errorType="ERROR")
            failed = True
        results.append(result)
    return results, failed


def _set_of(repository: str) -> list[str]:
    sets = dialect_sets(NAME)
    spec = f"{sets[-1]}:{repository}"
    if SET_SPEC.fullmatch(repository) and len(spec) <= MAX_SET_SPEC_CHARS:
        sets.append(spec)
    return sets


@bp.post("/api/mdm/records/<repositoryName>")
def add_record(repositoryName: str) -> Response:  # noqa: N803 - MDM's name
    repository = repositoryName
    token = require_role(WRITE_RECORDS)
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            f"unsupported Content-Type {request.mimetype or '(none)'!r}",
            [{"field": "Content-Type", "message": "use application/json"}],
        )
    body = read_json(request.get_data(cache=True))
    errors = unstorable(body, "") or schema_errors(_VALIDATOR, body)
    if errors:
        message = _message("INVALID_REQUEST", errors[0]["message"], "ERROR")
        raise ApiError(
            400,
            "the request does not follow MDM's add-record model",
            errors,
            extra=_model(False, [], [message]),
        )
    record = body["record"]
    mapping = attribute_map()
    attributes = record["attributes"]
    results, failed = _attribute_results(attributes, mapping)
    product_id = record.get("productId")
    summary = {
        "repositoryName": repository,
        "productId": product_id,
        "productIdExt": record.get("productIdExt"),
        "productKeyId": None,
        "responseAttributes": results,
        "responseRelationships": [],
    }
    messages = []
    if record.get("relationship") or record.get("relationships"):
        messages.append(_message("NOT_STORED", "relationships are not stored", "WARNING"))
    field_errors: list[dict[str, str]] = [
        {
            "field": f"/record/attributes/{n}/"
            + ("name" if r["errorCode"] == "MISSING_NAME" else "value"),
            "message": r["errorMessage"],
        }
        for n, r in enumerate(results)
        if r["errorType"] == "ERROR"
    ]
    rid = new_record_id()
    if isinstance(product_id, str) and product_id:
        if ID_PATTERN.fullmatch(product_id) and not RESERVED_ID.fullmatch(product_id):
            rid = product_id
        else:
            messages.append(_message(
                "PRODUCT_ID", f"productId is not usable as a record id ({ID_PATTERN.pattern}); "
                "the catalogue chose one", "WARNING"))  # fmt: skip
    metadata: dict[str, Any] | None = None
    if not failed:
        try:
            metadata, warnings = from_mdm_record(record, mapping)
        except MappingError as exc:
            raise ApiError(400, f"the record cannot be mapped: {exc}") from exc
        messages += [_message("MAPPING", w, "WARNING") for w in warnings]
        field_errors += checked_metadata(metadata, "/record")
    if field_errors:
        raise _invalid(field_errors, summary, messages)
    assert metadata is not None
    raw = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    write_ = LocalWrite(
        rid, "create", metadata, _set_of(repository), raw=raw, raw_format=RAW_FORMAT
    )
    dry_run = bool(body.get("validate"))
    (result,) = write([write_], token.name, dry_run=dry_run)
    if result.problem is not None:
        status = problem_status(result)
        messages.append(_message(result.problem.kind.upper(), result.problem.message, "ERROR"))
        raise ApiError(
            status,
            result.problem.message,
            [{"field": "/record/productId", "message": result.problem.message}],
            extra=_model(False, [summary], messages),
        )
    if dry_run:
        messages.insert(0, _message("VALID", "the record is valid; nothing was stored", "INFO"))
        return jsonify(_model(True, [summary], messages))
    summary["productKeyId"] = rid
    messages.insert(0, _message("CREATED", f"record stored as {rid}", "INFO"))
    response = jsonify(_model(True, [summary], messages))
    response.headers["Location"] = url_for("search.get_record", rid=rid, _external=True)
    if result.etag:
        response.set_etag(result.etag)
    return response


def _invalid(
    errors: list[dict[str, str]], summary: dict[str, Any], messages: list[dict[str, Any]]
) -> ApiError:
    messages = [_message("VALIDATION_FAILED", "the record is not valid; nothing was stored",
                         "ERROR"), *messages]  # fmt: skip
    return ApiError(
        400, "the record is not valid", errors, extra=_model(False, [summary], messages)
    )


def _message(code: str, message: str, type_: str) -> dict[str, str]:
    return {"code": code, "message": message, "type": type_}


def _model(
    success: bool, records: list[dict[str, Any]], messages: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"success": success, "records": records, "responseMessages": messages}


RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["success", "records", "responseMessages"],
    "properties": {
        "success": {"type": "boolean"},
        "records": {"type": "array", "items": {"type": "object"}},
        "responseMessages": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path item of this dialect."""
    model = {"application/json": {"schema": RESPONSE_SCHEMA}}
    return {
        "/api/mdm/records/{repositoryName}": {
            "post": {
                "operationId": "mdmAddRecord",
                "tags": ["dialects"],
                "summary": "MDM: add a record (add-record request model)",
                "description": "Attributes map to catalogue properties by the attribute map "
                "(default: title, creator, description, subject, date, identifier, publisher, "
                "type; settings [mdm] attributes). validate=true stores nothing. Stored in "
                "source:local, sets source:local:mdm and source:local:mdm:<repository>. "
                "Errors carry MDM's response model beside the usual error members.",
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "repositoryName",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": REQUEST_SCHEMA}},
                },
                "responses": {
                    "200": {"description": "Stored (or valid, with validate)", "content": model},
                    **{
                        code: {"$ref": f"#/components/responses/E{code}"}
                        for code in ("400", "401", "403", "409", "413", "415")
                    },
                },
            }
        }
    }
