"""The one registry of metadata formats, shared by the harvester and the OAI-PMH provider.

The harvester asks a source for the first format of HARVEST_PREFERENCE it offers and maps
payloads with ``map_payload``; the provider lists FORMATS in ListMetadataFormats and
disseminates with each format's writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from mappings import Mapped, MappingError
from mappings.datacite import OAI_DATACITE_NAMESPACES, from_datacite, is_datacite_namespace
from mappings.export.datacite import to_datacite, to_oai_datacite
from mappings.export.oai_dc import to_oai_dc
from mappings.oai_dc import OAI_DC_NS, from_oai_dc

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
        namespace="http://schema.datacite.org/oai/oai-1.1/",
        schema="http://schema.datacite.org/oai/oai-1.1/oai.xsd",
        reader=from_datacite,
        writer=to_oai_datacite,
    ),
    "datacite": Format(
        prefix="datacite",
        namespace="http://datacite.org/schema/kernel-4",
        schema="http://schema.datacite.org/meta/kernel-4/metadata.xsd",
        reader=from_datacite,
        writer=to_datacite,
    ),
    "oai_dc": Format(
        prefix="oai_dc",
        namespace=OAI_DC_NS,
        schema="http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
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
    """Map an OAI-PMH <metadata> payload (its root element) by its namespace."""
    if not isinstance(element.tag, str):
        raise MappingError("payload is not an element")
    namespace = etree.QName(element).namespace
    reader = reader_for_namespace(namespace)
    if reader is None:
        raise MappingError(f"no crosswalk for payload namespace {namespace!r}")
    return reader(element)
