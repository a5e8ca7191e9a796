"""KIT metastore2 metadata records and their documents -> canonical metadata.

metastore2 (API v2) keeps, per metadata document, a DataCite-like *record*
(``titles[{value}]``, ``creators[{givenName, familyName}]``, ``resourceType{value,
typeGeneral}``, ``dates[{value, type}]``, ``relatedIdentifiers[{identifierType, value,
relationType}]`` with upper-case enum values such as ``HAS_METADATA``) and the *document*
itself, valid against a registered schema. The document's schema decides the crosswalk:
DataCite and Dublin Core XML go through the XML crosswalks; any other document (JSON,
unknown XML) is stored raw, described by its record, and reported in a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from mappings import Mapped, MappingError
from mappings._shared import finish
from mappings.datacite import from_datacite
from mappings.formats import reader_for_namespace
from mappings.json_common import (
    as_list,
    block,
    clean,
    date_entry,
    identifier,
    language,
    person,
    types_of,
    unique,
)
from mappings.normalize import year_of
from mappings.oai_dc import from_oai_dc
from mappings.vocabularies import DATE_TYPES, DESCRIPTION_TYPES, RELATION_TYPES
from mappings.xml import parse_xml

RAW_FORMAT = "metastore2"
CROSSWALKS = {"datacite": from_datacite, "oai_dc": from_oai_dc}
_PLACEHOLDERS = {"(:tba)", "(:unav)", "(:unas)", "(:null)", "(:none)"}


def schema_id_of(record: Mapping[str, Any]) -> str | None:
    """The id of the schema the document follows (its HAS_METADATA link; in records of
    older servers, an IS_DERIVED_FROM link to an INTERNAL id), if any."""
    links = [rel for rel in as_list(record.get("relatedIdentifiers")) if isinstance(rel, dict)]
    legacy = [
        rel
        for rel in links
        if str(rel.get("relationType", "")).upper() == "IS_DERIVED_FROM"
        and str(rel.get("identifierType", "")).upper() == "INTERNAL"
    ]
    for rel in [
        *(rel for rel in links if str(rel.get("relationType", "")).upper() == "HAS_METADATA"),
        *legacy,
    ]:
        value = clean(rel.get("value"))
        if value:
            return value.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _enum(value: Any, allowed: frozenset[str]) -> str | None:
    """metastore2's HAS_METADATA / CREATED spelled as DataCite's HasMetadata / Created."""
    text = clean(value)
    if text is None:
        return None
    camel = "".join(part.capitalize() for part in text.lower().split("_"))
    return camel if camel in allowed else None


def from_metastore_record(record: Mapping[str, Any]) -> Mapped:
    """Describe a metadata document by its metastore2 record alone."""
    if not isinstance(record, Mapping):
        raise MappingError(f"a metastore2 record is a JSON object, not {type(record).__name__}")
    warnings: list[str] = []
    ident = record.get("identifier") if isinstance(record.get("identifier"), dict) else {}
    ids = []
    if clean(ident.get("value")) not in _PLACEHOLDERS:
        ids.append(identifier(ident.get("value"), ident.get("identifierType")))
    resource = record.get("resourceType") if isinstance(record.get("resourceType"), dict) else {}
    dates = []
    for item in as_list(record.get("dates")):
        if isinstance(item, dict):
            kind = _enum(item.get("type"), DATE_TYPES) or "Other"
            dates.append(date_entry(item.get("value"), kind, warnings, "date"))
    related = []
    for item in as_list(record.get("relatedIdentifiers")):
        if isinstance(item, dict) and (relation := _enum(item.get("relationType"), RELATION_TYPES)):
            related.append(
                {
                    "relatedIdentifier": clean(item.get("value")),
                    "relatedIdentifierType": clean(item.get("identifierType")),
                    "relationType": relation,
                }
            )
    md = {
        "identifiers": unique(i for i in ids if i),
        "creators": [
            p
            for p in (
                person(c.get("name"), given=c.get("givenName"), family=c.get("familyName"))
                for c in as_list(record.get("creators"))
                if isinstance(c, dict)
            )
            if p
        ],
        "titles": [
            {"title": t}
            for t in (
                clean(x.get("value"), 100000)
                for x in as_list(record.get("titles"))
                if isinstance(x, dict)
            )  # fmt: skip
            if t
        ],
        "publisher": clean(record.get("publisher")),
        "publicationYear": year_of(clean(record.get("publicationYear"))),
        "types": types_of(
            _enum(resource.get("typeGeneral"), frozenset({"Model", "Dataset", "Text", "Other"}))
            or resource.get("typeGeneral"),
            resource.get("value"),
            warnings,
        ),
        "dates": [d for d in dates if d],
        "relatedIdentifiers": unique(
            {k: v for k, v in r.items() if v} for r in related if r["relatedIdentifier"]
        ),
        "version": clean(record.get("version")),
        "subjects": unique(_subject(x) for x in as_list(record.get("subjects"))),
        "descriptions": [d for d in map(_description, as_list(record.get("descriptions"))) if d],
        "rightsList": unique(_rights(x) for x in as_list(record.get("rights"))),
        "language": language(record.get("language"), warnings),
        "extra": {
            "metastore2": {"id": clean(record.get("id")), "state": clean(record.get("state"))}
        },
    }
    return finish(md, warnings), warnings


def _subject(item: Any) -> dict | None:
    if not isinstance(item, dict) or not (value := clean(item.get("value"))):
        return None
    subject = {"subject": value}
    for name, target in (("subjectScheme", "subjectScheme"), ("schemeUri", "schemeUri")):
        if text := clean(item.get(name)):
            subject[target] = text
    return subject


def _description(item: Any) -> dict | None:
    if not isinstance(item, dict) or not (text := block(item.get("description"), [])):
        return None
    return {
        "description": text,
        "descriptionType": _enum(item.get("type"), DESCRIPTION_TYPES) or "Other",
    }


def _rights(item: Any) -> dict | None:
    """metastore2's rights: {schemeId (an SPDX id), schemeUri, value}."""
    if not isinstance(item, dict):
        return None
    rights = {}
    if text := clean(item.get("value")) or clean(item.get("schemeId")):
        rights["rights"] = text
    if uri := clean(item.get("schemeUri")):
        rights["rightsUri"] = uri
    return rights or None


def from_metastore(
    record: Mapping[str, Any],
    document: bytes | None,
    content_type: str | None = None,
    schema_map: Mapping[str, str] | None = None,
) -> Mapped:
    """Map a metastore2 document by its schema; unknown schemas fall back to the record."""
    schema_id = schema_id_of(record) if isinstance(record, Mapping) else None
    forced = (schema_map or {}).get(schema_id or "")
    reader = CROSSWALKS.get(forced) if forced else None
    looks_xml = document is not None and document.lstrip()[:1] == b"<"
    if document is not None and (reader is not None or looks_xml):
        try:
            root = parse_xml(document)
        except MappingError as exc:
            if reader is not None:
                raise
            root, reason = None, f"document not readable as XML: {exc}"
        else:
            reader = reader or reader_for_namespace(etree.QName(root).namespace)
            reason = f"no crosswalk for namespace {etree.QName(root).namespace!r}"
        if root is not None and reader is not None:
            metadata, warnings = reader(root)
            metadata.setdefault("extra", {})["metastore2"] = {
                "id": clean(record.get("id")),
                "schema": schema_id,
            }
            return metadata, warnings
    else:
        reason = f"{content_type or 'unknown'} document"
    metadata, warnings = from_metastore_record(record)
    warnings.append(
        f"schema {schema_id or '(none)'}: {reason}; document stored raw, described by its record"
    )
    metadata.setdefault("extra", {}).setdefault("metastore2", {})["schema"] = schema_id
    return metadata, warnings


def from_metastore_deposit(
    record: Mapping[str, Any], document: bytes, content_type: str | None = None
) -> Mapped:
    """A document deposited with its metastore2 record: mapped as a harvested one, and the
    record kept whole in ``extra.metastore2.record`` (the catalogue answers with it)."""
    metadata, warnings = from_metastore(record, document, content_type)
    metadata.setdefault("extra", {})["metastore2"] = {"record": dict(record)}
    return metadata, warnings
