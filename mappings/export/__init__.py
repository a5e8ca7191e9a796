"""Canonical metadata -> dissemination formats (oai_dc, DataCite kernel-4, schema.org)."""

from mappings.export.datacite import to_datacite, to_oai_datacite
from mappings.export.oai_dc import to_oai_dc
from mappings.export.schemaorg import to_schema_org

__all__ = ["to_datacite", "to_oai_datacite", "to_oai_dc", "to_schema_org"]
