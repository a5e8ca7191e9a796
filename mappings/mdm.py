"""MDM add-record requests (``record{attributes[{name, value, multivalues}]}``) -> canonical.

The generic JSON crosswalk does the work: an attribute map (attribute name, case-insensitive
-> canonical target of :mod:`mappings.generic_json`) becomes a field map of filter paths
``attributes[name=<name>].value`` over the record's attributes, one ``{name, value}`` per
value (multivalues spread out).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from mappings import Mapped, MappingError
from mappings.generic_json import FieldMap, compile_field_map, from_json_record
from mappings.json_common import date_value
from mappings.json_paths import JsonPath, Step
from mappings.normalize import normalize_date, year_of

RAW_FORMAT = "mdm-json"
DEFAULT_ATTRIBUTES: dict[str, str] = {
    "title": "titles",
    "creator": "creators",
    "description": "descriptions",
    "subject": "subjects",
    "date": "dates.Issued",
    "identifier": "identifiers",
    "publisher": "publisher",
    "type": "resourceTypeGeneral",
}


def normalized_map(attributes: Mapping[str, Any] | None) -> dict[str, str]:
    """attribute name (lower case) -> target; the default map when none is given."""
    chosen = attributes if isinstance(attributes, Mapping) and attributes else DEFAULT_ATTRIBUTES
    return {str(name).strip().lower(): str(target) for name, target in chosen.items()}


@lru_cache(maxsize=8)
def _field_map(pairs: tuple[tuple[str, str], ...]) -> FieldMap:
    fields: dict[str, list[JsonPath]] = {}
    for name, target in pairs:
        # built, not parsed: attribute names may hold the path syntax's "." and "[" (dc.title)
        steps = (Step("key", "attributes"), Step("match", "name", value=name), Step("key", "value"))
        fields.setdefault(target, []).append(JsonPath(f"attributes[name={name}].value", steps))
    return compile_field_map(fields)


def attribute_values(attr: Mapping[str, Any]) -> list[str]:
    """An attribute's values as text: ``value``, then each of ``multivalues``."""
    values = [] if attr.get("value") is None else [attr["value"]]
    for item in attr.get("multivalues") or []:
        value = item.get("value") if isinstance(item, Mapping) else item
        if value is not None:
            values.append(value)
    return [v if isinstance(v, str) else json.dumps(v) for v in values]


def from_mdm_record(record: Any, attributes: Mapping[str, Any] | None = None) -> Mapped:
    """Map an MDM record with an attribute map (see :func:`normalized_map`)."""
    if not isinstance(record, Mapping) or not isinstance(record.get("attributes"), list):
        raise MappingError("an MDM record is an object with a list of attributes")
    mapping = normalized_map(attributes)
    try:
        field_map = _field_map(tuple(sorted(mapping.items())))
    except ValueError as exc:
        raise MappingError(f"attribute map: {exc}") from exc
    flat = [
        {"name": str(attr.get("name") or "").strip().lower(), "value": value}
        for attr in record["attributes"]
        if isinstance(attr, Mapping)
        for value in attribute_values(attr)
    ]
    return from_json_record({"attributes": flat}, field_map)


def value_problem(target: str, value: str) -> str | None:
    """Why ``value`` cannot be the ``target`` property (dates and years must be dates)."""
    if target.startswith("dates.") or target == "publicationYear":
        text = value.strip()
        readable = date_value(text) or normalize_date(text.replace(" ", "T", 1))
        if not readable and (target != "publicationYear" or year_of(text) is None):
            return f"{value[:100]!r} is not a date"
    return None
