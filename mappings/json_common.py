"""Helpers shared by the crosswalks of JSON APIs (B2SHARE, SURF, metastore2, UNIS, generic).

JSON from an API is as untrusted as harvested XML: any field may hold any type. These
helpers take whatever arrives and return clean strings (or nothing), so that every
crosswalk output validates against the canonical schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache, lru_cache
from typing import Any

from mappings._shared import clean_lang, collapse, dedupe, strip_html
from mappings.normalize import (
    classify_identifier,
    normalize_date,
    normalize_language,
    resource_type_general,
)
from mappings.people import name_identifier, split_family_given
from mappings.vocabularies import RESOURCE_TYPES_GENERAL

SHORT = 2000  # the canonical schema's shortString
LONG = 100000  # and its nonEmptyString
# Entries per lookup cache: names, vocabulary spellings and language codes repeat from record
# to record; the bound keeps hostile input (endless distinct values) from growing memory.
_CACHE_SIZE = 8192


def clean(value: Any, limit: int = SHORT, warnings: list[str] | None = None) -> str | None:
    """A string (or number) as collapsed, stripped text within ``limit``; None otherwise.

    A text cut to ``limit`` is stripped again (the cut may fall after a space), so whatever
    this returns needs no later ``prune``."""
    if value.__class__ is not str:  # the usual case first: one class check
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            value = str(value)
        elif not isinstance(value, str):
            return None
    # Most values are single-line, single-spaced: nothing to collapse.
    if "\n" in value or "\t" in value or "\r" in value or "  " in value:
        value = collapse(value)
    text = value.strip()
    if not text:
        return None
    if len(text) > limit:
        if warnings is not None:
            warnings.append(f"value of {len(text)} characters cut to {limit}: {text[:40]!r}...")
        text = text[:limit].rstrip()
    return text


def block(value: Any, warnings: list[str] | None = None) -> str | None:
    """Long text (descriptions): HTML stripped, line breaks kept, within the schema's limit."""
    if not isinstance(value, str):
        return clean(value, LONG, warnings)
    text = strip_html(value.strip()) or None
    if text and len(text) > LONG:
        if warnings is not None:
            warnings.append(f"description of {len(text)} characters cut to {LONG}")
        text = text[:LONG].rstrip()
    return text


def as_list(value: Any) -> list[Any]:
    """A list as is, a single value as a one-item list, None as an empty list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def texts(value: Any, limit: int = SHORT) -> list[str]:
    """Every clean string among ``value`` (a string or a list of them)."""
    return [t for t in (clean(v, limit) for v in as_list(value)) if t]


def enum_value(value: Any, allowed: Iterable[str], warnings: list[str], label: str) -> str | None:
    """``value`` spelled as in ``allowed`` (matched case-insensitively); else a warning."""
    text = clean(value)
    if text is None:
        return None
    found = _spelled(frozenset(allowed), text)
    if found is None:
        warnings.append(f"unknown {label} {text!r} dropped")
    return found


@lru_cache(maxsize=_CACHE_SIZE)
def _spelled(allowed: frozenset[str], text: str) -> str | None:
    lookup = _lookup(allowed)
    return lookup.get(text.lower().replace("_", "").replace(" ", "")) or lookup.get(text.lower())


@cache
def _lookup(allowed: frozenset[str]) -> dict[str, str]:
    return {a.lower(): a for a in allowed}


# A pure function of the name; names repeat across a source's records.
_split_name = lru_cache(maxsize=_CACHE_SIZE)(split_family_given)


def person(
    name: Any,
    *,
    given: Any = None,
    family: Any = None,
    name_type: str | None = None,
    identifiers: Iterable[dict] = (),
    affiliations: Iterable[Any] = (),
) -> dict | None:
    """A creator/contributor; 'Family, Given' names are split and marked Personal."""
    full = clean(name)
    given_name = None if given is None else clean(given)
    family_name = None if family is None else clean(family)
    if full is None and (given_name or family_name):
        full = ", ".join(p for p in (family_name, given_name) if p)
    if full is None:
        return None
    if not (given_name or family_name) and (split := _split_name(full)):
        family_name, given_name = split
        name_type = name_type or "Personal"
    entry: dict[str, Any] = {"name": full}
    if name_type in ("Personal", "Organizational"):
        entry["nameType"] = name_type
    if given_name:
        entry["givenName"] = given_name
    if family_name:
        entry["familyName"] = family_name
    ids = [i for i in identifiers if i]
    if ids:
        entry["nameIdentifiers"] = ids
    names = [{"name": a} for a in (clean(x) for x in affiliations) if a]
    if names:
        entry["affiliation"] = names
    return entry


def orcid_or_other(value: Any, scheme: Any, warnings: list[str]) -> dict | None:
    """A nameIdentifier entry (ORCIDs normalised) with empty parts left out."""
    found = name_identifier(clean(value), clean(scheme), None, warnings)
    return {k: v for k, v in found.items() if v} if found else None


def identifier(value: Any, declared_type: Any = None) -> dict | None:
    """An identifiers entry; the type is guessed from the value's shape unless declared."""
    text = clean(value)
    if text is None:
        return None
    guessed = classify_identifier(text)
    if guessed is None:
        return None
    normalized, kind = guessed
    declared = clean(declared_type)
    if declared and kind in ("Other", "URL") and declared.upper() != "DOI":
        return {"identifier": text, "identifierType": declared}
    return {"identifier": normalized, "identifierType": kind}


def unique(items: Iterable[dict]) -> list[dict]:
    """Drop empty and repeated entries (same content), keeping the first."""
    return dedupe([item for item in items if item])


# A UTC timestamp as APIs write them (Python's isoformat, or with "Z"): normalize_date tries
# four other shapes before this one. For text of this shape ``date_value`` returns what
# normalize_date does (the date and clock checked, the zone written "Z"), several times faster.
_UTC_STAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):(([0-9]{2})(?:\.[0-9]+)?)(?:Z|\+00:00)"
)
# Dates other than timestamps (publication dates, embargo ends) repeat from record to record.
_normalized_date = lru_cache(maxsize=_CACHE_SIZE)(normalize_date)


def date_value(text: str) -> str | None:
    """``normalize_date(text)`` for a clean ``text``: fast for UTC timestamps, cached else."""
    stamp = _UTC_STAMP.fullmatch(text)
    if stamp is None:
        return _normalized_date(text)
    day, hours, minutes, clock_seconds, seconds = stamp.groups()
    try:
        date.fromisoformat(day)  # for YYYY-MM-DD the same check as normalize_date's date()
    except ValueError:
        return None
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        return None
    return f"{day}T{hours}:{minutes}:{clock_seconds}Z"


def date_entry(value: Any, date_type: str, warnings: list[str], label: str) -> dict | None:
    text = clean(value)
    if text is None:
        return None
    normalized = date_value(text) or normalize_date(text.replace(" ", "T", 1))
    if normalized is None:
        warnings.append(f"unparseable {label} {text!r} dropped")
        return None
    return {"date": normalized, "dateType": date_type}


def types_of(general: Any, specific: Any, warnings: list[str]) -> dict:
    """``types`` from a resourceTypeGeneral-like value and a free resourceType."""
    text = clean(general)
    found = None
    if text is not None:
        found = text if text in RESOURCE_TYPES_GENERAL else resource_type_general(text)
        if found is None:
            warnings.append(f"resource type {text!r} not a DataCite resourceTypeGeneral")
    types: dict[str, Any] = {}
    if found:
        types["resourceTypeGeneral"] = found
    resource_type = clean(specific) or (text if found is None else None)
    if resource_type:
        types["resourceType"] = resource_type
    return types


def language(value: Any, warnings: list[str]) -> str | None:
    text = clean(value)
    if text is None:
        return None
    code = _language_code(text)
    if code is None:
        warnings.append(f"unknown language {text!r} dropped")
    return code


@lru_cache(maxsize=_CACHE_SIZE)
def _language_code(text: str) -> str | None:
    return normalize_language(text) or clean_lang(text)


def unmapped(record: Mapping[str, Any], handled: Iterable[str], warnings: list[str], where: str):
    """Warn about (and return) the fields of ``record`` no crosswalk line took."""
    known = handled if isinstance(handled, set | frozenset) else set(handled)
    rest = {k: v for k, v in record.items() if k not in known and v not in (None, "", [], {})}
    for key in sorted(rest):
        warnings.append(f"unmapped {where} field {key!r} kept in extra")
    return rest
