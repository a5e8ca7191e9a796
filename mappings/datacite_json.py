"""DataCite JSON as DataCite writes it -> canonical metadata.

Three shapes are taken: a kernel-4.x JSON document (datacite/schema ``source/json``), the
``data.attributes`` object of the DataCite REST API, and the whole ``{"data": {"type":
"dois", "attributes": ...}}`` envelope. The canonical record *is* the DataCite JSON shape, so
this is mostly keeping: ``publicationYear`` becomes an integer, ``doi``/``id``/``url`` and
``alternateIdentifiers`` become ``identifiers``, the 4.5 publisher object becomes its name,
REST nulls and empty lists go. Members DataCite defines that the record does not keep
(``state``, ``container``, the REST API's counts, ...) are reported in one warning; a member
that no DataCite version defines is returned as unknown, so that the caller can refuse the
document naming it (a typo must not vanish silently).

Values of the wrong JSON type are left as they are, for the canonical schema to report at
their own JSON pointer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mappings._shared import dedupe
from mappings.normalize import normalize_doi, resource_type_general
from mappings.numbers import ascii_digits

# Per object kind: members the canonical record keeps, and members DataCite defines that it
# drops (reported). Anything else is unknown. Sources: the kernel-4.2/4.3 JSON schemas of
# datacite/schema, the DataCite REST API reference (attributes of /dois, 4.4-4.6 additions).
_PERSON = {"name", "nameType", "givenName", "familyName", "lang", "nameIdentifiers",
           "affiliation", "contributorType"}  # fmt: skip
KEEP: dict[str, frozenset[str]] = {
    "person": frozenset(_PERSON),
    "nameIdentifiers": frozenset({"nameIdentifier", "nameIdentifierScheme", "schemeUri"}),
    "affiliation": frozenset(
        {"name", "affiliationIdentifier", "affiliationIdentifierScheme", "schemeUri"}
    ),
    "titles": frozenset({"title", "titleType", "lang"}),
    "subjects": frozenset(
        {"subject", "subjectScheme", "schemeUri", "valueUri", "classificationCode", "lang"}
    ),
    "dates": frozenset({"date", "dateType", "dateInformation"}),
    "identifiers": frozenset({"identifier", "identifierType"}),
    "alternateIdentifiers": frozenset({"alternateIdentifier", "alternateIdentifierType"}),
    "relatedIdentifiers": frozenset(
        {
            "relatedIdentifier",
            "relatedIdentifierType",
            "relationType",
            "resourceTypeGeneral",
            "relatedMetadataScheme",
            "schemeUri",
            "schemeType",
        }
    ),  # fmt: skip
    "rightsList": frozenset(
        {"rights", "rightsUri", "rightsIdentifier", "rightsIdentifierScheme", "schemeUri", "lang"}
    ),  # fmt: skip
    "descriptions": frozenset({"description", "descriptionType", "lang"}),
    "geoLocations": frozenset(
        {
            "geoLocationPlace",
            "geoLocationPoint",
            "geoLocationBox",
            "geoLocationPolygon",
            "geoLocationPolygons",
        }
    ),  # fmt: skip
    "fundingReferences": frozenset(
        {
            "funderName",
            "funderIdentifier",
            "funderIdentifierType",
            "schemeUri",
            "awardNumber",
            "awardUri",
            "awardTitle",
        }
    ),  # fmt: skip
    "types": frozenset({"resourceTypeGeneral", "resourceType"}),
    "publisher": frozenset({"name"}),
}
DROP: dict[str, frozenset[str]] = {
    "person": frozenset(),
    "nameIdentifiers": frozenset(),
    "affiliation": frozenset({"lang"}),
    "relatedIdentifiers": frozenset({"relationTypeInformation"}),
    "types": frozenset({"schemaOrg", "citeproc", "bibtex", "ris"}),
    "publisher": frozenset(
        {"publisherIdentifier", "publisherIdentifierScheme", "schemeUri", "lang"}
    ),
}
TOP_KEEP = frozenset({
    "identifiers", "creators", "titles", "publisher", "publicationYear", "subjects",
    "contributors", "dates", "language", "types", "relatedIdentifiers", "sizes", "formats",
    "version", "rightsList", "descriptions", "geoLocations", "fundingReferences",
    "extra",  # the catalogue's own member, not DataCite's
})  # fmt: skip
# Converted into identifiers.
TOP_CONVERT = frozenset({"doi", "id", "url", "alternateIdentifiers", "prefix", "suffix"})
TOP_DROP = frozenset({
    "agency", "state", "schemaVersion", "container", "relatedItems", "xml", "contentUrl",
    "metadataVersion", "source", "isActive", "reason", "landingPage", "event", "mode",
    "created", "registered", "published", "updated", "viewCount", "viewsOverTime",
    "downloadCount", "downloadsOverTime", "referenceCount", "citationCount",
    "citationsOverTime", "partCount", "partOfCount", "versionCount", "versionOfCount",
})  # fmt: skip
# The REST API envelope around the attributes.
ENVELOPE_DROP = frozenset({"included", "meta", "links", "jsonapi"})
DATA_DROP = frozenset({"relationships", "links", "meta"})
_LIST_KIND = {
    "creators": "person",
    "contributors": "person",
    "titles": "titles",
    "subjects": "subjects",
    "dates": "dates",
    "identifiers": "identifiers",
    "relatedIdentifiers": "relatedIdentifiers",
    "rightsList": "rightsList",
    "descriptions": "descriptions",
    "geoLocations": "geoLocations",
    "fundingReferences": "fundingReferences",
}


@dataclass
class DataciteJson:
    """The outcome: canonical-shaped metadata, warnings, and pointers of unknown members
    (relative to the document given, e.g. ``/creators/0/nmae``)."""

    metadata: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def is_envelope(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` is the REST API's ``{"data": {"type": "dois", ...}}``."""
    data = doc.get("data")
    return isinstance(data, dict) and "attributes" in data


def from_datacite_json(doc: dict[str, Any]) -> DataciteJson:
    """Normalise any DataCite JSON form (see the module doc) into the canonical shape."""
    base = ""
    envelope_id = None
    out = DataciteJson({})
    if is_envelope(doc):
        data = doc["data"]
        out.dropped += [f"/{k}" for k in doc if k in ENVELOPE_DROP]
        out.unknown += [f"/{k}" for k in doc if k != "data" and k not in ENVELOPE_DROP]
        out.dropped += [f"/data/{k}" for k in data if k in DATA_DROP]
        out.unknown += [
            f"/data/{k}" for k in data if k not in DATA_DROP | {"id", "type", "attributes"}
        ]
        if data.get("type", "dois") != "dois":
            out.unknown.append("/data/type")
        envelope_id = data.get("id") if isinstance(data.get("id"), str) else None
        base = "/data/attributes"
        doc = data["attributes"]
        if not isinstance(doc, dict):
            out.metadata = doc  # the schema reports it
            return out
    md: dict[str, Any] = {}
    for key, value in doc.items():
        if key in TOP_KEEP:
            md[key] = value
        elif key in TOP_DROP:
            out.dropped.append(f"{base}/{key}")
        elif key not in TOP_CONVERT:
            out.unknown.append(f"{base}/{_escape(key)}")
    for key, kind in _LIST_KIND.items():
        if key in md and isinstance(md[key], list):
            md[key] = [_item(v, kind, f"{base}/{key}/{n}", out) for n, v in enumerate(md[key])]
    alternates = doc.get("alternateIdentifiers")
    for n, alt in enumerate(alternates if isinstance(alternates, list) else []):
        if isinstance(alt, dict):  # only checked: _identifiers converts them
            _members(alt, "alternateIdentifiers", f"{base}/alternateIdentifiers/{n}", out)
    if isinstance(md.get("types"), dict):
        md["types"] = _members(md["types"], "types", f"{base}/types", out)
        general = md["types"].get("resourceTypeGeneral")
        if isinstance(general, str) and general not in ("", None):
            md["types"]["resourceTypeGeneral"] = resource_type_general(general) or general
    _publisher(md, doc, base, out)
    _year(md)
    for key in ("version",):
        if isinstance(md.get(key), int | float) and not isinstance(md.get(key), bool):
            md[key] = str(md[key])
    for key in ("sizes", "formats"):
        if isinstance(md.get(key), list):
            md[key] = [str(v) if isinstance(v, int | float) else v for v in md[key]]
    if isinstance(md.get("geoLocations"), list):
        md["geoLocations"] = [g for loc in md["geoLocations"] for g in _geo_location(loc)]
    md["identifiers"] = _identifiers(doc, md.get("identifiers"), envelope_id)
    out.metadata = _without_nulls(md)
    if out.dropped:
        out.warnings.append(
            "DataCite members not kept in the catalogue record: " + ", ".join(out.dropped)
        )
    return out


def _without_nulls(value: Any) -> Any:
    """The REST API writes absent values as null (and sometimes ""); empty lists and
    objects are kept, for the schema to judge (``titles: []`` is an error to report)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _members(obj: dict[str, Any], kind: str, at: str, out: DataciteJson) -> dict[str, Any]:
    kept = {}
    for key, value in obj.items():
        if key in KEEP[kind]:
            kept[key] = value
        elif key in DROP.get(kind, ()):
            out.dropped.append(f"{at}/{key}")
        else:
            out.unknown.append(f"{at}/{_escape(key)}")
    return kept


def _item(value: Any, kind: str, at: str, out: DataciteJson) -> Any:
    if not isinstance(value, dict):
        return value
    item = _members(value, kind, at, out)
    if kind == "person":
        for key, sub in (("nameIdentifiers", "nameIdentifiers"), ("affiliation", "affiliation")):
            given = item.get(key)
            if isinstance(given, str | dict):  # one value where DataCite has a list
                given = [given]
            if isinstance(given, list):
                item[key] = [
                    _person_part(v, sub, f"{at}/{key}/{n}", out) for n, v in enumerate(given)
                ]
    return item


def _person_part(value: Any, kind: str, at: str, out: DataciteJson) -> Any:
    if isinstance(value, str) and kind == "affiliation":
        return {"name": value}  # the REST API before 4.3 gave affiliations as strings
    if not isinstance(value, dict):
        return value
    return _members(value, kind, at, out)


def _publisher(md: dict[str, Any], doc: dict[str, Any], base: str, out: DataciteJson) -> None:
    """Kernel 4.5 made publisher an object; the record keeps its name."""
    publisher = doc.get("publisher")
    if isinstance(publisher, dict):
        kept = _members(publisher, "publisher", f"{base}/publisher", out)
        md["publisher"] = kept.get("name", publisher)


def _year(md: dict[str, Any]) -> None:
    year = md.get("publicationYear")
    if isinstance(year, str) and ascii_digits(year.strip().removeprefix("-")):
        md["publicationYear"] = int(year.strip())


def _identifiers(doc: dict[str, Any], given: Any, envelope_id: str | None) -> Any:
    """``doi`` (or a DOI ``id``) first, then identifiers and alternateIdentifiers, deduplicated."""
    if given is not None and not isinstance(given, list):
        return given  # the schema reports it
    found: list[Any] = []
    for candidate in (doc.get("doi"), doc.get("id"), envelope_id):
        doi = normalize_doi(candidate) if isinstance(candidate, str) else None
        if doi:
            found.append({"identifier": doi, "identifierType": "DOI"})
            break
    for item in given or []:
        if (
            isinstance(item, dict)
            and item.get("identifierType") == "DOI"
            and isinstance(item.get("identifier"), str)
        ):
            item = {**item, "identifier": normalize_doi(item["identifier"]) or item["identifier"]}
        found.append(item)
    alternates = doc.get("alternateIdentifiers")
    if isinstance(alternates, list):
        for alt in alternates:
            if isinstance(alt, dict) and alt.get("alternateIdentifier"):
                value = alt["alternateIdentifier"]
                kind = alt.get("alternateIdentifierType") or "Other"
                if isinstance(value, str) and kind == "DOI":
                    value = normalize_doi(value) or value  # often a resolver URL
                found.append({"identifier": value, "identifierType": kind})
    url = doc.get("url")
    if isinstance(url, str) and url.strip():
        found.append({"identifier": url.strip(), "identifierType": "URL"})
    return dedupe(found)


def bare_dois(identifiers: list[Any]) -> list[Any]:
    """Identifiers with each DOI written as a URL or with a "doi:" prefix made bare
    ('10.1/x'): links would read https://doi.org/https://doi.org/... Bare ones stay as given."""
    return [
        {**item, "identifier": normalize_doi(value) or value}
        if isinstance(item, dict)
        and item.get("identifierType") == "DOI"
        and isinstance(value := item.get("identifier"), str)
        and not value.startswith("10.")
        else item
        for item in identifiers
    ]


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _point(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: _number(v) for k, v in value.items()}


def _geo_location(loc: Any) -> list[Any]:
    """Points and boxes with numbers (the REST API has strings); one polygon per location
    (kernel-4.3 JSON's ``geoLocationPolygons[{polygonPoints}]`` too)."""
    if not isinstance(loc, dict):
        return [loc]
    loc = dict(loc)
    if "geoLocationPoint" in loc:
        loc["geoLocationPoint"] = _point(loc["geoLocationPoint"])
    if "geoLocationBox" in loc:
        loc["geoLocationBox"] = _point(loc["geoLocationBox"])
    polygons: list[Any] = []
    given = loc.pop("geoLocationPolygon", None)
    if isinstance(given, list) and given and all(isinstance(p, list) for p in given):
        polygons.extend(given)  # several polygons, each a list of points
    elif given is not None:
        polygons.append(given)
    kernel_43 = loc.get("geoLocationPolygons")
    if isinstance(kernel_43, list):  # anything else stays, for the schema to report
        del loc["geoLocationPolygons"]
    for old in kernel_43 if isinstance(kernel_43, list) else []:
        if isinstance(old, dict):
            given_points = old.get("polygonPoints") or []
            if not isinstance(given_points, list):
                polygons.append(given_points)  # not a list of points: the schema says so
                continue
            points = [{"polygonPoint": p} for p in given_points]
            if old.get("inPolygonPoint"):
                points.append({"inPolygonPoint": old["inPolygonPoint"]})
            polygons.append(points)
    if not polygons:
        return [loc]
    result = []
    for n, polygon in enumerate(polygons):
        part = loc if n == 0 else {}
        if isinstance(polygon, list):
            polygon = [
                {k: _point(v) for k, v in p.items()} if isinstance(p, dict) else p for p in polygon
            ]
        result.append({**part, "geoLocationPolygon": polygon})
    return result
