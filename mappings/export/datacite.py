"""Canonical metadata -> DataCite kernel-4 XML, valid against the kernel-4 XSD.

Mandatory properties the canonical record lacks are filled with DataCite's standard
placeholders ("(:unav)"), and values outside the XSD's controlled lists are left out or
mapped to "Other", so every record can be disseminated over OAI-PMH.
"""

from __future__ import annotations

from lxml import etree

from mappings import MappingError
from mappings._shared import LANG_TAG, UNAVAILABLE, XML_LANG
from mappings.namespaces import (
    KERNEL4_NS,
    KERNEL4_SCHEMA,
    OAI_DATACITE_NS,
    OAI_DATACITE_SCHEMA,
    XSI_NS,
)
from mappings.numbers import ascii_digits
from mappings.vocabularies import (
    CONTRIBUTOR_TYPES,
    DATE_TYPES,
    DESCRIPTION_TYPES,
    FUNDER_IDENTIFIER_TYPES,
    NAME_TYPES,
    RELATED_IDENTIFIER_TYPES,
    RELATION_TYPES,
    TITLE_TYPES,
    XSD_RESOURCE_TYPES_GENERAL,
)
from mappings.xml import any_uri, xml_safe

_RELATED_TYPES = {t.lower(): t for t in RELATED_IDENTIFIER_TYPES}


def to_datacite(metadata: dict, *, fallback_year: int | None = None) -> etree._Element:
    """Build a kernel-4 <resource> element from canonical metadata.

    publicationYear is mandatory and has no placeholder: without one in the record (or a
    date to take it from) ``fallback_year`` is written (callers pass the year the record
    was published here); without that either, the record cannot be written.
    """
    root = etree.Element(f"{{{KERNEL4_NS}}}resource", nsmap={None: KERNEL4_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{KERNEL4_NS} {KERNEL4_SCHEMA}")
    primary, alternates = _split_identifiers(metadata.get("identifiers") or [])
    _sub(root, "identifier", primary["identifier"], identifierType=primary["identifierType"])
    _creators(root, metadata.get("creators") or [])
    _titles(root, metadata.get("titles") or [])
    _sub(root, "publisher", metadata.get("publisher") or UNAVAILABLE)
    _sub(root, "publicationYear", _year(metadata, fallback_year))
    _resource_type(root, metadata.get("types") or {})
    _subjects(root, metadata.get("subjects") or [])
    _contributors(root, metadata.get("contributors") or [])
    _dates(root, metadata.get("dates") or [])
    _language(root, metadata.get("language"))
    _alternate_identifiers(root, alternates)
    _related_identifiers(root, metadata.get("relatedIdentifiers") or [])
    _list(root, "sizes", "size", metadata.get("sizes") or [])
    _list(root, "formats", "format", metadata.get("formats") or [])
    _version(root, metadata.get("version"))
    _rights_list(root, metadata.get("rightsList") or [])
    _descriptions(root, metadata.get("descriptions") or [])
    _geo_locations(root, metadata.get("geoLocations") or [])
    _funding_references(root, metadata.get("fundingReferences") or [])
    return root


def to_oai_datacite(
    metadata: dict, *, datacentre_symbol: str = "", fallback_year: int | None = None
) -> etree._Element:
    """Wrap the kernel-4 resource in an oai_datacite (oai-1.1) envelope."""
    root = etree.Element(
        f"{{{OAI_DATACITE_NS}}}oai_datacite", nsmap={None: OAI_DATACITE_NS, "xsi": XSI_NS}
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DATACITE_NS} {OAI_DATACITE_SCHEMA}")
    etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}schemaVersion").text = "4"
    etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}datacentreSymbol").text = datacentre_symbol
    payload = etree.SubElement(root, f"{{{OAI_DATACITE_NS}}}payload")
    payload.append(to_datacite(metadata, fallback_year=fallback_year))
    return root


def _sub(parent: etree._Element, name: str, value: str | None = None, **attrs) -> etree._Element:
    el = etree.SubElement(parent, f"{{{KERNEL4_NS}}}{name}")
    if value is not None:
        # a value of characters XML cannot carry alone ("\x01") would leave an empty
        # element, which the schema refuses: DataCite's "value unavailable" instead
        el.text = xml_safe(str(value)).strip() or UNAVAILABLE
    for key, attr_value in attrs.items():
        if attr_value is not None and attr_value != "":
            if key in _URI_ATTRIBUTES:
                if (uri := any_uri(str(attr_value))) is not None:
                    el.set(key, uri)
            else:
                el.set(key, xml_safe(str(attr_value)))
    return el


# The attributes the kernel-4 schema types xs:anyURI.
_URI_ATTRIBUTES = frozenset(
    {"schemeURI", "valueURI", "rightsURI", "awardURI", "classificationCode"}
)


def _lang(el: etree._Element, value: str | None) -> None:
    if value and LANG_TAG.match(value):
        el.set(XML_LANG, value)


def _split_identifiers(identifiers: list[dict]) -> tuple[dict, list[dict]]:
    """The DOI if there is one, else the first identifier; the rest become alternates."""
    if not identifiers:
        return {"identifier": UNAVAILABLE, "identifierType": "DOI"}, []
    dois = [i for i in identifiers if i.get("identifierType") == "DOI"]
    primary = dois[0] if dois else identifiers[0]
    return primary, [i for i in identifiers if i is not primary]


def _year(metadata: dict, fallback: int | None) -> str:
    # The XSD wants exactly four digits and has no placeholder for an unknown year; "0000"
    # would be a false statement (and DataCite refuses it), so only real years are written.
    candidates = [metadata.get("publicationYear")]
    candidates += [
        int(d["date"][:4]) for d in metadata.get("dates") or [] if ascii_digits(d["date"][:4])
    ]
    candidates.append(fallback)
    for year in candidates:
        if isinstance(year, int) and not isinstance(year, bool) and 1 <= year <= 9999:
            return f"{year:04d}"
    raise MappingError("the record has no publication year and no fallback year was given")


def _person(parent: etree._Element, tag: str, person: dict) -> None:
    name = _sub(parent, tag, person.get("name") or UNAVAILABLE)
    if person.get("nameType") in NAME_TYPES:
        name.set("nameType", person["nameType"])
    _lang(name, person.get("lang"))
    if person.get("givenName"):
        _sub(parent, "givenName", person["givenName"])
    if person.get("familyName"):
        _sub(parent, "familyName", person["familyName"])
    for ident in person.get("nameIdentifiers") or []:
        _sub(
            parent,
            "nameIdentifier",
            ident["nameIdentifier"],
            nameIdentifierScheme=ident.get("nameIdentifierScheme") or "Other",
            schemeURI=ident.get("schemeUri"),
        )
    for affiliation in person.get("affiliation") or []:
        _sub(
            parent,
            "affiliation",
            affiliation["name"],
            affiliationIdentifier=affiliation.get("affiliationIdentifier"),
            affiliationIdentifierScheme=affiliation.get("affiliationIdentifierScheme"),
            schemeURI=affiliation.get("schemeUri"),
        )


def _creators(root: etree._Element, creators: list[dict]) -> None:
    box = _sub(root, "creators")
    for creator in creators or [{"name": UNAVAILABLE}]:
        _person(_sub(box, "creator"), "creatorName", creator)


def _titles(root: etree._Element, titles: list[dict]) -> None:
    box = _sub(root, "titles")
    for title in titles or [{"title": UNAVAILABLE}]:
        kind = title.get("titleType")
        el = _sub(box, "title", title["title"], titleType=kind if kind in TITLE_TYPES else None)
        _lang(el, title.get("lang"))


def _resource_type(root: etree._Element, types: dict) -> None:
    general = types.get("resourceTypeGeneral")
    general = general if general in XSD_RESOURCE_TYPES_GENERAL else "Other"
    _sub(root, "resourceType", types.get("resourceType") or "", resourceTypeGeneral=general)


def _subjects(root: etree._Element, subjects: list[dict]) -> None:
    if not subjects:
        return
    box = _sub(root, "subjects")
    for subject in subjects:
        el = _sub(
            box,
            "subject",
            subject["subject"],
            subjectScheme=subject.get("subjectScheme"),
            schemeURI=subject.get("schemeUri"),
            valueURI=subject.get("valueUri"),
            classificationCode=subject.get("classificationCode"),
        )
        _lang(el, subject.get("lang"))


def _contributors(root: etree._Element, contributors: list[dict]) -> None:
    if not contributors:
        return
    box = _sub(root, "contributors")
    for contributor in contributors:
        kind = contributor.get("contributorType")
        kind = kind if kind in CONTRIBUTOR_TYPES else "Other"
        el = _sub(box, "contributor", contributorType=kind)
        _person(el, "contributorName", contributor)


def _dates(root: etree._Element, dates: list[dict]) -> None:
    if not dates:
        return
    box = _sub(root, "dates")
    for item in dates:
        kind = item.get("dateType")
        _sub(
            box,
            "date",
            item["date"],
            dateType=kind if kind in DATE_TYPES else "Other",
            dateInformation=item.get("dateInformation"),
        )


def _language(root: etree._Element, language: str | None) -> None:
    if language and LANG_TAG.match(language):
        _sub(root, "language", language)


def _alternate_identifiers(root: etree._Element, identifiers: list[dict]) -> None:
    if not identifiers:
        return
    box = _sub(root, "alternateIdentifiers")
    for ident in identifiers:
        _sub(
            box,
            "alternateIdentifier",
            ident["identifier"],
            alternateIdentifierType=ident["identifierType"],
        )


def _related_identifiers(root: etree._Element, related: list[dict]) -> None:
    # Only identifier types the XSD lists can be expressed; others are left out.
    items = [r for r in related if (r.get("relatedIdentifierType") or "").lower() in _RELATED_TYPES]
    if not items:
        return
    box = _sub(root, "relatedIdentifiers")
    for item in items:
        relation = item["relationType"]
        general = item.get("resourceTypeGeneral")
        known = relation in RELATION_TYPES
        _sub(
            box,
            "relatedIdentifier",
            item["relatedIdentifier"],
            relatedIdentifierType=_RELATED_TYPES[item["relatedIdentifierType"].lower()],
            relationType=relation if known else "Other",
            relationTypeInformation=None if known else relation,
            resourceTypeGeneral=general if general in XSD_RESOURCE_TYPES_GENERAL else None,
            relatedMetadataScheme=item.get("relatedMetadataScheme"),
            schemeURI=item.get("schemeUri"),
            schemeType=item.get("schemeType"),
        )


def _list(root: etree._Element, wrapper: str, tag: str, values: list[str]) -> None:
    if not values:
        return
    box = _sub(root, wrapper)
    for value in values:
        _sub(box, tag, value)


def _version(root: etree._Element, version: str | None) -> None:
    if version:
        _sub(root, "version", version)


def _rights_list(root: etree._Element, rights_list: list[dict]) -> None:
    if not rights_list:
        return
    box = _sub(root, "rightsList")
    for rights in rights_list:
        el = _sub(
            box,
            "rights",
            rights.get("rights") or "",
            rightsURI=rights.get("rightsUri"),
            rightsIdentifier=rights.get("rightsIdentifier"),
            rightsIdentifierScheme=rights.get("rightsIdentifierScheme"),
            schemeURI=rights.get("schemeUri"),
        )
        _lang(el, rights.get("lang"))


def _descriptions(root: etree._Element, descriptions: list[dict]) -> None:
    if not descriptions:
        return
    box = _sub(root, "descriptions")
    for item in descriptions:
        kind = item.get("descriptionType")
        el = _sub(
            box,
            "description",
            item["description"],
            descriptionType=kind if kind in DESCRIPTION_TYPES else "Other",
        )
        _lang(el, item.get("lang"))


def _point(parent: etree._Element, tag: str, point: dict) -> None:
    el = _sub(parent, tag)
    _sub(el, "pointLongitude", _number(point["pointLongitude"]))
    _sub(el, "pointLatitude", _number(point["pointLatitude"]))


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _geo_locations(root: etree._Element, locations: list[dict]) -> None:
    if not locations:
        return
    box = _sub(root, "geoLocations")
    for location in locations:
        el = _sub(box, "geoLocation")
        if location.get("geoLocationPlace"):
            _sub(el, "geoLocationPlace", location["geoLocationPlace"])
        if location.get("geoLocationPoint"):
            _point(el, "geoLocationPoint", location["geoLocationPoint"])
        if bounds := location.get("geoLocationBox"):
            box_el = _sub(el, "geoLocationBox")
            for side in ("westBoundLongitude", "eastBoundLongitude"):
                _sub(box_el, side, _number(bounds[side]))
            for side in ("southBoundLatitude", "northBoundLatitude"):
                _sub(box_el, side, _number(bounds[side]))
        _polygon(el, location.get("geoLocationPolygon") or [])


def _polygon(parent: etree._Element, polygon: list[dict]) -> None:
    corners = [p["polygonPoint"] for p in polygon if "polygonPoint" in p]
    inside = [p["inPolygonPoint"] for p in polygon if "inPolygonPoint" in p]
    # The XSD needs a closed ring of at least four points; anything less is not a polygon.
    if len(corners) < 4:
        return
    el = _sub(parent, "geoLocationPolygon")
    for corner in corners:
        _point(el, "polygonPoint", corner)
    if inside:
        _point(el, "inPolygonPoint", inside[0])


def _funding_references(root: etree._Element, funding: list[dict]) -> None:
    if not funding:
        return
    box = _sub(root, "fundingReferences")
    for item in funding:
        el = _sub(box, "fundingReference")
        _sub(el, "funderName", item["funderName"])
        if item.get("funderIdentifier"):
            kind = item.get("funderIdentifierType")
            _sub(
                el,
                "funderIdentifier",
                item["funderIdentifier"],
                funderIdentifierType=kind if kind in FUNDER_IDENTIFIER_TYPES else "Other",
                schemeURI=item.get("schemeUri"),
            )
        if item.get("awardNumber") or item.get("awardUri"):
            _sub(el, "awardNumber", item.get("awardNumber") or "", awardURI=item.get("awardUri"))
        if item.get("awardTitle"):
            _sub(el, "awardTitle", item["awardTitle"])
