"""Any JSON record -> canonical metadata, through a field map from the source config.

The field map names, per canonical target, one path or a list of paths (see
:mod:`mappings.json_paths`); every value the paths reach becomes one value of the target.
MDM-style records (``attributes: [{name, value}]``) are mapped with filter paths such as
``attributes[name=title].value``. ``defaults`` fill targets the record leaves empty
(typically ``resourceTypeGeneral`` and ``publisher`` for a single-purpose API).

The map is compiled once, when the source is registered, so a bad path or an unknown
target is refused then instead of failing every record of a harvest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mappings import Mapped, MappingError
from mappings._shared import finish
from mappings.json_common import (
    block,
    clean,
    date_entry,
    identifier,
    language,
    person,
    types_of,
    unique,
)
from mappings.json_paths import JsonPath, compile_path
from mappings.normalize import normalize_doi, year_of

RAW_FORMAT = "json"

DATE_TARGETS = {
    f"dates.{t}": t for t in ("Issued", "Created", "Updated", "Available", "Collected", "Valid")
}
FIELD_TARGETS = (
    "titles", "creators", "contributors", "publisher", "publicationYear", "descriptions",
    "subjects", "language", "version", "formats", "sizes", "resourceTypeGeneral",
    "resourceType", "identifiers", "doi", "url", "rights", "rightsUri", *DATE_TARGETS,
)  # fmt: skip
DEFAULT_TARGETS = ("resourceTypeGeneral", "resourceType", "publisher", "language", "rights")


@dataclass(frozen=True)
class FieldMap:
    """Compiled paths per canonical target, and the defaults."""

    paths: dict[str, tuple[JsonPath, ...]]
    defaults: dict[str, str] = field(default_factory=dict)


def compile_field_map(
    fields: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> FieldMap:
    """Compile a field map; ValueError naming the target and path when one is wrong."""
    paths: dict[str, tuple[JsonPath, ...]] = {}
    for target, spec in fields.items():
        if target not in FIELD_TARGETS:
            raise ValueError(f"unknown target field {target!r}; known: {', '.join(FIELD_TARGETS)}")
        specs = spec if isinstance(spec, list) else [spec]
        try:
            paths[target] = tuple(s if isinstance(s, JsonPath) else compile_path(s) for s in specs)
        except ValueError as exc:
            raise ValueError(f"fields.{target}: {exc}") from exc
    unknown = set(defaults or {}) - set(DEFAULT_TARGETS)
    if unknown:
        raise ValueError(f"no default possible for {sorted(unknown)}; only {DEFAULT_TARGETS}")
    return FieldMap(paths, {k: str(v) for k, v in (defaults or {}).items()})


def from_json_record(record: Any, field_map: FieldMap) -> Mapped:
    """Map one record of a generic JSON API with ``field_map``."""
    if not isinstance(record, dict):
        raise MappingError(f"a record is a JSON object, not {type(record).__name__}")
    warnings: list[str] = []

    def values(target: str) -> list[Any]:
        found: list[Any] = []
        for path in field_map.paths.get(target, ()):
            for value in path.values(record):
                if isinstance(value, dict | list):
                    warnings.append(f"{target}: {path.text} reached a non-text value; skipped")
                else:
                    found.append(value)
        if not found and target in field_map.defaults:
            found.append(field_map.defaults[target])
        return found

    def first(target: str) -> Any:
        found = values(target)
        return found[0] if found else None

    identifiers = [identifier(v, "DOI") for v in values("doi")]
    identifiers += [identifier(v) for v in values("identifiers") + values("url")]
    doi_values = [v for v in values("doi") if normalize_doi(clean(v)) is None]
    for bad in doi_values:
        warnings.append(f"doi {bad!r} is not a DOI; kept with its guessed type")
    dates = [date_entry(first(t), kind, warnings, t) for t, kind in DATE_TARGETS.items()]
    year_value = first("publicationYear") or first("dates.Issued")
    year = year_of(clean(year_value))
    if year_value is not None and year is None:
        warnings.append(f"publicationYear {year_value!r} has no year")
    rights = [{"rights": clean(v)} for v in values("rights")]
    rights += [{"rightsUri": clean(v)} for v in values("rightsUri")]
    metadata = {
        "identifiers": unique(identifiers),
        "creators": [p for p in (person(v) for v in values("creators")) if p],
        "titles": [{"title": t} for t in (clean(v, 100000) for v in values("titles")) if t],
        "publisher": clean(first("publisher")),
        "publicationYear": year,
        "types": types_of(first("resourceTypeGeneral"), first("resourceType"), warnings),
        "subjects": unique({"subject": s} for s in (clean(v) for v in values("subjects")) if s),
        "contributors": [
            {**p, "contributorType": "Other"}
            for p in (person(v) for v in values("contributors"))
            if p
        ],
        "dates": [d for d in dates if d],
        "language": language(first("language"), warnings),
        "version": clean(first("version")),
        "formats": [f for f in (clean(v) for v in values("formats")) if f],
        "sizes": [s for s in (clean(v) for v in values("sizes")) if s],
        "rightsList": unique(r for r in rights if all(r.values())),
        "descriptions": [
            {"description": d, "descriptionType": "Abstract"}
            for d in (block(v, warnings) for v in values("descriptions"))
            if d
        ],
    }
    return finish(metadata, warnings), warnings
