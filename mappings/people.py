"""Creators and contributors: name shapes, name identifiers (ORCID), affiliations."""

from __future__ import annotations

import re

from mappings.normalize import normalize_orcid
from mappings.vocabularies import NAME_TYPES

ORCID_SCHEME_URI = "https://orcid.org"

# "Family, Given" with short parts and no institution words: a personal name.
_FAMILY_GIVEN = re.compile(r"^\s*([^,\d]{1,60}),\s*([^,\d]{1,60})\s*$")
_ORGANISATION_WORDS = re.compile(
    r"\b(universit\w*|institut\w*|inc|ltd|gmbh|foundation|society|association|committee|"
    r"department|laboratory|centre|center|group|consortium|project|agency|council|ministry|"
    r"museum|library|school|college|hospital|company|corporation|network|team)\b",
    re.IGNORECASE,
)


def split_family_given(name: str) -> tuple[str, str] | None:
    """('Family', 'Given') when ``name`` has the shape 'Family, Given' of a person; else None."""
    m = _FAMILY_GIVEN.match(name)
    if not m or _ORGANISATION_WORDS.search(name):
        return None
    family, given = m.group(1).strip(), m.group(2).strip()
    if len(family.split()) > 4 or len(given.split()) > 4:
        return None
    return family, given


def name_type(value: str | None) -> str | None:
    """'personal' -> 'Personal'; None for values outside the DataCite list."""
    if not value:
        return None
    fixed = value.strip().capitalize()
    return fixed if fixed in NAME_TYPES else None


def name_identifier(
    value: str | None, scheme: str | None, scheme_uri: str | None, warnings: list[str]
) -> dict | None:
    """One nameIdentifier; ORCIDs normalised to their https URI with scheme 'ORCID'."""
    if not value:
        return None
    looks_orcid = (scheme or "").strip().upper() == "ORCID" or "orcid.org" in value.lower()
    if looks_orcid:
        orcid = normalize_orcid(value)
        if orcid:
            return {
                "nameIdentifier": orcid,
                "nameIdentifierScheme": "ORCID",
                "schemeUri": ORCID_SCHEME_URI,
            }
        warnings.append(f"invalid ORCID '{value}' kept as given")
    return {
        "nameIdentifier": value,
        "nameIdentifierScheme": scheme,
        "schemeUri": scheme_uri,
    }
