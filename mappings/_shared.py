"""Helpers shared by the inbound crosswalks: element access, text cleaning, pruning, checks."""

from __future__ import annotations

import html
import re
from typing import Any

from lxml import etree

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
UNAVAILABLE = "(:unav)"

# xs:language, which the XML exports require for language and xml:lang values.
_LANG_TAG = re.compile(r"^[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*$")
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_LOOKS_LIKE_HTML = re.compile(
    r"</?(?:p|br|div|span|em|strong|b|i|u|ul|ol|li|a|sub|sup|h\d)\b[^<>]*>"
)


def local(element: etree._Element) -> str:
    """Local name of an element (namespace dropped); '' for comments and processing instructions."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def elements(element: etree._Element) -> list[etree._Element]:
    """Element children only (comments, PIs skipped)."""
    return [child for child in element if isinstance(child.tag, str)]


def named(element: etree._Element, name: str) -> list[etree._Element]:
    """Children with the given local name, whatever their namespace."""
    return [child for child in elements(element) if local(child) == name]


def first(element: etree._Element, name: str) -> etree._Element | None:
    found = named(element, name)
    return found[0] if found else None


def text(element: etree._Element | None) -> str | None:
    """Whitespace-collapsed text content, None when empty."""
    if element is None:
        return None
    value = _WHITESPACE.sub(" ", "".join(element.itertext())).strip()
    return value or None


def block_text(element: etree._Element | None) -> str | None:
    """Text keeping line breaks (<br/> children become newlines), outer whitespace trimmed."""
    if element is None:
        return None
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and local(child) == "br":
            parts.append("\n")
        elif isinstance(child.tag, str):
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    value = "".join(parts).strip()
    return value or None


def attr(element: etree._Element | None, name: str) -> str | None:
    """An unqualified attribute, stripped; None when absent or blank."""
    if element is None:
        return None
    value = (element.get(name) or "").strip()
    return value or None


def lang_of(element: etree._Element) -> str | None:
    return clean_lang(element.get(XML_LANG))


def clean_lang(value: str | None) -> str | None:
    """Keep a language tag only when it is a well-formed xs:language value."""
    if not value:
        return None
    value = value.strip().replace("_", "-")
    return value if _LANG_TAG.match(value) and len(value) >= 2 else None


def strip_html(value: str | None) -> str | None:
    """Plain text from descriptions that arrive as (possibly entity-escaped) HTML."""
    if not value:
        return None
    unescaped = html.unescape(value) if "&lt;" in value or "&amp;" in value else value
    if not _LOOKS_LIKE_HTML.search(unescaped):
        return value
    plain = _HTML_TAG.sub(" ", unescaped)
    plain = html.unescape(plain)
    plain = re.sub(r"[ \t]+", " ", plain)
    plain = re.sub(r"\s*\n\s*", "\n", plain).strip()
    return plain or None


def prune(value: Any) -> Any:
    """Drop None, empty strings, empty lists and empty dicts, recursively."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        pruned = [prune(v) for v in value]
        return [v for v in pruned if v not in (None, "", [], {})]
    if isinstance(value, str):
        return value.strip()
    return value


def dedupe(items: list[dict]) -> list[dict]:
    """Remove exact duplicates, keeping the first occurrence and the order."""
    seen: list[dict] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def finish(metadata: dict, warnings: list[str]) -> dict:
    """Prune empties, then add the placeholders and warnings for missing mandatory properties."""
    metadata = prune(metadata)
    if not metadata.get("titles"):
        metadata["titles"] = [{"title": UNAVAILABLE}]
        warnings.append("missing mandatory property title; using '(:unav)'")
    types = metadata.setdefault("types", {})
    if not types.get("resourceTypeGeneral"):
        types["resourceTypeGeneral"] = "Other"
        warnings.append("missing mandatory property resourceTypeGeneral; using 'Other'")
    for prop, label in (
        ("identifiers", "identifier"),
        ("creators", "creator"),
        ("publisher", "publisher"),
        ("publicationYear", "publicationYear"),
    ):
        if not metadata.get(prop):
            warnings.append(f"missing mandatory property {label}")
    # Canonical order: the schema does not care, people reading stored JSON do.
    order = ["identifiers", "creators", "titles", "publisher", "publicationYear", "types"]
    return {k: metadata[k] for k in order if k in metadata} | {
        k: v for k, v in metadata.items() if k not in order
    }
