"""Helpers shared by the inbound crosswalks: element access, text cleaning, pruning, checks."""

from __future__ import annotations

import html
import re
from typing import Any

from lxml import etree

from mappings.licences import with_spdx

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
UNAVAILABLE = "(:unav)"

# xs:language, which the XML exports require for language and xml:lang values.
LANG_TAG = re.compile(r"^[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*$")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_LOOKS_LIKE_HTML = re.compile(
    r"</?(?:p|br|div|span|em|strong|b|i|u|ul|ol|li|a|sub|sup|h\d)\b[^<>]*>"
)


def local(element: etree._Element) -> str:
    """Local name of an element (namespace dropped); '' for comments and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    # Slicing the Clark notation "{ns}name" is several times cheaper than etree.QName.
    return tag[tag.find("}") + 1 :]


def elements(element: etree._Element) -> list[etree._Element]:
    """Element children only (comments, PIs skipped)."""
    return list(element.iterchildren(tag=etree.Element))


def named(element: etree._Element, name: str) -> list[etree._Element]:
    """Children with the given local name, whatever their namespace."""
    # "{*}name" is lxml's wildcard for any namespace or none; the matching runs in C.
    return list(element.iterchildren(f"{{*}}{name}"))


def first(element: etree._Element, name: str) -> etree._Element | None:
    return next(element.iterchildren(f"{{*}}{name}"), None)


def text(element: etree._Element | None) -> str | None:
    """Whitespace-collapsed text content, None when empty."""
    if element is None:
        return None
    # Most values are a single text node: reading it directly avoids the itertext machinery.
    value = "".join(element.itertext()) if len(element) else element.text
    if not value:
        return None
    # Nothing to collapse in the usual single-line, single-spaced value.
    if "\n" in value or "  " in value or "\t" in value or "\r" in value:
        value = collapse(value)
    return value.strip() or None


def collapse(value: str) -> str:
    """Runs of XML whitespace (space, tab, CR, LF) made one space."""
    # Splitting on spaces and dropping the empty parts equals substituting [ \t\r\n]+ by one
    # space (but for a leading or trailing space), and stays in C, where a substitution matches
    # at every line break and indent.
    for blank in "\t\r\n":
        value = value.replace(blank, " ")
    return " ".join(filter(None, value.split(" ")))


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
    return value if LANG_TAG.match(value) and len(value) >= 2 else None


def strip_html(value: str | None) -> str | None:
    """Plain text from descriptions that arrive as (possibly entity-escaped) HTML."""
    if not value:
        return None
    unescaped = unescape(value) if "&lt;" in value or "&amp;" in value else value
    if not _LOOKS_LIKE_HTML.search(unescaped):
        return value
    plain = _HTML_TAG.sub(" ", unescaped)
    plain = unescape(plain)
    plain = _BLANKS.sub(" ", plain)
    return _join_lines(plain) or None


# The references escaped HTML mostly consists of, each with the character it stands for.
# "&amp;" comes last so that "&amp;lt;" decodes to "&lt;", as html.unescape does.
_COMMON_REFERENCES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&"))


def unescape(value: str) -> str:
    """``html.unescape``, with a fast path for text whose only references are the common five."""
    if "&" not in value:
        return value
    # html.unescape calls back into Python for every reference; str.replace stays in C. The
    # result is the same when every "&" starts one of the five (they cannot overlap).
    if value.count("&") != sum(value.count(ref) for ref, _ in _COMMON_REFERENCES):
        return html.unescape(value)
    for ref, char in _COMMON_REFERENCES:
        value = value.replace(ref, char)
    return value


# Runs of spaces and tabs other than a lone space: the same result as substituting every run
# of [ \t]+, but a single space (by far the most common run) is not a match, so it is faster.
_BLANKS = re.compile(r" [ \t]+|\t[ \t]*")


def _join_lines(value: str) -> str:
    r"""Lines stripped and blank ones dropped: re.sub(r"\s*\n\s*", "\n", value).strip().

    That pattern can start matching at every character; splitting on newlines cannot.
    """
    lines = (line.strip() for line in value.split("\n"))
    return "\n".join(line for line in lines if line)


def prune(value: Any) -> Any:
    """Drop None, empty strings, empty lists and empty dicts, recursively; strip strings."""
    if isinstance(value, dict):
        return _prune_dict(value)
    if isinstance(value, list):
        return _prune_list(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _prune_dict(value: dict) -> dict:
    pruned = {}
    for key, item in value.items():
        item = prune(item)
        if item is not None and item != "" and item != [] and item != {}:
            pruned[key] = item
    return pruned


def _prune_list(value: list) -> list:
    pruned = []
    for item in value:
        item = prune(item)
        if item is not None and item != "" and item != [] and item != {}:
            pruned.append(item)
    return pruned


def compact(item: dict) -> dict:
    """``item`` without its None values: the cheap prune for flat items of clean strings.

    Values from ``text``, ``attr``, ``lang_of`` and the normalisers are already stripped and
    never empty, so dropping the Nones is all ``prune`` would do to such an item.
    """
    return {key: value for key, value in item.items() if value is not None}


def dedupe(items: list[dict]) -> list[dict]:
    """Remove exact duplicates, keeping the first occurrence and the order."""
    if len(items) <= _SHORT_LIST:  # comparing dicts is cheaper than freezing them
        kept: list[dict] = []
        for item in items:
            if item not in kept:
                kept.append(item)
        return kept
    # a record may list tens of thousands of subjects or related identifiers: linear time
    seen: set[Any] = set()
    out = []
    for item in items:
        key = _frozen(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


_SHORT_LIST = 16


def _frozen(value: Any) -> Any:
    """A hashable value equal to another's exactly when ``value`` equals the other's."""
    if isinstance(value, dict):
        return frozenset((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def finish(metadata: dict, warnings: list[str]) -> dict:
    """Prune empties, then add the placeholders and warnings for missing mandatory properties."""
    return complete(prune(metadata), warnings)


# Canonical order: the schema does not care, people reading stored JSON do.
_ORDER = ("identifiers", "creators", "titles", "publisher", "publicationYear", "types")
_MANDATORY = (
    ("identifiers", "identifier"),
    ("creators", "creator"),
    ("publisher", "publisher"),
    ("publicationYear", "publicationYear"),
)


def complete(metadata: dict, warnings: list[str]) -> dict:
    """Add placeholders and warnings for missing mandatory properties; order the keys.

    ``metadata`` must already be free of empty values (as ``prune`` leaves it). Licences
    get their SPDX identifier (``licences.with_spdx``) beside the text the source gave.
    """
    if rights := metadata.get("rightsList"):
        metadata["rightsList"] = dedupe([with_spdx(r) for r in rights])
    if not metadata.get("titles"):
        metadata["titles"] = [{"title": UNAVAILABLE}]
        warnings.append("missing mandatory property title; using '(:unav)'")
    types = metadata.setdefault("types", {})
    if not types.get("resourceTypeGeneral"):
        types["resourceTypeGeneral"] = "Other"
        warnings.append("missing mandatory property resourceTypeGeneral; using 'Other'")
    for prop, label in _MANDATORY:
        if not metadata.get(prop):
            warnings.append(f"missing mandatory property {label}")
    ordered = {key: metadata[key] for key in _ORDER if key in metadata}
    for key, value in metadata.items():
        if key not in ordered:
            ordered[key] = value
    return ordered
