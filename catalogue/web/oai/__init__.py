"""The OAI-PMH 2.0 provider blueprint (``/oai``): reads the store, never the search index."""

from catalogue.web.oai.provider import bp

__all__ = ["bp"]
