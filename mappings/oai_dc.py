"""Unqualified Dublin Core (<oai_dc:dc>) -> canonical DataCite-shaped metadata.

Dublin Core has no roles, no date types and no identifier types, so these are inferred
(first parseable date = Issued, identifier type from its shape) and anything that cannot be
placed is reported as a warning.
"""

from __future__ import annotations

from lxml import etree

from mappings import Mapped, MappingError
from mappings._shared import dedupe, elements, finish, lang_of, local, strip_html, text
from mappings.normalize import (
    classify_identifier,
    normalize_date,
    normalize_language,
    resource_type_general,
    year_of,
)
from mappings.people import split_family_given

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"

_EMBARGO_END = "info:eu-repo/date/embargoEnd/"
_DC_ELEMENTS = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)  # fmt: skip


def from_oai_dc(element: etree._Element) -> Mapped:
    """Map an <oai_dc:dc> element to canonical metadata and warnings."""
    if not isinstance(element.tag, str) or element.tag != f"{{{OAI_DC_NS}}}dc":
        raise MappingError(f"not an oai_dc:dc element: {element.tag}")
    warnings: list[str] = []
    dc = _collect(element, warnings)
    dates, year = _dates(dc["date"], warnings)
    coverage_dates, places = _coverage(dc["coverage"])
    md: dict = {}
    md["identifiers"] = _identifiers(dc["identifier"])
    md["creators"] = [_person(el) for el in dc["creator"]]
    md["titles"] = [{"title": text(el), "lang": lang_of(el)} for el in dc["title"]]
    md["publisher"] = _publisher(dc["publisher"], warnings)
    md["publicationYear"] = year
    md["types"] = _types(dc["type"], warnings)
    md["subjects"] = dedupe([{"subject": text(el), "lang": lang_of(el)} for el in dc["subject"]])
    md["contributors"] = [_person(el) | {"contributorType": "Other"} for el in dc["contributor"]]
    md["dates"] = dates + coverage_dates
    md["language"] = _language(dc["language"], warnings)
    md["relatedIdentifiers"] = _related(dc["source"], dc["relation"], warnings)
    md["formats"] = [text(el) for el in dc["format"]]
    md["rightsList"] = [_rights(el) for el in dc["rights"]]
    md["descriptions"] = [_description(el) for el in dc["description"]]
    md["geoLocations"] = [{"geoLocationPlace": place} for place in places]
    return finish(md, warnings), warnings


def _collect(element: etree._Element, warnings: list[str]) -> dict[str, list[etree._Element]]:
    """Non-empty dc:* children grouped by element name; anything else is reported."""
    found: dict[str, list[etree._Element]] = {name: [] for name in _DC_ELEMENTS}
    for child in elements(element):
        name = local(child)
        if etree.QName(child).namespace != DC_NS or name not in found:
            warnings.append(f"unmapped element {child.tag}")
        elif text(child):
            found[name].append(child)
    return found


def _person(el: etree._Element) -> dict:
    name = text(el)
    person = {"name": name, "lang": lang_of(el)}
    parts = split_family_given(name)
    if parts:
        person |= {"nameType": "Personal", "givenName": parts[1], "familyName": parts[0]}
    return person


def _identifiers(elements_: list[etree._Element]) -> list[dict]:
    classified = [guess for el in elements_ if (guess := classify_identifier(text(el)))]
    # The first DOI is the record's primary identifier and goes first.
    classified.sort(key=lambda item: item[1] != "DOI")
    return dedupe([{"identifier": value, "identifierType": kind} for value, kind in classified])


def _publisher(elements_: list[etree._Element], warnings: list[str]) -> str | None:
    for extra in elements_[1:]:
        warnings.append(f"additional dc:publisher '{text(extra)}' dropped")
    return text(elements_[0]) if elements_ else None


def _dates(elements_: list[etree._Element], warnings: list[str]) -> tuple[list[dict], int | None]:
    dates = []
    for el in elements_:
        if text(el).startswith(_EMBARGO_END):
            # OpenAIRE's embargo end is the date the content becomes available.
            available = normalize_date(text(el)[len(_EMBARGO_END) :])
            if available:
                dates.append({"date": available, "dateType": "Available"})
                continue
        value = normalize_date(text(el))
        if value is None:
            warnings.append(f"unparseable date '{text(el)}' in dc:date")
            continue
        if any(d["date"] == value for d in dates):
            continue  # DSpace repeats one date as accessioned/available/issued
        issued = not any(d["dateType"] == "Issued" for d in dates)
        dates.append({"date": value, "dateType": "Issued" if issued else "Other"})
    issued_years = [year_of(d["date"]) for d in dates if d["dateType"] == "Issued"]
    if issued_years:
        return dedupe(dates), issued_years[0]
    # No clean date: still take a year from something like "2003-04-22 13:13:44.0 CET".
    years = [year for el in elements_ if (year := year_of(text(el))) is not None]
    return dedupe(dates), years[0] if years else None


def _coverage(elements_: list[etree._Element]) -> tuple[list[dict], list[str]]:
    """dc:coverage is temporal (a date or range -> Coverage date) or spatial (-> a place)."""
    dates, places = [], []
    for el in elements_:
        value = text(el)
        when = normalize_date(value)
        if when:
            dates.append({"date": when, "dateType": "Coverage"})
        else:
            places.append(value)
    return dates, places


def _types(elements_: list[etree._Element], warnings: list[str]) -> dict:
    raw = [text(el) for el in elements_]
    mapped = [(value, general) for value in raw if (general := resource_type_general(value))]
    # Prefer a specific type over "other" when a record carries several (Zenodo, DSpace).
    specific = [pair for pair in mapped if pair[1] != "Other"] or mapped
    if specific:
        value, general = specific[0]
        return {"resourceTypeGeneral": general, "resourceType": value}
    if raw:
        warnings.append(f"unknown dc:type '{raw[0]}'; resourceTypeGeneral set to 'Other'")
        return {"resourceTypeGeneral": "Other", "resourceType": raw[0]}
    return {}


def _language(elements_: list[etree._Element], warnings: list[str]) -> str | None:
    languages = []
    for el in elements_:
        code = normalize_language(text(el))
        if code is None:
            warnings.append(f"unrecognised language '{text(el)}' in dc:language")
        elif code not in languages:
            languages.append(code)
    if len(languages) > 1:
        warnings.append(f"several languages {languages}; kept '{languages[0]}'")
    return languages[0] if languages else None


def _related(
    sources: list[etree._Element], relations: list[etree._Element], warnings: list[str]
) -> list[dict]:
    result = []
    # dc:source is what the resource derives from; dc:relation is any related resource.
    for tag, relation, elements_ in (
        ("dc:source", "IsDerivedFrom", sources),
        ("dc:relation", "Other", relations),
    ):
        for el in elements_:
            value, kind = classify_identifier(text(el))
            if kind in ("Other", "OAI"):
                warnings.append(f"{tag} '{value[:80]}' is not an identifier; dropped")
                continue
            item = {"relatedIdentifier": value, "relatedIdentifierType": kind}
            result.append(item | {"relationType": relation})
    return dedupe(result)


def _rights(el: etree._Element) -> dict:
    value = text(el)
    # URLs and the info:eu-repo access-rights terms are references, not statements.
    if value.startswith(("http://", "https://", "info:eu-repo/")):
        return {"rightsUri": value}
    return {"rights": value, "lang": lang_of(el)}


def _description(el: etree._Element) -> dict:
    return {
        "description": strip_html(el.xpath("string()").strip()),
        "descriptionType": "Abstract",
        "lang": lang_of(el),
    }
