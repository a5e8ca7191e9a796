"""Crosswalks between harvested metadata formats and the canonical (DataCite 4.x JSON) record.

Pure functions, no I/O. Every inbound crosswalk returns ``(metadata, warnings)`` so that
losses (unmapped elements, unparseable values, missing mandatory properties) are reported
per record instead of silently dropped.
"""

from __future__ import annotations


class MappingError(ValueError):
    """A document that cannot be mapped at all (not XML, wrong root element, ...)."""


Mapped = tuple[dict, list[str]]
"""Result of an inbound crosswalk: (canonical metadata, human-readable warnings)."""

__all__ = ["Mapped", "MappingError"]
