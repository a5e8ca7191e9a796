"""Which DataCite mandatory properties a canonical record lacks; values cut to the
canonical schema's length limits.

The crosswalks fill the two the canonical schema needs (a ``(:unav)`` title, resource type
``Other``) and warn as they map; this reads a stored or deposited record afterwards, so that
the ingest API, the record pages and the reports can tell a depositor what is missing.
"""

from __future__ import annotations

from typing import Any

from mappings.datacite import PLACEHOLDERS

# (canonical member, the DataCite property name used in the message)
MANDATORY = (
    ("identifiers", "identifier"),
    ("creators", "creator"),
    ("titles", "title"),
    ("publisher", "publisher"),
    ("publicationYear", "publicationYear"),
    ("types", "resourceTypeGeneral"),
)


def missing_properties(metadata: Any) -> list[str]:
    """The names of the DataCite mandatory properties ``metadata`` lacks."""
    if not isinstance(metadata, dict):
        return []
    return [label for key, label in MANDATORY if not _present(key, metadata.get(key))]


def missing_mandatory(metadata: Any) -> list[str]:
    """The DataCite mandatory properties ``metadata`` lacks, as warnings."""
    return [f"missing mandatory DataCite property {name}" for name in missing_properties(metadata)]


def _present(key: str, value: Any) -> bool:
    if key == "publicationYear":
        return isinstance(value, int) and not isinstance(value, bool)
    if key == "types":
        return isinstance(value, dict) and bool(value.get("resourceTypeGeneral"))
    if isinstance(value, str):
        return value.strip().lower() not in PLACEHOLDERS and bool(value.strip())
    if isinstance(value, list):
        return any(_real_item(key, item) for item in value)
    return False


def _real_item(key: str, item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    field = {"identifiers": "identifier", "creators": "name", "titles": "title"}[key]
    value = item.get(field)
    return isinstance(value, str) and value.strip().lower() not in PLACEHOLDERS


def cut_long_values(metadata: dict, warnings: list[str]) -> dict:
    """Strings cut to the canonical schema's limits (titles and descriptions 100,000
    characters, every other string 2,000), each cut reported. XML crosswalks keep text as
    the source wrote it: a full licence text in <rights> would fail the schema."""
    for key, value in metadata.items():
        if key != "extra":  # the catalogue's own member, which the schema leaves open
            metadata[key] = _fit(value, key, _LONG_TEXT.get(key), warnings)
    return metadata


_SHORT_LIMIT = 2000  # the schema's shortString
_LONG_LIMIT = 100_000  # its nonEmptyString: titles[].title and descriptions[].description
_LONG_TEXT = {"titles": "title", "descriptions": "description"}


def _fit(value: Any, where: str, long_member: str | None, warnings: list[str]) -> Any:
    if isinstance(value, str):
        if len(value) <= _SHORT_LIMIT:
            return value
        return _shortened(value, _SHORT_LIMIT, where, warnings)
    if isinstance(value, list):
        for n, item in enumerate(value):
            value[n] = _fit(item, where, long_member, warnings)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == long_member and isinstance(item, str):
                if len(item) > _LONG_LIMIT:
                    value[key] = _shortened(item, _LONG_LIMIT, f"{where}.{key}", warnings)
            else:
                value[key] = _fit(item, f"{where}.{key}", None, warnings)
    return value


def _shortened(value: str, limit: int, where: str, warnings: list[str]) -> str:
    warnings.append(f"{where} cut to {limit} characters")
    return value[: limit - 1].rstrip() + "…"
