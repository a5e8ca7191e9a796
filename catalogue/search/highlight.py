"""Highlights for a backend without a highlighter of its own (the embedded index).

The query's positive words, analysed as the index analyses text (alphanumeric runs,
lowercased, Snowball English stems), are marked with ``<mark>`` in a hit's titles (whole)
and in one fragment of its description, HTML-escaped otherwise: the same shape as the
cluster backend's highlights (``cluster_query.HIGHLIGHT``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

import tantivy

from catalogue.search.query import parse_query

FRAGMENT_CHARS = 200
_WORD = re.compile(r"[^\W_]+")
_MAX_TOKEN_BYTES = 40  # as tantivy's RemoveLongFilter in the index


@cache
def _analyzer() -> Any:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    tokens = _analyzer().analyze(word)
    return tokens[0] if tokens else ""


def query_stems(q: str) -> frozenset[str]:
    """The stems a query searches for (none for match-all or only excluded words)."""
    words = parse_query(q).words
    return frozenset(
        stem(token)
        for word in words
        for token in _WORD.findall(word.lower())
        if len(token.encode()) < _MAX_TOKEN_BYTES
    )


def mark(text: str, stems: frozenset[str], start: int = 0, end: int | None = None) -> str | None:
    """``text[start:end]`` escaped, matched words in <mark>; None when nothing matches."""
    end = len(text) if end is None else end
    out: list[str] = []
    last = start
    found = False
    for match in _WORD.finditer(text, start, end):
        if stem(match.group().lower()) in stems:
            out.append(html.escape(text[last : match.start()]))
            out.append(f"<mark>{html.escape(match.group())}</mark>")
            last = match.end()
            found = True
    if not found:
        return None
    out.append(html.escape(text[last:end]))
    return "".join(out)


def fragment(text: str, stems: frozenset[str], size: int = FRAGMENT_CHARS) -> str | None:
    """About ``size`` characters of ``text`` around its first matched word, marked."""
    for match in _WORD.finditer(text):
        if stem(match.group().lower()) in stems:
            start = max(0, match.start() - size // 4)
            if start:
                space = text.find(" ", start, match.start())
                start = space + 1 if space >= 0 else start
            end = min(len(text), start + size)
            if end < len(text):
                space = text.rfind(" ", match.end(), end)
                end = space if space > 0 else end
            return mark(text, stems, start, end)
    return None


def highlights(hits: Iterable[dict[str, Any]], q: str) -> dict[str, dict[str, list[str]]]:
    """``{record id: {"title": [...], "description": [...]}}`` of the hits that match."""
    stems = query_stems(q) if q.strip(" *") else frozenset()
    if not stems:
        return {}
    out: dict[str, dict[str, list[str]]] = {}
    for hit in hits:
        metadata = hit.get("metadata") or {}
        fields: dict[str, list[str]] = {}
        titles = [t.get("title") for t in metadata.get("titles") or [] if isinstance(t, dict)]
        marked = [m for t in titles if isinstance(t, str) and (m := mark(t, stems))]
        if marked:
            fields["title"] = marked
        for item in metadata.get("descriptions") or []:
            text = item.get("description") if isinstance(item, dict) else None
            if isinstance(text, str) and (frag := fragment(text, stems)):
                fields["description"] = [frag]
                break
        if fields:
            out[hit["id"]] = fields
    return out
