"""DataCite XML (kernel 2.x/3/4 or no namespace; bare or in an oai_datacite wrapper) -> canonical.

The canonical record is the DataCite JSON shape, so this crosswalk is mostly renaming and
cleaning; the kernel-2/3 forms (space-separated geo points and boxes, Funder contributors,
top-level <rights>, StartDate/EndDate) are converted to their kernel-4 equivalents.

Past 400 lines: one crosswalk of one schema (kernel 2.x to 4) property by property.
"""

from __future__ import annotations

from functools import lru_cache

from lxml import etree

from mappings import Mapped, MappingError
from mappings._shared import (
    attr,
    block_text,
    compact,
    complete,
    dedupe,
    elements,
    first,
    lang_of,
    local,
    named,
    prune,
    strip_html,
    text,
)
from mappings.datacite_geo import geo_locations
from mappings.namespaces import DATACITE_KERNEL_PREFIX, OAI_DATACITE_NAMESPACES
from mappings.normalize import (
    classify_identifier,
    normalize_date,
    normalize_doi,
    normalize_language,
    resource_type_general,
    year_of,
)
from mappings.people import name_identifier, name_type
from mappings.vocabularies import (
    CONTRIBUTOR_TYPES,
    DATE_TYPES,
    DESCRIPTION_TYPES,
    FUNDER_IDENTIFIER_TYPES,
    RESOURCE_TYPES_GENERAL,
    TITLE_TYPES,
)

# Pure functions of values that repeat from record to record (dates, years, types, language
# codes): memoised, bounded so that hostile input (endless distinct values) cannot grow memory.
_CACHE_SIZE = 8192
_normalized_date = lru_cache(maxsize=_CACHE_SIZE)(normalize_date)
_year_of = lru_cache(maxsize=_CACHE_SIZE)(year_of)
_type_general = lru_cache(maxsize=_CACHE_SIZE)(resource_type_general)
_language_code = lru_cache(maxsize=_CACHE_SIZE)(normalize_language)

KERNEL_PREFIX = DATACITE_KERNEL_PREFIX

# DataCite's standard "no value" codes (our exporter writes them for missing mandatory
# properties): on the way in they mean "absent", so the mandatory-property warnings fire.
PLACEHOLDERS = frozenset({"(:unac)", "(:unal)", "(:unap)", "(:unas)", "(:unav)", "(:unkn)",
                          "(:none)", "(:null)", "(:tba)", "(:etal)"})  # fmt: skip

_HANDLED = {
    "identifier", "alternateIdentifiers", "creators", "titles", "publisher", "publicationYear",
    "resourceType", "subjects", "contributors", "dates", "language", "relatedIdentifiers",
    "sizes", "formats", "version", "rightsList", "rights", "descriptions", "geoLocations",
    "fundingReferences", "relatedItems",
}  # fmt: skip


# The <resource> element's children grouped by local name, in document order.
Children = dict[str, list[etree._Element]]
# A child of <creator> or <contributor>: (local name, element).
Part = tuple[str, etree._Element]


def is_datacite_namespace(namespace: str | None) -> bool:
    """Kernel-2.x/3/4 resource namespaces (and no namespace at all)."""
    return not namespace or namespace.startswith(KERNEL_PREFIX)


def from_datacite(element: etree._Element) -> Mapped:
    """Map a DataCite <resource> (or an oai_datacite wrapper around one) to canonical metadata."""
    warnings: list[str] = []
    # One pass over the children instead of a search per property.
    kids = _children(_unwrap(element), warnings)
    contributors, funders = _contributors(kids, warnings)
    # Every builder leaves empty values out, so that no pruning pass is needed afterwards.
    md: dict = {}
    md["identifiers"] = _identifiers(kids, warnings)
    md["creators"] = _creators(kids, warnings)
    md["titles"] = _titles(kids, warnings)
    md["publisher"] = _value(_first(kids, "publisher"))
    md["dates"] = _dates(kids, warnings)
    md["publicationYear"] = _publication_year(kids, md["dates"], warnings)
    md["types"] = _types(kids, warnings)
    md["subjects"] = _subjects(kids)
    md["contributors"] = contributors
    md["language"] = _language(kids, warnings)
    md["relatedIdentifiers"] = _related_identifiers(kids, warnings)
    md["sizes"] = _texts(kids, "sizes", "size")
    md["formats"] = _texts(kids, "formats", "format")
    md["version"] = text(_first(kids, "version"))
    md["rightsList"] = _rights_list(kids)
    md["descriptions"] = _descriptions(kids, warnings)
    md["geoLocations"] = _geo_locations(kids, warnings)
    md["fundingReferences"] = _funding_references(kids, warnings) + funders
    # Only None and empty containers are possible here; 0 is a valid publicationYear.
    present = {k: v for k, v in md.items() if v is not None and v != [] and v != {}}
    return complete(present, warnings), warnings


def _children(resource: etree._Element, warnings: list[str]) -> Children:
    """Element children grouped by local name; names this crosswalk does not read are reported."""
    found: Children = {}
    for child in resource.iterchildren(tag=etree.Element):
        name = local(child)
        if name not in _HANDLED:
            warnings.append(f"unmapped element datacite:{name}")
        found.setdefault(name, []).append(child)
    return found


def _first(kids: Children, name: str) -> etree._Element | None:
    found = kids.get(name)
    return found[0] if found else None


def _value(el: etree._Element | None) -> str | None:
    """Text of a mandatory property, None for a DataCite placeholder."""
    value = text(el)
    return None if value is None or value.lower() in PLACEHOLDERS else value


def _unwrap(element: etree._Element) -> etree._Element:
    if not isinstance(element.tag, str):
        raise MappingError("not an element")
    qname = etree.QName(element)
    if qname.namespace in OAI_DATACITE_NAMESPACES and qname.localname == "oai_datacite":
        payload = first(element, "payload")
        if payload is not None:
            inner = elements(payload)
        else:
            # DSpace writes the <resource> straight under <oai_datacite>, no <payload>
            inner = [el for el in elements(element) if local(el) == "resource"]
        if not inner:
            raise MappingError(
                "oai_datacite wrapper without a DataCite <resource> (neither in a <payload> "
                "nor directly inside)"
            )
        return _unwrap(inner[0])
    if qname.localname != "resource" or not is_datacite_namespace(qname.namespace):
        raise MappingError(f"not a DataCite resource: {element.tag}")
    return element


def _wrapped(kids: Children, wrapper: str, item: str) -> list[etree._Element]:
    return [el for box in kids.get(wrapper, ()) for el in named(box, item)]


def _texts(kids: Children, wrapper: str, item: str) -> list[str]:
    return [value for el in _wrapped(kids, wrapper, item) if (value := text(el))]


def _identifiers(kids: Children, warnings: list[str]) -> list[dict]:
    result = []
    primary = _first(kids, "identifier")
    value = _value(primary)
    kind = attr(primary, "identifierType") or "DOI"
    if value and kind.upper() == "DOI":
        doi = normalize_doi(value)
        if doi is None:
            warnings.append(f"invalid DOI '{value}' in identifier")
        result.append({"identifier": doi or value, "identifierType": "DOI"})
    elif value:
        result.append({"identifier": value, "identifierType": kind})
    for box in kids.get("alternateIdentifiers", ()):
        # Some records put the type on the wrapper instead of each item (NIST quirk).
        box_type = attr(box, "alternateIdentifierType")
        for el in named(box, "alternateIdentifier"):
            kind = attr(el, "alternateIdentifierType") or box_type or "Other"
            value = text(el)
            if value and kind.upper() == "DOI":
                # often a resolver URL (https://doi.org/10...): kept bare, as the primary one
                kind, value = "DOI", normalize_doi(value) or value
            result.append({"identifier": value, "identifierType": kind})
    return dedupe([item for item in result if item["identifier"]])


def _person(parts: list[Part], name_tag: str, warnings: list[str]) -> dict:
    person: dict = {"nameIdentifiers": [], "affiliation": []}
    for tag, el in parts:
        if tag == name_tag:
            person["name"] = _value(el)
            person["nameType"] = name_type(attr(el, "nameType"))
            person["lang"] = lang_of(el)
        elif tag in ("givenName", "familyName"):
            person[tag] = text(el)
        elif tag == "nameIdentifier":
            identifier = name_identifier(
                text(el), attr(el, "nameIdentifierScheme"), attr(el, "schemeURI"), warnings
            )
            if identifier:
                person["nameIdentifiers"].append(compact(identifier))
        elif tag == "affiliation":
            affiliation = _affiliation(el)
            if affiliation:
                person["affiliation"].append(affiliation)
    if not person.get("name") and (person.get("familyName") or person.get("givenName")):
        given, family = person.get("givenName"), person.get("familyName")
        person["name"] = ", ".join(p for p in (family, given) if p)
    if not person.get("nameType") and (person.get("givenName") or _has_orcid(person)):
        person["nameType"] = "Personal"
    # Name first, identifiers last: the order people expect when reading stored records.
    person = {"name": person.pop("name", None)} | person
    # Absent parts are None and identifier lists may be empty: the only empties to drop.
    return {key: value for key, value in person.items() if value is not None and value != []}


def _has_orcid(person: dict) -> bool:
    return any(i.get("nameIdentifierScheme") == "ORCID" for i in person["nameIdentifiers"])


def _affiliation(el: etree._Element) -> dict | None:
    identifier = attr(el, "affiliationIdentifier")
    name = text(el) or identifier
    if not name:
        return None
    return compact(
        {
            "name": name,
            "affiliationIdentifier": identifier,
            "affiliationIdentifierScheme": attr(el, "affiliationIdentifierScheme"),
            "schemeUri": attr(el, "schemeURI"),
        }
    )


def _split_people(el: etree._Element, name_tag: str) -> list[list[Part]]:
    """Children grouped per person: a second name element in one creator starts a new person."""
    groups: list[list[Part]] = [[]]
    has_name = False
    for child in el.iterchildren(tag=etree.Element):
        tag = local(child)
        if tag == name_tag:
            if has_name:
                groups.append([])
            has_name = True
        groups[-1].append((tag, child))
    return groups


def _creators(kids: Children, warnings: list[str]) -> list[dict]:
    result = []
    for el in _wrapped(kids, "creators", "creator"):
        groups = _split_people(el, "creatorName")
        if len(groups) > 1:
            warnings.append(f"malformed creator: {len(groups)} creatorName in one creator, split")
        for parts in groups:
            person = _person(parts, "creatorName", warnings)
            if person.get("name"):
                result.append(person)
            else:
                warnings.append("creator without a name skipped")
    return result


def _contributors(kids: Children, warnings: list[str]) -> tuple[list[dict], list[dict]]:
    contributors, funders = [], []
    for el in _wrapped(kids, "contributors", "contributor"):
        kind = attr(el, "contributorType")
        for parts in _split_people(el, "contributorName"):
            person = _person(parts, "contributorName", warnings)
            if not person.get("name"):
                warnings.append("contributor without a name skipped")
            elif kind == "Funder":
                # Kernel 2/3 had funders as contributors; kernel 4 has fundingReferences.
                funders.append(_funder_from_contributor(person))
            else:
                if kind not in CONTRIBUTOR_TYPES:
                    warnings.append(f"contributorType '{kind}' replaced by 'Other'")
                    kind = "Other"
                person["contributorType"] = kind
                contributors.append(person)
    return contributors, funders


def _funder_from_contributor(person: dict) -> dict:
    ids = person.get("nameIdentifiers")
    funder = {"funderName": person["name"]}
    if ids:
        scheme = ids[0].get("nameIdentifierScheme") or ""
        funder["funderIdentifier"] = ids[0]["nameIdentifier"]
        funder["funderIdentifierType"] = _funder_type(scheme)
    return funder


def _funder_type(value: str | None) -> str:
    if not value:
        return "Other"
    if value.lower() in ("crossref funder id", "fundref", "crossref funder"):
        return "Crossref Funder ID"
    upper = value.upper()
    return upper if upper in FUNDER_IDENTIFIER_TYPES else "Other"


def _titles(kids: Children, warnings: list[str]) -> list[dict]:
    result = []
    for el in _wrapped(kids, "titles", "title"):
        kind = attr(el, "titleType")
        if kind and kind not in TITLE_TYPES:
            warnings.append(f"unknown titleType '{kind}' dropped")
            kind = None
        result.append({"title": _value(el), "titleType": kind, "lang": lang_of(el)})
    return [compact(t) for t in result if t["title"]]


def _publication_year(kids: Children, dates: list[dict], warnings: list[str]):
    raw = text(_first(kids, "publicationYear"))
    year = _year_of(raw) if raw != "0000" else None  # "0000": the exporter's unknown year
    if raw and year is None:
        warnings.append(f"unparseable publicationYear '{raw}'")
    if year is None:
        issued = [d["date"] for d in dates if d.get("dateType") == "Issued"]
        year = _year_of(issued[0]) if issued else None
        if year is not None:
            warnings.append("publicationYear missing; taken from the Issued date")
    return year


def _types(kids: Children, warnings: list[str]) -> dict:
    el = _first(kids, "resourceType")
    raw_general = attr(el, "resourceTypeGeneral")
    specific = text(el)
    general = raw_general if raw_general in RESOURCE_TYPES_GENERAL else None
    if raw_general and general is None:
        general = _type_general(raw_general)
        if general is None:
            warnings.append(f"unknown resourceTypeGeneral '{raw_general}'")
        elif general.lower() != raw_general.lower():
            # e.g. kernel-4.7 Poster/Presentation: keep the original as the specific type.
            specific = specific or raw_general
    return compact({"resourceTypeGeneral": general, "resourceType": specific})


def _subjects(kids: Children) -> list[dict]:
    return [
        compact(
            {
                "subject": subject,
                "subjectScheme": attr(el, "subjectScheme"),
                "schemeUri": attr(el, "schemeURI"),
                "valueUri": attr(el, "valueURI"),
                "classificationCode": attr(el, "classificationCode"),
                "lang": lang_of(el),
            }
        )
        for el in _wrapped(kids, "subjects", "subject")
        if (subject := text(el))
    ]


def _dates(kids: Children, warnings: list[str]) -> list[dict]:
    result = []
    for el in _wrapped(kids, "dates", "date"):
        raw = text(el)
        if not raw:
            continue
        value = _normalized_date(raw)
        if value is None:
            warnings.append(f"unparseable date '{raw}' in datacite:date")
            continue
        kind = attr(el, "dateType")
        information = attr(el, "dateInformation")
        if kind not in DATE_TYPES:
            # Kernel 2 StartDate/EndDate and unknown types: keep the original type as information.
            information = information or kind
            kind = "Other"
        result.append(compact({"date": value, "dateType": kind, "dateInformation": information}))
    return result


def _language(kids: Children, warnings: list[str]) -> str | None:
    raw = text(_first(kids, "language"))
    value = _language_code(raw)
    if raw and value is None:
        warnings.append(f"unrecognised language '{raw}'")
    return value


def _related_identifiers(kids: Children, warnings: list[str]) -> list[dict]:
    result = []
    for el in _wrapped(kids, "relatedIdentifiers", "relatedIdentifier"):
        value = text(el)
        relation = attr(el, "relationType")
        if not value or not relation:
            warnings.append(f"relatedIdentifier '{value}' without relationType skipped")
            continue
        kind = attr(el, "relatedIdentifierType")
        if kind is None and (guess := classify_identifier(value)):
            value, kind = guess
        elif kind and kind.upper() == "DOI":
            value = normalize_doi(value) or value
        if attr(el, "relationTypeInformation"):
            warnings.append("unmapped attribute relationTypeInformation")
        result.append(
            {
                "relatedIdentifier": value,
                "relatedIdentifierType": kind,
                "relationType": relation,
                "resourceTypeGeneral": attr(el, "resourceTypeGeneral"),
                "relatedMetadataScheme": attr(el, "relatedMetadataScheme"),
                "schemeUri": attr(el, "schemeURI"),
                "schemeType": attr(el, "schemeType"),
            }
        )
    result.extend(_related_items(kids, warnings))
    # Dedupe before dropping the None values: the pruned forms of an identifier and of an item
    # can coincide, and both are kept.
    return [compact(item) for item in dedupe(result)]


def _related_items(kids: Children, warnings: list[str]) -> list[dict]:
    # The canonical shape has no relatedItems; keep the link, report the loss of the details.
    result = []
    for el in _wrapped(kids, "relatedItems", "relatedItem"):
        ident = first(el, "relatedItemIdentifier")
        warnings.append("relatedItem reduced to a relatedIdentifier (bibliographic details lost)")
        if text(ident) and attr(el, "relationType"):
            result.append(
                {
                    "relatedIdentifier": text(ident),
                    "relatedIdentifierType": attr(ident, "relatedItemIdentifierType"),
                    "relationType": attr(el, "relationType"),
                    "resourceTypeGeneral": attr(el, "relatedItemType"),
                }
            )
    return result


def _rights_list(kids: Children) -> list[dict]:
    # Kernel 2 has a single top-level <rights>; later kernels wrap them in <rightsList>.
    items = _wrapped(kids, "rightsList", "rights") + kids.get("rights", [])
    result = [
        {
            "rights": text(el),
            "rightsUri": attr(el, "rightsURI"),
            "rightsIdentifier": attr(el, "rightsIdentifier"),
            "rightsIdentifierScheme": attr(el, "rightsIdentifierScheme"),
            "schemeUri": attr(el, "schemeURI"),
            "lang": lang_of(el),
        }
        for el in items
    ]
    return [compact(r) for r in result if r["rights"] or r["rightsUri"] or r["rightsIdentifier"]]


def _descriptions(kids: Children, warnings: list[str]) -> list[dict]:
    result = []
    for el in _wrapped(kids, "descriptions", "description"):
        kind = attr(el, "descriptionType")
        if kind not in DESCRIPTION_TYPES:
            if kind:
                warnings.append(f"descriptionType '{kind}' replaced by 'Other'")
            kind = "Other"
        # Dataverse and others send escaped HTML; the other crosswalks strip it too.
        description = strip_html(block_text(el))
        result.append({"description": description, "descriptionType": kind, "lang": lang_of(el)})
    return [compact(d) for d in result if d["description"]]


def _geo_locations(kids: Children, warnings: list[str]) -> list[dict]:
    # Geo locations nest points, boxes and polygons, and are rare: the generic prune will do.
    return [
        pruned
        for el in _wrapped(kids, "geoLocations", "geoLocation")
        for location in geo_locations(el, warnings)
        if (pruned := prune(location))
    ]


def _funding_references(kids: Children, warnings: list[str]) -> list[dict]:
    result = []
    for el in _wrapped(kids, "fundingReferences", "fundingReference"):
        name = text(first(el, "funderName"))
        if not name:
            warnings.append("fundingReference without funderName skipped")
            continue
        ident = first(el, "funderIdentifier")
        award = first(el, "awardNumber")
        result.append(
            compact(
                {
                    "funderName": name,
                    "funderIdentifier": text(ident),
                    "funderIdentifierType": _funder_type(attr(ident, "funderIdentifierType"))
                    if text(ident)
                    else None,
                    "schemeUri": attr(ident, "schemeURI"),
                    "awardNumber": text(award),
                    "awardUri": attr(award, "awardURI"),
                    "awardTitle": text(first(el, "awardTitle")),
                }
            )
        )
    return result
