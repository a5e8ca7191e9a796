"""The one registry of metadata formats, shared by the harvester and the OAI-PMH provider.

The harvester asks a source for the first format of HARVEST_PREFERENCE it offers and maps
payloads with ``map_payload``; the provider lists FORMATS in ListMetadataFormats and
disseminates with each format's writer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from mappings import Mapped, MappingError
from mappings.datacite import OAI_DATACITE_NAMESPACES, from_datacite, is_datacite_namespace
from mappings.export.datacite import to_datacite, to_oai_datacite
from mappings.export.oai_dc import to_oai_dc
from mappings.namespaces import (
    DC_NS,
    KERNEL4_NS,
    KERNEL4_SCHEMA,
    OAI_DATACITE_NS,
    OAI_DATACITE_SCHEMA,
    OAI_DC_NS,
    OAI_DC_SCHEMA,
    OAI_NS,
)
from mappings.oai_dc import from_oai_dc

Reader = Callable[[etree._Element], Mapped]
# (metadata, *, fallback_year): the year to write when a format needs one the record lacks
Writer = Callable[..., etree._Element]


@dataclass(frozen=True)
class Format:
    """An OAI-PMH metadata format: prefix, namespace, schema, and its crosswalks."""

    prefix: str
    namespace: str
    schema: str
    reader: Reader | None
    writer: Writer | None


FORMATS: dict[str, Format] = {
    "oai_datacite": Format(
        prefix="oai_datacite",
        namespace=OAI_DATACITE_NS,
        schema=OAI_DATACITE_SCHEMA,
        reader=from_datacite,
        writer=to_oai_datacite,
    ),
    "datacite": Format(
        prefix="datacite",
        namespace=KERNEL4_NS,
        schema=KERNEL4_SCHEMA,
        reader=from_datacite,
        writer=to_datacite,
    ),
    "oai_dc": Format(
        prefix="oai_dc",
        namespace=OAI_DC_NS,
        schema=OAI_DC_SCHEMA,
        reader=from_oai_dc,
        writer=to_oai_dc,
    ),
}

# Richest first: oai_datacite and datacite carry the full DataCite record, oai_dc much less.
HARVEST_PREFERENCE = ("oai_datacite", "datacite", "oai_dc")


def reader_for_namespace(ns: str | None) -> Reader | None:
    """The inbound crosswalk for a payload whose root element is in namespace ``ns``."""
    if ns == OAI_DC_NS:
        return from_oai_dc
    if ns in OAI_DATACITE_NAMESPACES or (ns and is_datacite_namespace(ns)):
        return from_datacite
    return None


def map_payload(element: etree._Element) -> Mapped:
    """Map an OAI-PMH <metadata> payload (its root element) by its namespace.

    Two namespace slips of real providers are repaired (and reported): dc:* elements straight
    inside <metadata> without their oai_dc:dc wrapper (the harvester then hands over
    <metadata> itself), and a DataCite <resource> without its xmlns, which thereby sits in
    the OAI-PMH namespace of the response around it.
    """
    if not isinstance(element.tag, str):
        raise MappingError("payload is not an element")
    qname = etree.QName(element)
    reader = reader_for_namespace(qname.namespace)
    if reader is not None:
        return reader(element)
    if qname.namespace == OAI_NS and qname.localname == "metadata":
        dc = [c for c in element if isinstance(c.tag, str) and c.tag.startswith(f"{{{DC_NS}}}")]
        if dc:
            wrapper = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS})
            wrapper.extend(copy.deepcopy(c) for c in dc)
            metadata, warnings = from_oai_dc(wrapper)
            return metadata, ["dc elements without an oai_dc:dc wrapper", *warnings]
        raise MappingError(
            "the payload <metadata> has no namespace of its own (it inherits the OAI-PMH one):"
            " no metadata format this catalogue reads"
        )
    if qname.namespace == OAI_NS and qname.localname == "resource":
        metadata, warnings = from_datacite(_without_namespace(element, OAI_NS))
        return metadata, ["DataCite <resource> without its namespace declaration", *warnings]
    if qname.namespace == OAI_NS:
        raise MappingError(
            f"the payload <{qname.localname}> has no namespace of its own (it inherits the "
            "OAI-PMH one): no metadata format this catalogue reads"
        )
    raise MappingError(
        f"no crosswalk for payload namespace {qname.namespace!r} (root element "
        f"<{qname.localname}>): the record has no oai_datacite, datacite or oai_dc metadata"
    )


def _without_namespace(element: etree._Element, namespace: str) -> etree._Element:
    """A copy of ``element`` with the elements of ``namespace`` moved to no namespace."""
    clone = copy.deepcopy(element)
    prefix = f"{{{namespace}}}"
    for el in clone.iter(tag=etree.Element):
        if el.tag.startswith(prefix):
            el.tag = el.tag[len(prefix) :]
    etree.cleanup_namespaces(clone)
    return clone
