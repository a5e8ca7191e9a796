"""Which DataCite mandatory properties a canonical record lacks.

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
