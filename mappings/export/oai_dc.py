"""Canonical metadata -> unqualified Dublin Core (<oai_dc:dc>), valid against oai_dc.xsd.

Follows the DataCite-to-DC crosswalk: roles, identifier types and date types cannot be
expressed in simple DC and are flattened; the DOI is written as its https://doi.org/ URL.
"""

from __future__ import annotations

from lxml import etree

from mappings._shared import LANG_TAG, XML_LANG
from mappings.namespaces import DC_NS, OAI_DC_NS, OAI_DC_SCHEMA, XSI_NS
from mappings.xml import xml_safe


def to_oai_dc(metadata: dict, *, fallback_year: int | None = None) -> etree._Element:
    """Build an <oai_dc:dc> element from canonical metadata.

    ``fallback_year`` is taken (like every writer of mappings.formats) and not used: Dublin
    Core has no mandatory date.
    """
    root = etree.Element(
        f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
    for title in metadata.get("titles") or []:
        _dc(root, "title", title["title"], title.get("lang"))
    for creator in metadata.get("creators") or []:
        _dc(root, "creator", creator["name"], creator.get("lang"))
    for subject in metadata.get("subjects") or []:
        _dc(root, "subject", subject["subject"], subject.get("lang"))
    for description in metadata.get("descriptions") or []:
        _dc(root, "description", description["description"], description.get("lang"))
    _dc(root, "publisher", metadata.get("publisher"))
    for contributor in metadata.get("contributors") or []:
        _dc(root, "contributor", contributor["name"], contributor.get("lang"))
    for value in _dates(metadata):
        _dc(root, "date", value)
    types = metadata.get("types") or {}
    _dc(root, "type", types.get("resourceTypeGeneral"))
    if types.get("resourceType") != types.get("resourceTypeGeneral"):
        _dc(root, "type", types.get("resourceType"))
    for value in (metadata.get("formats") or []) + (metadata.get("sizes") or []):
        _dc(root, "format", value)
    for ident in metadata.get("identifiers") or []:
        _dc(root, "identifier", _identifier(ident["identifier"], ident["identifierType"]))
    for related in metadata.get("relatedIdentifiers") or []:
        tag = "source" if related["relationType"] == "IsDerivedFrom" else "relation"
        value = _identifier(related["relatedIdentifier"], related.get("relatedIdentifierType"))
        _dc(root, tag, value)
    _dc(root, "language", metadata.get("language"))
    for value in _coverage(metadata):
        _dc(root, "coverage", value)
    for rights in metadata.get("rightsList") or []:
        _dc(root, "rights", rights.get("rights"), rights.get("lang"))
        _dc(root, "rights", rights.get("rightsUri"))
    return root


def _dc(root: etree._Element, name: str, value: str | None, lang: str | None = None) -> None:
    if value is None or not str(value).strip():
        return
    el = etree.SubElement(root, f"{{{DC_NS}}}{name}")
    el.text = xml_safe(str(value))
    if lang and LANG_TAG.match(lang):
        el.set(XML_LANG, lang)


def _identifier(value: str, kind: str | None) -> str:
    # Resolvable forms, so that a harvester of our DC can tell what each identifier is.
    if kind == "DOI":
        return f"https://doi.org/{value}"
    if kind == "Handle" and not value.startswith(("http://", "https://")):
        return f"http://hdl.handle.net/{value}"
    return value


def _dates(metadata: dict) -> list[str]:
    """Issued date (or publication year) first: readers of DC take the first date as issued."""
    dates = [d for d in metadata.get("dates") or [] if d.get("dateType") != "Coverage"]
    issued = [d["date"] for d in dates if d.get("dateType") == "Issued"]
    others = [d["date"] for d in dates if d.get("dateType") != "Issued"]
    year = metadata.get("publicationYear")
    if not issued and year is not None:
        issued = [f"{year:04d}" if year >= 0 else str(year)]
    ordered: list[str] = []
    for value in issued + others:
        if value not in ordered:
            ordered.append(value)
    return ordered


def _coverage(metadata: dict) -> list[str]:
    dates = [d["date"] for d in metadata.get("dates") or [] if d.get("dateType") == "Coverage"]
    locations = metadata.get("geoLocations") or []
    places = [g["geoLocationPlace"] for g in locations if g.get("geoLocationPlace")]
    return dates + places
