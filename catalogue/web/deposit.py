"""Request bodies of the ingest API -> validated candidate records, every problem listed.

A body is one canonical record or a list of them (JSON), a metadata document (XML: DataCite
kernel 3/4, oai_datacite, oai_dc) or a metastore2-style multipart form with a ``record``
part and a ``document`` part. Everything is checked here, before the store is touched:
the envelope, the canonical JSON Schema, a registered schema the record names, the XSD of a
document, and text that one of the databases could not store (PostgreSQL refuses U+0000 and
lone surrogates, SQLite takes them: both are refused, so the two stores behave alike).

Past 400 lines: every body form (JSON, a list, XML, multipart) meets the same validation
steps in order, and one reader keeps that order in one place.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jsonschema_rs
from flask import Request, current_app
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from lxml import etree

from catalogue.model import (
    LOCAL_SOURCE,
    MAX_SET_SPEC_CHARS,
    SET_SPEC,
    metadata_schema,
    validate_metadata,
)
from catalogue.store import RegisteredSchema, Store
from catalogue.web.errors import ApiError
from catalogue.web.schema_worker import SchemaValidationError, compile_schema, validators
from catalogue.web.xsd import deposit_format, validate_deposit, validate_registered
from mappings import MappingError
from mappings.datacite import KERNEL_PREFIX
from mappings.datacite_json import bare_dois, from_datacite_json, is_envelope
from mappings.formats import map_payload
from mappings.quality import cut_long_values, missing_mandatory
from mappings.xml import parse_xml

# Deeper JSON is refused before it reaches recursive code (JSON Schema validation,
# serialisation); DataCite metadata needs about 6 levels.
MAX_DEPTH = 32
# A client-chosen id: URL-path and OAI-identifier safe, and fits the id column.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,63}")
# The shape of server-assigned ids (catalogue.model.record_id: base32 of a hash of source
# and source id). Anyone can compute the id a harvest will give a record, so a client id
# of this shape could take it first: new records may not choose one.
RESERVED_ID = re.compile(r"[a-z2-7]{16}")
LOCAL_SET = f"source:{LOCAL_SOURCE}"
MAX_SETS = 20
# Server-set members of a record as GET returns it: accepted (so that a fetched record can
# be sent back as it is) and ignored. The OpenAPI document marks them readOnly.
READ_ONLY = (
    "source",
    "source_id",
    "deleted",
    "datestamp",
    "source_datestamp",
    "harvested_at",
    "created_at",
    "created_by",
    "updated_by",
    "original",
    "links",
    "warnings",
    "missing_mandatory",
)
WRITABLE = frozenset({"id", "metadata", "sets", "schema"})
# DataCite's REST clients send its JSON:API documents as application/vnd.api+json
JSON_TYPES = ("application/json", "application/vnd.api+json")
XML_TYPES = (
    "application/xml",
    "text/xml",
    "application/vnd.datacite.datacite+xml",
    "application/x-oai-dc+xml",
)
MULTIPART = "multipart/form-data"


@dataclass
class Candidate:
    """One record of a request on its way to the store; stored only when ``errors`` is empty."""

    pointer: str  # where it sits in the request: "" for a single record, "/3" in a list
    rid: str | None = None  # the client's id, when given
    metadata: dict[str, Any] | None = None
    sets: list[str] = field(default_factory=list)  # the client's, under source:local:
    schema: RegisteredSchema | None = None
    raw: bytes | None = None
    raw_format: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, pointer: str, message: str) -> None:
        self.errors.append({"field": self.pointer + pointer, "message": message})

    @property
    def stored_sets(self) -> list[str]:
        """The sets the record is stored with: every deposit, whatever its form (JSON,
        XML, multipart), is in ``source:local``."""
        return [LOCAL_SET, *self.sets]


def parse_deposit(request: Request, store: Store, max_items: int) -> tuple[list[Candidate], bool]:
    """The records of a POST or PUT body; returns (candidates, whether the body was a list)."""
    mimetype = request.mimetype
    if mimetype in JSON_TYPES:
        _check_charset(request)
        doc = read_json(request.get_data(cache=True))
        if isinstance(doc, dict) and "metadata" not in doc and isinstance(doc.get("data"), list):
            # a DataCite REST API list ({"data": [{"type": "dois", ...}], "meta": ...})
            doc = [{"metadata": {"data": item}} for item in doc["data"]]
        if isinstance(doc, list):
            if not doc:
                raise ApiError(400, "empty list", [{"field": "", "message": "no records given"}])
            if len(doc) > max_items:
                raise ApiError(
                    413,
                    f"at most {max_items} records per request",
                    [{"field": "", "message": f"{len(doc)} records given"}],
                )
            return [record_from_json(item, f"/{n}", store) for n, item in enumerate(doc)], True
        return [record_from_json(doc, "", store)], False
    if mimetype in XML_TYPES:
        candidate = Candidate("")
        _document_into(candidate, request.get_data(cache=True), "", store)
        return [candidate], False
    if mimetype == MULTIPART:
        return [_record_from_multipart(request, store)], False
    raise ApiError(
        415,
        f"unsupported Content-Type {mimetype or '(none)'!r}",
        [
            {
                "field": "Content-Type",
                "message": f"use one of {[*JSON_TYPES, *XML_TYPES, MULTIPART]}",
            }
        ],
    )


def refuse_reserved_id(candidate: Candidate) -> None:
    """A new record's client id must not have the shape of a server-assigned id."""
    if candidate.rid is not None and RESERVED_ID.fullmatch(candidate.rid):
        candidate.error(
            "/id",
            f"ids matching {RESERVED_ID.pattern} (16 characters a-z, 2-7) are reserved for "
            "server-assigned ids; choose another id or send none",
        )


def _check_charset(request: Request) -> None:
    charset = request.mimetype_params.get("charset")
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ApiError(
            415,
            f"JSON must be UTF-8, not {charset}",
            [{"field": "Content-Type", "message": "charset must be utf-8"}],
        )


def read_json(data: bytes) -> Any:
    """Parse a JSON body; 400 for bad syntax, bad UTF-8, NaN/Infinity or absurd nesting."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_body(f"not valid UTF-8 (byte {exc.start})") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_members)
    except RecursionError as exc:
        raise _bad_body(f"nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # JSONDecodeError, NaN, duplicate names, huge integers
        if "int_max_str_digits" in str(exc) or "integer string conversion" in str(exc):
            raise _bad_body("a number has more than 4300 digits") from None
        raise _bad_body(f"not valid JSON: {exc}") from exc


def read_clean_json(data: bytes, pointer: str = "") -> Any:
    """:func:`read_json`, and a 400 naming each value no store may keep (a number past a
    float's range, U+0000, lone surrogates): for bodies stored as they are (a source's
    config), where PostgreSQL refused them with a 500 and SQLite kept ``Infinity``."""
    doc = read_json(data)
    if problems := unstorable(doc, pointer):
        raise ApiError(400, "the request body holds values no store may keep", problems)
    return doc


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Which of two same-named members wins differs between parsers: refuse the ambiguity.
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise ValueError(f"member name {_escape(name)!r} given more than once")
            seen.add(name)
    return found


def under(pointer: str, errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """Field errors of a part of the request, re-rooted at ``pointer`` (a JSON pointer)."""
    return [{"field": pointer + e["field"], "message": e["message"]} for e in errors]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _bad_body(message: str) -> ApiError:
    return ApiError(400, "the request body is not valid JSON", [{"field": "", "message": message}])


# Serialises like the stores will (no NaN), keeping non-ASCII as is so that lone surrogates
# show up when the text is encoded.
_PROBE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False)


def unstorable(value: Any, pointer: str) -> list[dict[str, str]]:
    """Values no store may receive: U+0000, lone surrogates, non-finite numbers, deep nesting.

    A fast screen (C serialisation, a walk over containers only) passes clean documents;
    anything it doubts gets the full walk, which names each failing field.
    """
    if _clean_text(value) and _shallow(value):
        return []
    return _unstorable_fields(value, pointer)


def _clean_text(value: Any) -> bool:
    try:
        text = _PROBE.encode(value)
        text.encode("utf-8")
    except (ValueError, UnicodeEncodeError, RecursionError):
        return False
    return "\\u0000" not in text  # U+0000 is written as an escape (as is a quoted "\\u0000")


def _shallow(value: Any) -> bool:
    """Whether no container sits MAX_DEPTH levels deep (nor, then, any value below it)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        if not level:
            return True
        below: list[Any] = []
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, dict | list):
                    below.append(child)
        level = below
    return not level


def _unstorable_fields(value: Any, pointer: str) -> list[dict[str, str]]:
    # An explicit stack: the check itself must not recurse on hostile depth.
    errors: list[dict[str, str]] = []
    stack: list[tuple[Any, str, int]] = [(value, pointer, 0)]
    while stack and len(errors) < 100:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            errors.append({"field": where, "message": f"nested deeper than {MAX_DEPTH} levels"})
            continue
        if isinstance(node, str):
            problem = unstorable_text(node)
            if problem:
                errors.append({"field": where, "message": problem})
        elif isinstance(node, float) and not math.isfinite(node):
            errors.append({"field": where, "message": "number out of range"})
        elif isinstance(node, dict):
            for key, child in node.items():
                child_at = f"{where}/{_escape(key)}"
                problem = unstorable_text(key)
                if problem:
                    errors.append({"field": child_at, "message": f"member name {problem}"})
                    continue
                stack.append((child, child_at, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, f"{where}/{n}", depth + 1) for n, child in enumerate(node))
    errors.sort(key=lambda e: e["field"])
    return errors


def unstorable_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains U+0000, which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not a Unicode character)"
    return None


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1") if unstorable_text(part) is None else "?"


def record_from_json(doc: Any, pointer: str, store: Store, *, document: bool = False) -> Candidate:
    """A record from its JSON form; ``document`` when its metadata comes from elsewhere."""
    candidate = Candidate(pointer)
    if not isinstance(doc, dict):
        candidate.error("", "a record must be a JSON object")
        return candidate
    if "metadata" not in doc and not document and is_envelope(doc):
        doc = {"metadata": doc}  # a DataCite REST API body as DataCite clients send it
    bad = unstorable(doc, pointer)
    if bad:
        candidate.errors.extend(bad)
        return candidate
    for key in doc:
        if key not in WRITABLE and key not in READ_ONLY:
            candidate.error(f"/{_escape(key)}", "unknown member")
    rid = doc.get("id")
    if rid is not None:
        if not isinstance(rid, str) or not ID_PATTERN.fullmatch(rid):
            candidate.error("/id", f"must be a string matching {ID_PATTERN.pattern}")
        else:
            candidate.rid = rid
    candidate.sets = _sets(doc.get("sets", []), candidate)
    if "schema" in doc:
        candidate.schema = _schema_ref(doc["schema"], candidate, store)
    if document:
        if "metadata" in doc:
            candidate.error("/metadata", "give the metadata in the document part, not both")
    elif "metadata" not in doc:
        candidate.error("/metadata", "required")
    else:
        metadata = datacite_metadata(doc["metadata"], candidate)
        candidate.metadata = metadata
        candidate.errors.extend(under(pointer, metadata_errors(metadata)))
        if candidate.schema is not None:
            _check_registered(candidate, None)
    return candidate


@cache
def _fast_metadata_validator() -> Any:
    return jsonschema_rs.validator_for(metadata_schema(), validate_formats=False)


def metadata_errors(metadata: Any) -> list[dict[str, str]]:
    """Every canonical-schema violation of ``metadata`` (JSON pointers under /metadata).

    The Rust validator answers "valid?" some 50x faster than the Python one, which stays the
    authority: it runs, and reports its errors, only for metadata the fast one rejects.
    """
    if _fast_metadata_validator().is_valid(metadata):
        return []
    return [e.as_dict() for e in validate_metadata(metadata)]


def datacite_metadata(metadata: Any, candidate: Candidate) -> Any:
    """Canonical metadata as it is, DOIs in their bare form; DataCite's own JSON forms
    normalised (see mappings.datacite_json), members no DataCite version defines refused by
    name. Either way the depositor is told which DataCite mandatory properties are missing."""
    if isinstance(metadata, dict) and (metadata_errors(metadata) or is_envelope(metadata)):
        extra = metadata.get("extra")
        found = from_datacite_json(metadata)
        for where in found.unknown:
            candidate.error(f"/metadata{where}", "not a member of any DataCite metadata version")
        candidate.warnings.extend(found.warnings)
        metadata = found.metadata
        if extra is not None and isinstance(metadata, dict):
            metadata["extra"] = extra  # the catalogue's own member, kept verbatim
    elif isinstance(metadata, dict) and isinstance(metadata.get("identifiers"), list):
        metadata = {**metadata, "identifiers": bare_dois(metadata["identifiers"])}
    candidate.warnings.extend(missing_mandatory(metadata))
    return metadata


def _sets(given: Any, candidate: Candidate) -> list[str]:
    """Client sets live under ``source:local:`` (so no deposit can enter a harvested
    source's set or a type set); ``source:local`` itself is added by
    :attr:`Candidate.stored_sets`."""
    if not isinstance(given, list):
        candidate.error("/sets", "must be a list of setSpecs")
        return []
    if len(given) > MAX_SETS:
        candidate.error("/sets", f"at most {MAX_SETS} sets")
    out: list[str] = []
    for n, spec in enumerate(given):
        if not isinstance(spec, str) or not SET_SPEC.fullmatch(spec):
            candidate.error(f"/sets/{n}", "not an OAI-PMH setSpec (e.g. 'project-x:2024')")
            continue
        full = (
            spec if spec == LOCAL_SET or spec.startswith(LOCAL_SET + ":") else f"{LOCAL_SET}:{spec}"
        )
        if len(full) > MAX_SET_SPEC_CHARS:
            candidate.error(
                f"/sets/{n}", f"longer than {MAX_SET_SPEC_CHARS} characters as {full!r}"
            )
            continue
        if full != LOCAL_SET and full not in out:
            out.append(full)
    return out


def _schema_ref(ref: Any, candidate: Candidate, store: Store) -> RegisteredSchema | None:
    if ref is None:
        return None
    version = None
    if isinstance(ref, dict):
        unknown = set(ref) - {"id", "version"}
        if unknown:
            candidate.error("/schema", f"unknown members {sorted(unknown)}")
        version = ref.get("version")
        if version is not None and (
            not isinstance(version, int) or isinstance(version, bool) or not 0 < version < 2**31
        ):
            candidate.error("/schema/version", "must be a positive integer")
            return None
        ref = ref.get("id")
    if not isinstance(ref, str) or not ref or len(ref) > 100:
        candidate.error("/schema", "must be a registered schema id or {id, version}")
        return None
    schema = store.get_schema(ref, version)
    if schema is None:
        what = f"version {version} of schema {ref!r}" if version else f"schema {ref!r}"
        candidate.error("/schema", f"no registered {what} (see GET /api/schemas)")
    return schema


def _check_registered(candidate: Candidate, root: etree._Element | None) -> None:
    """The record's extra metadata (JSON Schema) or document (XSD) against its schema."""
    schema = candidate.schema
    assert schema is not None
    if schema.type == "xsd":
        if root is None:
            candidate.error(
                "/schema",
                f"schema {schema.schema_id!r} is an XML Schema: deposit an XML document with it",
            )
            return
        for message in validate_registered(schema.sha256, schema.content, root):
            candidate.error("/document", f"{schema.schema_id} v{schema.version}: {message}")
        return
    if not isinstance(candidate.metadata, dict):
        return
    extra = candidate.metadata.get("extra", {})
    pool = validators(current_app.extensions, current_app.extensions["catalogue"].settings.ingest)
    try:
        found = sorted(pool.errors(schema.sha256, schema.content, extra), key=lambda e: e[0])
    except SchemaValidationError as exc:
        raise ApiError(
            exc.status,
            f"{schema.schema_id} v{schema.version}: {exc.message}",
            [{"field": candidate.pointer + "/schema", "message": exc.message}],
        ) from None
    for path, message in found:
        where = "".join(f"/{_escape(str(p))}" for p in path)
        candidate.error(
            f"/metadata/extra{where}", f"{schema.schema_id} v{schema.version}: {message}"
        )


def check_json_schema(schema: Any) -> str | None:
    """Why ``schema`` is not a usable JSON Schema, or None when it is."""
    if not isinstance(schema, dict | bool):
        return "a JSON Schema is an object (or a boolean)"
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return f"$ref {ref!r}: registered schemas must be self-contained (no remote $ref)"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    try:
        compile_schema(schema)  # the engine deposits are validated with (linear-time regex)
    except ValueError as exc:
        return (
            f"not usable: {exc} (patterns may not use lookaround or backreferences: "
            "they are matched by a linear-time engine)"
        )
    return None


def _document_into(candidate: Candidate, data: bytes, pointer: str, store: Store) -> None:
    """Parse, validate and map an XML metadata document into ``candidate``."""
    where = pointer or ""
    try:
        root = parse_xml(data)
    except MappingError as exc:
        candidate.error(where, str(exc))
        return
    fmt = deposit_format(root)
    if fmt is None:
        namespace = etree.QName(root).namespace or ""
        older = namespace.startswith(KERNEL_PREFIX) and etree.QName(root).localname == "resource"
        candidate.error(
            where,
            # kernel 2.x is read when harvested; a deposit is checked against its XSD, and
            # only those of kernel 3 and 4 are at hand
            f"DataCite {namespace.rsplit('/', 1)[-1]} is not accepted for deposit (no schema "
            "to check it against): send a DataCite kernel-3/4 resource, an oai_datacite "
            "wrapper or an oai_dc record"
            if older
            else f"no crosswalk for root element {root.tag}: send a DataCite kernel-3/4 "
            "resource, an oai_datacite wrapper or an oai_dc record",
        )
        return
    for message in validate_deposit(root):
        candidate.error(where, f"{fmt} schema: {message}")
    if candidate.errors:
        return
    try:
        metadata, warnings = map_payload(root)
    except MappingError as exc:
        candidate.error(where, f"cannot be mapped: {exc}")
        return
    # an XSD-valid document is not refused for the canonical schema's length limits
    metadata = cut_long_values(metadata, warnings)
    candidate.metadata = metadata
    candidate.warnings.extend(warnings)
    candidate.raw = data
    candidate.raw_format = fmt
    bad = unstorable(metadata, "/metadata")
    candidate.errors.extend(bad)
    if not bad:
        candidate.errors.extend(metadata_errors(metadata))
    if candidate.schema is not None:
        _check_registered(candidate, root)


def _record_from_multipart(request: Request, store: Store) -> Candidate:
    """metastore2's form: a ``record`` part (JSON envelope) and a ``document`` part."""
    parts = {name: _part(request, name) for name in ("record", "document")}
    given = set(request.form) | set(request.files)
    # werkzeug keys a part without a (parsable) name parameter as None; "" is no name either.
    unnamed = {name for name in given if not isinstance(name, str) or not name}
    unknown = given - unnamed - set(parts)
    missing = [f"/{name}" for name, value in parts.items() if value is None and name == "document"]
    candidate = Candidate("")
    for name in parts:
        if len(request.files.getlist(name)) + len(request.form.getlist(name)) > 1:
            candidate.error(f"/{name}", "part given more than once; send exactly one")
    if unnamed:
        candidate.error(
            "",
            "a form part has no usable name: give each part "
            'Content-Disposition: form-data; name="record" or name="document"',
        )
    for name in sorted(unknown, key=str):
        candidate.error(f"/{_escape(name)}", "unknown part; send 'record' and 'document'")
    for pointer in missing:
        candidate.error(pointer, "required part")
    if candidate.errors:
        return candidate
    record_data, _ = parts["record"] or (b"{}", "application/json")
    try:
        envelope = read_json(record_data)
    except ApiError as exc:
        candidate.errors.extend(under("/record", exc.errors))
        return candidate
    candidate = record_from_json(envelope, "", store, document=True)
    candidate.errors = under("/record", candidate.errors)
    if candidate.errors:
        return candidate
    data, mimetype = parts["document"]
    if mimetype in JSON_TYPES or (mimetype not in XML_TYPES and data.lstrip()[:1] in (b"{", b"[")):
        try:
            metadata = read_json(data)
        except ApiError as exc:
            candidate.errors.extend(under("/document", exc.errors))
            return candidate
        bad = unstorable(metadata, "/metadata")
        candidate.errors.extend(bad)
        if not bad:
            candidate.metadata = metadata = datacite_metadata(metadata, candidate)
            candidate.errors.extend(metadata_errors(metadata))
            if candidate.schema is not None:
                _check_registered(candidate, None)
        return candidate
    _document_into(candidate, data, "/document", store)
    return candidate


def _part(request: Request, name: str) -> tuple[bytes, str] | None:
    """A form part's bytes and media type, whether it was sent as a file or as a field."""
    if name in request.files:
        upload = request.files[name]
        return upload.read(), upload.mimetype
    if name in request.form:
        return request.form[name].encode("utf-8", errors="surrogatepass"), ""
    return None
