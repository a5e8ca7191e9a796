"""EUDAT B2SHARE (v2) record JSON -> canonical DataCite-shaped metadata.

Takes one hit of ``/api/records/`` (``id``, ``created``, ``updated``, ``links``, ``files``,
``metadata``). B2SHARE's common metadata is a DataCite-like superset of Dublin Core with
snake_case names (``creator_name``, ``description_type``, ``resource_type_general``), so
this is mostly renaming. Community-specific blocks (``community_specific``, keyed by block
schema id) have no DataCite home: they are kept verbatim under ``extra.b2share``, with the
community, the B2SHARE id and links. Fields a harvester has no business copying (owners,
contact e-mail, internal ``_pid``/``_oai``/``_deposit``/``_files`` bookkeeping) are dropped
on purpose; any other field we do not know is kept in ``extra`` and reported.

About 400 lines: one crosswalk, a small function per B2SHARE field (root schemas v0 to v2),
which nothing else uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mappings import Mapped, MappingError
from mappings._shared import complete, prune
from mappings.json_common import (
    LONG,
    as_list,
    block,
    clean,
    date_value,
    enum_value,
    identifier,
    language,
    orcid_or_other,
    person,
    texts,
    types_of,
    unique,
    unmapped,
)
from mappings.normalize import normalize_date, start_year, year_of
from mappings.vocabularies import (
    CONTRIBUTOR_TYPES,
    DATE_TYPES,
    DESCRIPTION_TYPES,
    FUNDER_IDENTIFIER_TYPES,
    RELATION_TYPES,
    TITLE_TYPES,
)

RAW_FORMAT = "b2share-json"
DISCIPLINE_SCHEME = "B2SHARE discipline"
OPEN_ACCESS = "info:eu-repo/semantics/openAccess"
CLOSED_ACCESS = "info:eu-repo/semantics/closedAccess"

_HANDLED = {
    "titles", "creators", "contributors", "descriptions", "keywords", "disciplines",
    "publisher", "publication_date", "embargo_date", "language", "resource_types", "license",
    "open_access", "DOI", "ePIC_PID", "alternate_identifiers", "related_identifiers",
    "version", "funding_references", "community", "community_specific",
    "spatial_coverages", "temporal_coverages", "languages", "dates", "formats", "sizes",
}  # fmt: skip
# Bookkeeping and personal data: not descriptive metadata, so not a loss worth a warning.
_IGNORED = {
    "$schema", "owners", "contact_email", "publication_state", "_pid", "_oai", "_deposit",
    "_files", "external_pids",
}  # fmt: skip
_KNOWN = frozenset(_HANDLED | _IGNORED)


def is_published(hit: Mapping[str, Any]) -> bool:
    """Drafts are private to their owner: never catalogue them."""
    metadata = hit.get("metadata")
    state = metadata.get("publication_state") if isinstance(metadata, dict) else None
    return state in (None, "published")


def from_b2share(
    hit: Mapping[str, Any], communities: Mapping[str, Mapping[str, Any]] | None = None
) -> Mapped:
    """Map one B2SHARE record (a search hit or a GET of the record) to canonical metadata.

    ``communities`` (id -> {"name", "schema_version"}) labels the record's community.
    """
    if not isinstance(hit, Mapping):
        raise MappingError(f"a B2SHARE record is a JSON object, not {type(hit).__name__}")
    md = hit.get("metadata")
    if not isinstance(md, Mapping):
        raise MappingError(f"record {hit.get('id')!r} has no metadata object")
    warnings: list[str] = []
    published = clean(md.get("publication_date"))
    issued = None if published is None else date_value(published)
    dates = [
        _date(published, "Issued", warnings, "publication_date", issued),
        _date(clean(md.get("embargo_date")), "Available", warnings, "embargo_date"),
        _date(clean(hit.get("created")), "Created", warnings, "created"),
        _date(clean(hit.get("updated")), "Updated", warnings, "updated"),
        *_described_dates(md.get("dates"), warnings),
    ]
    resource_type = next(iter(_dicts(md.get("resource_types"))), {})
    identifiers, doi_ok = _identifiers(md)
    # Every builder leaves empty values out (in the order the warnings are made) and every
    # text comes stripped from clean/block, even one cut to its limit: no prune pass needed.
    metadata = {
        "identifiers": identifiers,
        "creators": _people(md.get("creators"), "creator", warnings),
        "titles": _titles(md.get("titles"), warnings),
        "publisher": clean(md.get("publisher"), warnings=warnings),
        "publicationYear": _year(published, issued, hit, warnings),
        "types": types_of(
            resource_type.get("resource_type_general"),
            # root schema v1 and later: resource_type_description
            resource_type.get("resource_type") or resource_type.get("resource_type_description"),
            warnings,
        ),
        "subjects": _subjects(md),
        "contributors": _people(md.get("contributors"), "contributor", warnings),
        "dates": [d for d in dates if d],
        "language": language(md.get("language") or _first_language(md.get("languages")), warnings),
        "relatedIdentifiers": _related(md.get("related_identifiers"), warnings),
        "sizes": [*texts(md.get("sizes")), *_sizes(hit.get("files"))],
        "formats": texts(md.get("formats")),
        "version": clean(md.get("version")),
        "rightsList": _rights(md),
        "descriptions": _descriptions(md.get("descriptions"), warnings),
        "fundingReferences": _funding(md.get("funding_references")),
        "extra": _extra(hit, md, communities, doi_ok, warnings),
    }
    # Left out: None and empty texts and containers; 0 is a valid publicationYear.
    present = {k: v for k, v in metadata.items() if v or v == 0}
    return complete(present, warnings), warnings


def _dicts(value: Any) -> list[dict]:
    if value.__class__ is list:
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


def _date(
    text: str | None, date_type: str, warnings: list[str], label: str, normalized: str | None = None
) -> dict | None:
    """A dates entry for a clean ``text``; ``normalized`` when the caller already has it."""
    if text is None:
        return None
    normalized = normalized or date_value(text) or normalize_date(text.replace(" ", "T", 1))
    if normalized is None:
        warnings.append(f"unparseable {label} {text!r} dropped")
        return None
    return {"date": normalized, "dateType": date_type}


def _described_dates(value: Any, warnings: list[str]) -> list[dict | None]:
    """Root schema v1's ``dates`` ([{date, date_type, date_information}])."""
    dates: list[dict | None] = []
    for item in _dicts(value):
        kind = enum_value(item.get("date_type"), DATE_TYPES, warnings, "date_type") or "Other"
        entry = _date(clean(item.get("date")), kind, warnings, "date")
        if entry and (information := clean(item.get("date_information"))):
            entry["dateInformation"] = information
        dates.append(entry)
    return dates


def _first_language(value: Any) -> str | None:
    """``languages``: strings, or root schema v1's [{language_identifier, language_name}]."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("language_identifier") or item.get("language_name")
        if text := clean(item):
            return text
    return None


def _identifiers(md: Mapping[str, Any]) -> tuple[list[dict], bool]:
    """The identifiers, and whether the DOI field holds a DOI."""
    doi = identifier(md.get("DOI"), "DOI")
    found = [doi, identifier(md.get("ePIC_PID"), "Handle")]
    alternates = md.get("alternate_identifiers")
    if alternates is not None:
        for alt in _dicts(alternates):
            found.append(
                identifier(alt.get("alternate_identifier"), alt.get("alternate_identifier_type"))
            )
    return unique(found), doi is not None and doi["identifierType"] == "DOI"


def _people(value: Any, role: str, warnings: list[str]) -> list[dict]:
    people = []
    name_key = f"{role}_name"
    for item in as_list(value):
        if isinstance(item, str):  # B2SHARE v1 records carried plain names
            if entry := person(item):
                people.append(entry)
            continue
        if not isinstance(item, dict):
            continue
        found = item.get("name_identifiers")
        ids = (
            ()
            if found is None
            else [
                orcid_or_other(n.get("name_identifier"), n.get("scheme"), warnings)
                for n in _dicts(found)
            ]
        )
        affiliations = item.get("affiliations")
        kind = item.get("name_type")
        entry = person(
            item.get(name_key),
            given=item.get("given_name"),
            family=item.get("family_name"),
            name_type=None if kind is None else clean(kind),
            identifiers=ids,
            affiliations=()
            if affiliations is None
            else [
                a.get("affiliation_name") if isinstance(a, dict) else a
                for a in as_list(affiliations)
            ],
        )
        if entry:
            if role == "contributor":
                kind = enum_value(item.get("contributor_type"), CONTRIBUTOR_TYPES, warnings,
                                  "contributor_type")  # fmt: skip
                entry["contributorType"] = kind or "Other"
            people.append(entry)
    return people


def _titles(value: Any, warnings: list[str]) -> list[dict]:
    titles = []
    for item in _dicts(value):
        title = clean(item.get("title"), LONG, warnings)
        if title:
            entry = {"title": title}
            kind = item.get("title_type", item.get("type"))  # "type" from root schema v1
            if kind is not None and (kind := enum_value(kind, TITLE_TYPES, warnings, "title_type")):
                entry["titleType"] = kind
            titles.append(entry)
    return titles


def _subjects(md: Mapping[str, Any]) -> list[dict]:
    subjects = []
    for keyword in as_list(md.get("keywords")):
        # newer B2SHARE: {"keyword": ..., "scheme": ..., "scheme_uri": ...}
        if isinstance(keyword, dict):
            if subject := clean(keyword.get("keyword")):
                entry = {"subject": subject}
                if scheme := clean(keyword.get("scheme")):
                    entry["subjectScheme"] = scheme
                if uri := clean(keyword.get("scheme_uri")):
                    entry["schemeUri"] = uri
                subjects.append(entry)
        elif subject := clean(keyword):
            subjects.append({"subject": subject})
    for discipline in as_list(md.get("disciplines")):
        name = discipline.get("discipline_name") if isinstance(discipline, dict) else discipline
        if subject := clean(name):
            subjects.append({"subject": subject, "subjectScheme": DISCIPLINE_SCHEME})
    return unique(subjects)


def _year(
    published: str | None, issued: str | None, hit: Mapping[str, Any], warnings: list[str]
) -> int | None:
    year = start_year(issued) if issued is not None else year_of(published)
    if year is None and (year := _year_of(clean(hit.get("created")))) is not None:
        warnings.append("no publication_date; publicationYear from the record's creation date")
    return year


def _year_of(text: str | None) -> int | None:
    """``year_of`` of a clean text: a timestamp's (the usual ``created``) by date_value's
    fast path (equal to normalize_date for clean text), anything else by year_of."""
    if text is None:
        return None
    normalized = date_value(text)
    return start_year(normalized) if normalized is not None else year_of(text)


def _related(value: Any, warnings: list[str]) -> list[dict]:
    related = []
    for item in _dicts(value):
        target = clean(item.get("related_identifier"))
        relation = enum_value(item.get("relation_type"), RELATION_TYPES, warnings, "relation_type")
        if target and relation:
            entry = {"relatedIdentifier": target}
            if kind := clean(item.get("related_identifier_type")):
                entry["relatedIdentifierType"] = kind
            entry["relationType"] = relation
            if general := clean(item.get("resource_type_general")):
                entry["resourceTypeGeneral"] = general
            related.append(entry)
    return unique(related)


def _sizes(files: Any) -> list[str]:
    sizes = [f.get("size") for f in _dicts(files)]
    sizes = [s for s in sizes if isinstance(s, int) and not isinstance(s, bool) and s >= 0]
    if not sizes:
        return []
    count = len(sizes)
    return [f"{count} file{'s' if count != 1 else ''}", f"{sum(sizes)} bytes"]


def _rights(md: Mapping[str, Any]) -> list[dict]:
    rights = []
    licence = md.get("license")
    if isinstance(licence, dict):
        entry = {}
        if name := clean(licence.get("license")):
            entry["rights"] = name
        if uri := clean(licence.get("license_uri")):
            entry["rightsUri"] = uri
        rights.append(entry)
    elif isinstance(licence, str) and (name := clean(licence)):
        rights.append({"rights": name})
    access = md.get("open_access")
    if isinstance(access, bool):
        rights.append(
            {"rights": "Open Access", "rightsUri": OPEN_ACCESS}
            if access
            else {"rights": "Closed Access", "rightsUri": CLOSED_ACCESS}
        )
    return unique(rights)


def _descriptions(value: Any, warnings: list[str]) -> list[dict]:
    descriptions = []
    for item in _dicts(value):
        text = block(item.get("description"), warnings)
        if text:
            kind = item.get("description_type")
            if kind is not None:
                kind = enum_value(kind, DESCRIPTION_TYPES, warnings, "description_type")
            descriptions.append({"description": text, "descriptionType": kind or "Other"})
    return descriptions


_FUNDING = (
    ("funder_identifier", "funderIdentifier"),
    ("funder_identifier_type", "funderIdentifierType"),
    ("award_number", "awardNumber"),
    ("award_title", "awardTitle"),
    ("award_uri", "awardUri"),
)


def _funding(value: Any) -> list[dict]:
    funding = []
    for item in _dicts(value):
        name = clean(item.get("funder_name"))
        if name:
            entry = {"funderName": name}
            for source, target in _FUNDING:
                if text := clean(item.get(source)):
                    entry[target] = text
            if entry.get("funderIdentifierType") not in (None, *FUNDER_IDENTIFIER_TYPES):
                entry["funderIdentifierType"] = "Other"
            funding.append(entry)
    return unique(funding)


def _extra(
    hit: Mapping[str, Any],
    md: Mapping[str, Any],
    communities: Mapping[str, Mapping[str, Any]] | None,
    doi_ok: bool,
    warnings: list[str],
) -> dict | None:
    """``extra.b2share``: what has no DataCite home; verbatim values pruned of empties."""
    community = clean(md.get("community"))
    known = (communities or {}).get(community or "") or {}
    extra: dict[str, Any] = {}
    if (rid := clean(hit.get("id"))) is not None:
        extra["id"] = rid
    if community is not None:
        extra["community"] = community
    _keep(extra, "community_name", known.get("name"))
    _keep(extra, "community_schema_version", known.get("schema_version"))
    _keep(extra, "community_specific", md.get("community_specific") or None)
    _keep(extra, "spatial_coverages", md.get("spatial_coverages") or None)
    _keep(extra, "temporal_coverages", md.get("temporal_coverages") or None)
    if (link := clean(dig_link(hit, "self"))) is not None:
        extra["self"] = link
    if md.get("DOI") and not doi_ok:
        warnings.append(f"DOI {md.get('DOI')!r} is not a DOI")
    rest = unmapped(md, _KNOWN, warnings, "B2SHARE")
    if rest:
        _keep(extra, "unmapped", rest)
    return {"b2share": extra} if extra else None


def _keep(extra: dict[str, Any], key: str, value: Any) -> None:
    """Set ``extra[key]`` to ``value`` pruned of empties, unless nothing is left of it."""
    if value is not None:
        value = prune(value)
        if value is not None and value != "" and value != [] and value != {}:
            extra[key] = value


def dig_link(hit: Mapping[str, Any], name: str) -> Any:
    links = hit.get("links")
    return links.get(name) if isinstance(links, dict) else None
