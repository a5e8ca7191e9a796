"""Unqualified Dublin Core (<oai_dc:dc>) -> canonical DataCite-shaped metadata.

Dublin Core has no roles, no date types and no identifier types, so these are inferred
(the first parseable date without a time = Issued, identifier type from its shape) and
anything that cannot be placed is reported as a warning.
"""

from __future__ import annotations

from functools import lru_cache

from lxml import etree

from mappings import Mapped, MappingError
from mappings._shared import collapse, complete, dedupe, lang_of, strip_html
from mappings.namespaces import DC_NS, OAI_DC_NS
from mappings.normalize import (
    classify_identifier,
    normalize_date,
    normalize_language,
    resource_type_general,
    start_year,
    year_of,
)
from mappings.people import split_family_given

# Pure functions of values that repeat from record to record (names, dates, types, language
# codes): memoised, bounded so that hostile input (endless distinct values) cannot grow memory.
_CACHE_SIZE = 8192
_split_name = lru_cache(maxsize=_CACHE_SIZE)(split_family_given)
_normalized_date = lru_cache(maxsize=_CACHE_SIZE)(normalize_date)
_type_general = lru_cache(maxsize=_CACHE_SIZE)(resource_type_general)
_language_code = lru_cache(maxsize=_CACHE_SIZE)(normalize_language)

_EMBARGO_END = "info:eu-repo/date/embargoEnd/"
_DC_ELEMENTS = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)  # fmt: skip
# Clark-notation tags, so that children are recognised by one dict lookup on element.tag.
_ROOT_TAG = f"{{{OAI_DC_NS}}}dc"
_DC_TAGS = {f"{{{DC_NS}}}{name}": name for name in _DC_ELEMENTS}

# A dc:* element with non-empty text: (whitespace-collapsed text, the element).
Value = tuple[str, etree._Element]


def from_oai_dc(element: etree._Element) -> Mapped:
    """Map an <oai_dc:dc> element to canonical metadata and warnings."""
    if not isinstance(element.tag, str) or element.tag != _ROOT_TAG:
        raise MappingError(f"not an oai_dc:dc element: {element.tag}")
    warnings: list[str] = []
    dc = _collect(element, warnings)
    dates, year = _dates(_texts(dc, "date"), warnings)
    coverage_dates, places = _coverage(_texts(dc, "coverage"))
    # Every builder leaves empty values out, so that no pruning pass is needed afterwards.
    md = {
        # OpenAIRE puts a record's other identifiers (DOI, PMID) in dc:relation
        "identifiers": _identifiers(
            _texts(dc, "identifier")
            + [r for r in _texts(dc, "relation") if r.startswith(_ALT_IDENTIFIER)]
        ),
        "creators": [_person(value, el) for value, el in dc.get("creator", ())],
        "titles": [_with_lang({"title": value}, el) for value, el in dc.get("title", ())],
        "publisher": _publisher(_texts(dc, "publisher"), warnings),
        "publicationYear": year,
        "types": _types(_texts(dc, "type"), warnings),
        "subjects": dedupe(
            [_with_lang({"subject": value}, el) for value, el in dc.get("subject", ())]
        ),
        "contributors": [_contributor(value, el) for value, el in dc.get("contributor", ())],
        "dates": dates + coverage_dates,
        "language": _language(_texts(dc, "language"), warnings),
        "relatedIdentifiers": _related(_texts(dc, "source"), _texts(dc, "relation"), warnings),
        "formats": _texts(dc, "format"),
        "rightsList": [_rights(value, el) for value, el in dc.get("rights", ())],
        "descriptions": [_description(el) for _, el in dc.get("description", ())],
        "geoLocations": [{"geoLocationPlace": place} for place in places],
        "fundingReferences": _funding(_texts(dc, "relation")),
    }
    # Only None and empty containers are possible here; 0 is a valid publicationYear.
    present = {k: v for k, v in md.items() if v or v == 0}
    return complete(present, warnings), warnings


def _collect(element: etree._Element, warnings: list[str]) -> dict[str, list[Value]]:
    """Non-empty dc:* children grouped by element name; anything else is reported."""
    found: dict[str, list[Value]] = {}
    for child in element:
        tag = child.tag
        name = _DC_TAGS.get(tag)
        if name is None:
            if isinstance(tag, str):  # not a comment or processing instruction
                warnings.append(f"unmapped element {tag}")
            continue
        # _shared.text, inlined: it runs for every element of every record.
        value = "".join(child.itertext()) if len(child) else child.text
        if not value:
            continue
        if name == "description":
            # Only whether it has text counts (_description reads the element itself), and
            # collapsing leaves text empty exactly when it was blank: spare the long ones.
            if not value.isspace():
                found.setdefault(name, []).append((value, child))
            continue
        if "\n" in value or "  " in value or "\t" in value or "\r" in value:
            value = collapse(value)
        if value := value.strip():
            if name in found:
                found[name].append((value, child))
            else:
                found[name] = [(value, child)]
    return found


def _texts(dc: dict[str, list[Value]], name: str) -> list[str]:
    found = dc.get(name)
    return [value for value, _ in found] if found else []


def _with_lang(item: dict, el: etree._Element) -> dict:
    """``item`` with the element's xml:lang added when it has a usable one."""
    lang = lang_of(el)
    if lang:
        item["lang"] = lang
    return item


def _person(name: str, el: etree._Element) -> dict:
    person = _with_lang({"name": name}, el)
    parts = _split_name(name)
    if parts:
        person["nameType"] = "Personal"
        person["givenName"] = parts[1]
        person["familyName"] = parts[0]
    return person


def _contributor(name: str, el: etree._Element) -> dict:
    # Dublin Core has no contributor roles.
    person = _person(name, el)
    person["contributorType"] = "Other"
    return person


def _identifiers(values: list[str]) -> list[dict]:
    classified = [guess for value in values if (guess := _classified(value))]
    # The first DOI is the record's primary identifier and goes first.
    classified.sort(key=lambda item: item[1] != "DOI")
    return dedupe([{"identifier": value, "identifierType": kind} for value, kind in classified])


def _classified(value: str) -> tuple[str, str] | None:
    """An identifier's (value, type); OpenAIRE's info:eu-repo/semantics/altIdentifier/<scheme>/
    form names its type."""
    if value.startswith(_ALT_IDENTIFIER):
        scheme, _, bare = value[len(_ALT_IDENTIFIER) :].partition("/")
        kind = _ALT_SCHEMES.get(scheme.lower())
        if bare and kind == "DOI":
            return classify_identifier(bare)
        if bare and kind:
            return bare, kind
    return classify_identifier(value)


def _funding(relations: list[str]) -> list[dict]:
    """OpenAIRE's info:eu-repo/grantAgreement/Funder/Program/ProjectID[/Jurisdiction/Name/
    Acronym] relations."""
    funding = []
    for value in relations:
        if not value.startswith(_GRANT_AGREEMENT):
            continue
        parts = value[len(_GRANT_AGREEMENT) :].split("/")
        funder = parts[0].strip()
        if not funder:
            continue
        entry = {"funderName": _FUNDERS.get(funder, funder)}
        if len(parts) > 2 and (award := parts[2].strip()):
            entry["awardNumber"] = award
        if len(parts) > 4 and (title := parts[4].strip()):
            entry["awardTitle"] = title
        funding.append(entry)
    return dedupe(funding)


_ALT_IDENTIFIER = "info:eu-repo/semantics/altIdentifier/"
_GRANT_AGREEMENT = "info:eu-repo/grantAgreement/"
# OpenAIRE's altIdentifier schemes -> DataCite identifier types
_ALT_SCHEMES = {
    "doi": "DOI", "handle": "Handle", "hdl": "Handle", "urn": "URN", "ark": "ARK",
    "arxiv": "arXiv", "isbn": "ISBN", "issn": "ISSN", "eissn": "EISSN", "pissn": "ISSN",
    "pmid": "PMID", "purl": "PURL", "url": "URL", "wos": "Other",
}  # fmt: skip
_FUNDERS = {"EC": "European Commission"}


def _publisher(values: list[str], warnings: list[str]) -> str | None:
    for extra in values[1:]:
        warnings.append(f"additional dc:publisher '{extra}' dropped")
    return values[0] if values else None


def _dates(values: list[str], warnings: list[str]) -> tuple[list[dict], int | None]:
    normalized_values = []
    dates = []
    for value in values:
        if value.startswith(_EMBARGO_END):
            # OpenAIRE's embargo end is the date the content becomes available.
            available = normalize_date(value[len(_EMBARGO_END) :])
            if available:
                dates.append({"date": available, "dateType": "Available"})
                continue
        normalized = _normalized_date(value)
        if normalized is None:
            warnings.append(f"unparseable date '{value}' in dc:date")
        elif normalized not in normalized_values:  # DSpace repeats one date in several roles
            normalized_values.append(normalized)
    # DSpace lists dc.date.accessioned and .available (deposit timestamps, with a time) before
    # dc.date.issued (a day, month or year): the first date without a time is the issued one.
    issued = next((d for d in normalized_values if "T" not in d), None)
    issued = issued or next(iter(normalized_values), None)
    for normalized in normalized_values:
        dates.append(
            {"date": normalized, "dateType": "Issued" if normalized == issued else "Other"}
        )
    issued_dates = [d["date"] for d in dates if d["dateType"] == "Issued"]
    if issued_dates:
        return dedupe(dates), start_year(issued_dates[0])
    # No clean date: still take a year from something like "2003-04-22 13:13:44.0 CET".
    years = (year for value in values if (year := year_of(value)) is not None)
    return dedupe(dates), next(years, None)


def _coverage(values: list[str]) -> tuple[list[dict], list[str]]:
    """dc:coverage is temporal (a date or range -> Coverage date) or spatial (-> a place)."""
    dates, places = [], []
    for value in values:
        when = _normalized_date(value)
        if when:
            dates.append({"date": when, "dateType": "Coverage"})
        else:
            places.append(value)
    return dates, places


def _types(values: list[str], warnings: list[str]) -> dict:
    mapped = [(value, general) for value in values if (general := _type_general(value))]
    # Prefer a specific type over "other" when a record carries several (Zenodo, DSpace).
    specific = [pair for pair in mapped if pair[1] != "Other"] or mapped
    if specific:
        value, general = specific[0]
        return {"resourceTypeGeneral": general, "resourceType": value}
    if values:
        warnings.append(f"unknown dc:type '{values[0]}'; resourceTypeGeneral set to 'Other'")
        return {"resourceTypeGeneral": "Other", "resourceType": values[0]}
    return {}


def _language(values: list[str], warnings: list[str]) -> str | None:
    languages = []
    for value in values:
        code = _language_code(value)
        if code is None:
            warnings.append(f"unrecognised language '{value}' in dc:language")
        elif code not in languages:
            languages.append(code)
    if len(languages) > 1:
        warnings.append(f"several languages {languages}; kept '{languages[0]}'")
    return languages[0] if languages else None


def _related(sources: list[str], relations: list[str], warnings: list[str]) -> list[dict]:
    result = []
    # dc:source is what the resource derives from; dc:relation is any related resource.
    for tag, relation, values in (
        ("dc:source", "IsDerivedFrom", sources),
        ("dc:relation", "Other", relations),
    ):
        for raw in values:
            if raw.startswith((_ALT_IDENTIFIER, _GRANT_AGREEMENT)):
                continue  # the record's own identifiers and its funding (OpenAIRE)
            value, kind = classify_identifier(raw)
            if kind in ("Other", "OAI"):
                warnings.append(f"{tag} '{value[:80]}' is not an identifier; dropped")
                continue
            result.append(
                {
                    "relatedIdentifier": value,
                    "relatedIdentifierType": kind,
                    "relationType": relation,
                }
            )
    return dedupe(result)


def _rights(value: str, el: etree._Element) -> dict:
    # URLs and the info:eu-repo access-rights terms are references, not statements.
    if value.startswith(("http://", "https://", "info:eu-repo/")):
        return {"rightsUri": value}
    return _with_lang({"rights": value}, el)


def _description(el: etree._Element) -> dict:
    # Descriptions keep their line breaks: the raw string value, not the collapsed text.
    raw = el.xpath("string()") if len(el) else el.text or ""
    description = strip_html(raw.strip())
    item = {"description": description} if description else {}
    item["descriptionType"] = "Abstract"
    return _with_lang(item, el)
