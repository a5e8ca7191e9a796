"""Normalisers for identifiers, dates, languages and resource types (pure, total functions).

Each returns the canonical form or None when the input cannot be understood; callers turn
None into a warning.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import unquote

from mappings.vocabularies import (
    ISO639_1,
    LANGUAGE_ALIASES,
    NO_LANGUAGE,
    RESOURCE_TYPE_ALIASES,
)

_DOI_PREFIX = re.compile(
    r"^(?:doi:\s*|info:doi/|https?://(?:dx\.|www\.)?doi\.org/|(?:dx\.)?doi\.org/)", re.IGNORECASE
)
_DOI = re.compile(r"^10\.\d{4,9}(?:\.\d+)*/\S+$")
_ORCID_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?orcid\.org/", re.IGNORECASE)
_ORCID = re.compile(r"^(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])$", re.IGNORECASE)


def normalize_doi(s: str | None) -> str | None:
    """'doi:10.1/X', 'https://doi.org/10.1/X', URL-encoded forms -> '10.1/x'; None if not a DOI."""
    if not s:
        return None
    value = unquote(s.strip())
    value = _DOI_PREFIX.sub("", value).strip()
    if not _DOI.match(value):
        return None
    return value.lower()


def normalize_orcid(s: str | None) -> str | None:
    """Any ORCID form -> 'https://orcid.org/0000-0000-0000-000X'; None if malformed/bad checksum."""
    if not s:
        return None
    value = _ORCID_PREFIX.sub("", s.strip()).strip().strip("/")
    match = _ORCID.match(value)
    if not match:
        return None
    digits = "".join(match.groups()).upper()
    if _orcid_check_digit(digits[:15]) != digits[15]:
        return None
    return "https://orcid.org/" + "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def _orcid_check_digit(base: str) -> str:
    # ISO 7064 MOD 11-2, as specified by ORCID.
    total = 0
    for ch in base:
        total = (total + int(ch)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


_YEAR = re.compile(r"^-?\d{4}$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_COMPACT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


_YEAR_SPAN = re.compile(r"^([12][0-9]{3})\s*[-\u2013]\s*([12][0-9]{3})$")


def normalize_date(s: str | None) -> str | None:
    """W3CDTF/ISO 8601 dates and 'a/b' ranges -> ISO form keeping the precision given; else None."""
    if not s:
        return None
    value = s.strip()
    if m := _YEAR_SPAN.match(value):
        # "1939-1945", as dc:date and dc:coverage often give a span of years
        start, end = m.groups()
        return f"{start}/{end}" if start <= end else None
    if "/" in value:
        parts = value.split("/")
        if len(parts) != 2:
            return None
        start, end = (_single_date(p.strip()) for p in parts)
        if start is None or end is None:
            return None
        return f"{start}/{end}"
    return _single_date(value)


def _single_date(value: str) -> str | None:
    # The shapes exclude one another, so the most common one, a full date, is tried first.
    if m := _DAY.match(value) or _COMPACT_DAY.match(value):
        return _checked_day(*m.groups())
    if _YEAR.match(value):
        return value
    if m := _YEAR_MONTH.match(value):
        return value if 1 <= int(m.group(2)) <= 12 else None
    if m := _DATETIME.match(value):
        return _checked_datetime(m)
    return None


def _checked_day(year: str, month: str, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _checked_datetime(m: re.Match[str]) -> str | None:
    day, hours, minutes, seconds, fraction, zone = m.groups()
    if _checked_day(*day.split("-")) is None:
        return None
    try:
        datetime(2000, 1, 1, int(hours), int(minutes), int(seconds or 0))
    except ValueError:
        return None
    clock = f"{hours}:{minutes}" + (f":{seconds}{fraction or ''}" if seconds else "")
    if zone is None:
        return f"{day}T{clock}"
    zone = zone.upper()
    if zone in ("Z", "+00:00", "+0000", "-00:00", "-0000"):
        return f"{day}T{clock}Z"
    if ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return f"{day}T{clock}{zone}"


_LEADING_YEAR = re.compile(r"^\s*(\d{4})(?!\d)")


def year_of(s: str | None) -> int | None:
    """The (start) year of a date or range, e.g. '2001-05-03' -> 2001; None if there is none."""
    if not s:
        return None
    normalized = normalize_date(s)
    if normalized is not None:
        return start_year(normalized)
    # Tolerate trailing noise after a clear year ("2003-04-22 13:13:44.0 CET", "2010 (print)").
    m = _LEADING_YEAR.match(s)
    return int(m.group(1)) if m else None


def start_year(normalized: str) -> int:
    """The (start) year of a date that ``normalize_date`` returned.

    Equal to ``year_of(normalized)`` (normalize_date is idempotent), without normalising again.
    """
    first = normalized.split("/")[0]
    sign = -1 if first.startswith("-") else 1
    return sign * int(first.lstrip("-")[:4])


_PARENTHESISED = re.compile(r"\s*\(.*\)\s*$")
_MAX_LANGUAGE_CHARS = 200
_THREE_LETTERS = re.compile(r"[a-z]{3}")


def normalize_language(s: str | None) -> str | None:
    """'en', 'eng', 'English', 'en_US', 'English (United States)' -> 'en'; None if not a language.

    ISO 639-1 when the language has one; otherwise the cleaned 3-letter (639-2/3) code.
    """
    if not s:
        return None
    value = s.strip()
    if len(value) > _MAX_LANGUAGE_CHARS:
        return None  # no language name is that long; _PARENTHESISED is quadratic on "((((..."
    if "(" in value:  # the usual bare code or name has no qualifier to drop
        value = _PARENTHESISED.sub("", value)
    value = value.lower().replace("_", "-")
    if not value or value in NO_LANGUAGE:
        return None
    if value in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[value]
    primary = value.split("-")[0]
    if primary in ISO639_1:
        return primary
    if primary in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[primary]
    if _THREE_LETTERS.fullmatch(primary):
        return primary
    return None


_TYPE_SEGMENT = re.compile(r"[/:#]")
_ZENODO_PREFIX = re.compile(r"^(?:publication|image|upload)-", re.IGNORECASE)
_TYPE_NOISE = re.compile(r"[\s_\-]")


def resource_type_general(s: str | None) -> str | None:
    """Map a dc:type-like term (DCMI, info:eu-repo, Zenodo, DataCite) to resourceTypeGeneral."""
    if not s:
        return None
    segment = _TYPE_SEGMENT.split(s.strip().rstrip("/"))[-1]
    segment = _ZENODO_PREFIX.sub("", segment)
    key = _TYPE_NOISE.sub("", segment).lower()
    return RESOURCE_TYPE_ALIASES.get(key)


_HANDLE_URL = re.compile(r"^https?://hdl\.handle\.net/(\S+)$", re.IGNORECASE)
_HANDLE = re.compile(r"^hdl:\s*(\S+/\S+)$", re.IGNORECASE)
_URL = re.compile(r"^(?:https?|ftp)://\S+$", re.IGNORECASE)
_URN = re.compile(r"^urn:[a-z0-9][a-z0-9-]{0,31}:\S+$", re.IGNORECASE)
_ISSN = re.compile(r"^(?:issn:?\s*)?(\d{4}-\d{3}[\dX])$", re.IGNORECASE)
_ISBN = re.compile(r"^(?:isbn:?\s*)?((?:97[89][- ]?)?\d{1,5}[- ]?\d+[- ]?\d+[- ]?[\dX])$", re.I)
_ARXIV = re.compile(r"^arxiv:\s*(\S+)$", re.IGNORECASE)
_OAI = re.compile(r"^oai:[a-z][a-z0-9.-]*:\S+$", re.IGNORECASE)
_ARK = re.compile(r"^ark:/?\d+/\S+$", re.IGNORECASE)
_ISBN_SEPARATORS = re.compile(r"[- ]")
_MAX_ISBN_CHARS = 40


def classify_identifier(s: str | None) -> tuple[str, str] | None:
    """Guess the type of a bare identifier: (normalised value, DataCite identifier type).

    DOIs in any form -> 'DOI'; handle URLs and hdl: -> 'Handle'; other URLs -> 'URL'; URN, ISSN,
    ISBN, arXiv, ARK, OAI identifiers by shape; anything else -> (value, 'Other').
    """
    if not s or not s.strip():
        return None
    value = s.strip()
    if doi := normalize_doi(value):
        return doi, "DOI"
    if m := _HANDLE_URL.match(value) or _HANDLE.match(value):
        return m.group(1), "Handle"
    if _URL.match(value):
        return value, "URL"
    if _URN.match(value):
        return value, "URN"
    if _ARK.match(value):
        return value, "ARK"
    if _OAI.match(value):
        return value, "OAI"
    if m := _ARXIV.match(value):
        return f"arXiv:{m.group(1)}", "arXiv"
    if m := _ISSN.match(value):
        return m.group(1).upper(), "ISSN"
    # _ISBN backtracks cubically on long digit runs; an ISBN has at most 13 digits and 4 separators
    if (
        len(value) <= _MAX_ISBN_CHARS
        and (m := _ISBN.match(value))
        and len(_ISBN_SEPARATORS.sub("", m.group(1))) in (10, 13)
    ):
        return m.group(1), "ISBN"
    return value, "Other"
