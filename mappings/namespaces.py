"""XML namespaces and schema locations of the formats the catalogue reads and writes, and
the two OAI-PMH datestamp granularities.

The one place each is spelled: the crosswalks, the harvester (the OAI-PMH client), the
provider (catalogue.web.oai) and the demo's replay server all import them from here.
"""

from __future__ import annotations

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_TAG = "{" + OAI_NS + "}"  # Clark-notation prefix of OAI-PMH element names
OAI_ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_ID_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
PROVENANCE_NS = "http://www.openarchives.org/OAI/2.0/provenance"
PROVENANCE_SCHEMA = "http://www.openarchives.org/OAI/2.0/provenance.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DAY_GRANULARITY = "YYYY-MM-DD"
SECONDS_GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"

DATACITE_KERNEL_PREFIX = "http://datacite.org/schema/kernel-"
KERNEL4_NS = DATACITE_KERNEL_PREFIX + "4"
KERNEL4_SCHEMA = "http://schema.datacite.org/meta/kernel-4/metadata.xsd"
OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"
OAI_DATACITE_SCHEMA = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
OAI_DATACITE_NAMESPACES = ("http://schema.datacite.org/oai/oai-1.0/", OAI_DATACITE_NS)
