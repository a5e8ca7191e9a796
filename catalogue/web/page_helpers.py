"""What the page templates show of a record: hits with highlighted snippets, identifier
links, licence names. Pure functions of the stored record's JSON."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from flask import url_for
from markupsafe import Markup, escape
from werkzeug.routing import Map, UnicodeConverter

from mappings.export.citation import doi_of, title_of
from mappings.licences import licence_name, spdx_id

FACET_LABELS = {
    "source": "Source",
    "type": "Resource type",
    "year": "Year",
    "subject": "Subject",
    "language": "Language",
    "publisher": "Publisher",
    "rights": "Licence",
    "access": "Access",
}
SNIPPET_CHARS = 240
CREATORS_SHOWN = 3


def hit_view(
    hit: dict[str, Any],
    words: list[str],
    marked: dict[str, list[str]] | None = None,
    records: str | None = None,
) -> SimpleNamespace:
    """One search result: title, creators, year, type, source, DOI and a snippet (an
    object: Jinja reads attributes of objects faster than keys of dicts).

    ``marked`` is the backend's highlighting of this hit (SearchResult.highlights), used
    when it is plain escaped text with <mark> (it stems as the index does); otherwise the
    page marks the words itself. ``records``: the landing pages' URL prefix, if known (see
    ``landing_url``)."""
    md = hit.get("metadata") or {}
    creators = [c.get("name") for c in md.get("creators") or [] if c.get("name")]
    descriptions = [d.get("description") for d in md.get("descriptions") or []]
    text = next((d for d in descriptions if d), "")
    title = title_of(md)
    marked = marked or {}
    marked_title = _safe_marked(marked.get("title"), title)
    marked_text = _with_ellipses(_safe_marked(marked.get("description")), text)
    rid = hit["id"]
    return SimpleNamespace(
        id=rid,
        url=url_for("records.landing_page", rid=rid)
        if records is None
        else landing_url(records, rid),
        title=marked_title or highlight(title, words),
        creators=creators[:CREATORS_SHOWN],
        creators_text="; ".join(creators[:CREATORS_SHOWN]),
        more_creators=max(0, len(creators) - CREATORS_SHOWN),
        year=md.get("publicationYear"),
        type=(md.get("types") or {}).get("resourceTypeGeneral"),
        source=hit.get("source"),
        doi=doi_of(md),
        snippet=marked_text or (highlight(snippet(text, words), words) if text else None),
    )


# the converter of the landing page's <rid> (the default one: a path segment)
_SEGMENT = UnicodeConverter(Map())


def landing_url(records: str, rid: str) -> str:
    """``url_for("records.landing_page", rid=rid)`` from that URL's prefix ``records``
    (built once per app: url_for for each hit costs as much as the rest of its view)."""
    return records + _SEGMENT.to_url(rid)


_ONLY_MARKS = re.compile(r"^(?:[^<>]|<mark>|</mark>)*$")
_MARK_TAGS = re.compile(r"</?mark>")


def _with_ellipses(fragment: Markup | None, text: str) -> Markup | None:
    """The engine's fragment of ``text`` with "…" where it cuts the text short, as the
    page's own snippets have."""
    if fragment is None:
        return None
    plain = " ".join(html.unescape(_MARK_TAGS.sub("", fragment)).split())
    whole = " ".join(text.split())
    head, tail = plain[:_ENDS], plain[-_ENDS:]
    before = Markup("") if whole.startswith(head) else Markup("… ")
    after = Markup("") if whole.endswith(tail) else Markup(" …")
    return before + fragment + after


_ENDS = 30  # characters compared at either end of a fragment


def _safe_marked(fragments: list[str] | None, plain: str | None = None) -> Markup | None:
    """The first fragment as Markup if it holds no tag but <mark> (and, given ``plain``,
    is that text); None otherwise."""
    if not fragments or not isinstance(fragments[0], str):
        return None
    first = fragments[0]
    if not _ONLY_MARKS.match(first):
        return None
    if plain is not None and html.unescape(_MARK_TAGS.sub("", first)) != plain:
        return None
    return Markup(first)


def _pattern(text: str, words: list[str]) -> re.Pattern[str] | None:
    """The pattern marking ``words``, or None when it cannot match ``text``.

    Compiling it costs about as much as a rare word's whole search, and a query's words
    are mostly new to the cache; a text that holds none of the stems cannot match, so it
    goes without (see ``_may_hold``)."""
    stems, ascii_only = _stems(tuple(words))
    if not stems or (ascii_only and not _may_hold(text, stems)):
        return None
    return _compiled(stems)


# The only non-ASCII characters that IGNORECASE matches to ASCII ones (İ ı ſ K; a test
# checks this against the re module).
ASCII_TWINS = frozenset("\u0130\u0131\u017f\u212a")


def _may_hold(text: str, stems: tuple[str, ...]) -> bool:
    """False only if no ASCII lower-case stem matches in ``text``, case aside.

    Such a match is a run of ASCII characters (or ASCII_TWINS), so it survives dropping the
    other characters, and for ASCII IGNORECASE is lower()."""
    if text.isascii():
        lowered = text.lower()
    elif ASCII_TWINS.isdisjoint(text):
        lowered = text.encode("ascii", "ignore").decode("ascii").lower()
    else:
        return True
    return any(stem in lowered for stem in stems)


@lru_cache(maxsize=256)
def _stems(words: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    stems = sorted(
        {_stem(w) for w in words if len(w) > 1 and w.upper() not in ("AND", "OR", "NOT")},
        key=len,
        reverse=True,
    )
    kept = tuple(s for s in stems if s)
    return kept, all(s.isascii() for s in kept)


@lru_cache(maxsize=256)
def _compiled(stems: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE)


_FIELD = re.compile(r"^\w+:")


def _stem(word: str) -> str:
    word = _FIELD.sub("", word).strip("+-\"'()[]{}*?~^").lower()
    # a crude English stem, enough to mark "oceans" for "ocean" and "melting" for "melt"
    for suffix in ("ing", "es", "s", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def snippet(text: str, words: list[str], size: int = SNIPPET_CHARS) -> str:
    """About ``size`` characters of ``text`` around its first matched word."""
    text = " ".join(text.split())
    if len(text) <= size:
        return text
    pattern = _pattern(text, words)
    match = pattern.search(text) if pattern else None
    start = max(0, (match.start() if match else 0) - size // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + size // 2 else end
    return ("… " if start else "") + text[start:end] + (" …" if end < len(text) else "")


def highlight(text: str, words: list[str]) -> Markup:
    """``text`` escaped, with the matched words in <mark>."""
    pattern = _pattern(text, words)
    if pattern is None:
        return escape(text)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


# identifier type -> URL of the identifier (None: not linkable)
def identifier_url(value: str | None, kind: str | None) -> str | None:
    if not value:
        return None
    kind = (kind or "").lower()
    if re.match(r"^https?://", value, re.IGNORECASE):
        return value
    if kind == "doi":
        return f"https://doi.org/{value}"
    if kind == "handle":
        return f"https://hdl.handle.net/{value}"
    if kind == "arxiv":
        return f"https://arxiv.org/abs/{value.removeprefix('arXiv:')}"
    if kind == "orcid":
        return f"https://orcid.org/{value.rsplit('/', 1)[-1]}"
    if kind == "ror" or kind == "url":
        return value if value.startswith("http") else None
    return None


def licence_view(rights: dict[str, Any]) -> dict[str, Any]:
    """A rights entry as shown: the text as harvested, its SPDX id and a link."""
    found = spdx_id(rights)
    uri = rights.get("rightsUri")
    link = uri if uri and uri.startswith(("http://", "https://")) else None
    if found and not link:
        link = f"https://spdx.org/licenses/{found}.html"
    return {
        "text": rights.get("rights") or (licence_name(found) if found else None) or uri,
        "spdx": found,
        "url": link,
    }


def licence_urls(metadata: dict[str, Any]) -> list[str]:
    """Licence URLs of a record (for Link rel=license and the JSON-LD), access terms left out."""
    urls = []
    for rights in metadata.get("rightsList") or []:
        view = licence_view(rights)
        if view["url"] and (view["spdx"] or "licen" in view["url"]):
            urls.append(view["url"])
    return list(dict.fromkeys(urls))
