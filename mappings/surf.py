"""SURF Data Repository object JSON (a deposit or collection) -> canonical metadata.

An object carries ``properties`` (pid, doi, epicpid, state, sharelevel), ``links`` and
``metadata``: ``metadata.base`` is the Dublin-Core-based base schema (``title``,
``creator``, ``description``, ``type``, ``subject``, ``rights``, ``date``, ...; single values
or lists), ``metadata.community`` / ``metadata.collection`` the fields of the community's
and collection's own schemas. Those have no DataCite home and are kept verbatim under
``extra.surf`` (with the labels of the community schema when the harvester read it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings import Mapped, MappingError
from mappings._shared import finish
from mappings.json_common import (
    as_list,
    block,
    clean,
    date_entry,
    identifier,
    language,
    person,
    texts,
    types_of,
    unique,
    unmapped,
)
from mappings.normalize import year_of

RAW_FORMAT = "surf-json"
_RIGHTS_URI_PREFIXES = ("info:", "http://", "https://")
_HANDLED_BASE = {
    "title", "creator", "contributor", "description", "type", "subject", "rights", "date",
    "identifier", "publisher", "language", "format", "relation", "coverage", "source",
}  # fmt: skip
_IGNORED_BASE = {"$schema"}


def from_surf(obj: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> Mapped:
    """Map one SURF Data Repository object; ``labels`` names community schema fields."""
    if not isinstance(obj, Mapping):
        raise MappingError(f"a SURF object is a JSON object, not {type(obj).__name__}")
    metadata = obj.get("metadata")
    base = metadata.get("base") if isinstance(metadata, Mapping) else None
    if not isinstance(base, Mapping):
        raise MappingError(f"object {obj.get('id')!r} has no metadata.base")
    props = obj.get("properties") if isinstance(obj.get("properties"), Mapping) else {}
    warnings: list[str] = []
    issued = next(iter(texts(base.get("date"))), None)
    year = year_of(issued)
    if year is None and (year := year_of(clean(obj.get("created")))) is not None:
        warnings.append("no date; publicationYear from the object's creation date")
    dates = [
        date_entry(issued, "Issued", warnings, "date"),
        date_entry(obj.get("created"), "Created", warnings, "created"),
        date_entry(obj.get("updated"), "Updated", warnings, "updated"),
    ]
    # an EPIC PID ("21.T12996/...") is a Handle: often the only persistent identifier
    identifiers = [identifier(props.get("doi"), "DOI"), identifier(props.get("epicpid"), "Handle")]
    for value in texts(base.get("identifier")):
        if value.startswith("epic:"):
            identifiers.append(identifier(value.removeprefix("epic:"), "Handle"))
        elif not value.startswith(("deposit:", "collection:", "schema:", "community:")):
            identifiers.append(identifier(value))
    md = {
        "identifiers": unique(i for i in identifiers if i and i["identifierType"] != "Other"),
        "creators": [p for p in (person(v) for v in as_list(base.get("creator"))) if p],
        "titles": [{"title": t} for t in texts(base.get("title"), 100000)],
        "publisher": next(iter(texts(base.get("publisher"))), None),
        "publicationYear": year,
        "types": types_of(next(iter(texts(base.get("type"))), None), None, warnings),
        "subjects": unique({"subject": s} for s in texts(base.get("subject"))),
        "contributors": [
            {**p, "contributorType": "Other"}
            for p in (person(v) for v in as_list(base.get("contributor")))
            if p
        ],
        "dates": [d for d in dates if d],
        "language": language(next(iter(texts(base.get("language"))), None), warnings),
        "formats": texts(base.get("format")),
        "rightsList": _rights(base.get("rights")),
        "descriptions": [
            {"description": d, "descriptionType": "Abstract"}
            for d in (block(v, warnings) for v in as_list(base.get("description")))
            if d
        ],
        "relatedIdentifiers": [
            {"relatedIdentifier": r, "relationType": "References"}
            for r in texts(base.get("relation"))
        ],
        "extra": {"surf": _extra(obj, metadata, base, props, labels, warnings)},
    }
    return finish(md, warnings), warnings


def _rights(value: Any) -> list[dict]:
    rights = []
    for item in as_list(value):
        if isinstance(item, dict):
            rights.append({"rights": clean(item.get("name")), "rightsUri": clean(item.get("url"))})
        elif (text := clean(item)) is not None:
            key = "rightsUri" if text.startswith(_RIGHTS_URI_PREFIXES) else "rights"
            rights.append({key: text})
    return unique({k: v for k, v in r.items() if v} for r in rights)


def _extra(
    obj: Mapping[str, Any],
    metadata: Mapping[str, Any],
    base: Mapping[str, Any],
    props: Mapping[str, Any],
    labels: Mapping[str, str] | None,
    warnings: list[str],
) -> dict:
    community = metadata.get("community")
    extra: dict[str, Any] = {
        "id": clean(obj.get("id")),
        "pid": clean(props.get("pid")),
        "sharelevel": clean(props.get("sharelevel")),
        "landing": clean((obj.get("links") or {}).get("landing"))
        if isinstance(obj.get("links"), dict)
        else None,
        "community_fields": community if isinstance(community, dict) and community else None,
        "collection_fields": metadata.get("collection") or None,
        "coverage": base.get("coverage") or None,
        "source": base.get("source") or None,
    }
    if labels and isinstance(community, dict):
        named = {labels[k]: k for k in community if k in labels}
        extra["community_labels"] = {v: k for k, v in named.items()} or None
    rest = unmapped(base, _HANDLED_BASE | _IGNORED_BASE, warnings, "SURF base")
    if rest:
        extra["unmapped"] = rest
    return {k: v for k, v in extra.items() if v is not None}
