"""Canonical metadata -> citations: DataCite's recommended line, BibTeX, RIS, CSL-JSON.

The formats DOI resolvers offer by content negotiation (``text/x-bibliography``,
``application/x-bibtex``, ``application/x-research-info-systems``,
``application/vnd.citationstyles.csl+json``), built from the canonical record alone.
"""

from __future__ import annotations

import re
from typing import Any

# DataCite resourceTypeGeneral -> (BibTeX entry type, RIS type, CSL type)
_TYPES: dict[str, tuple[str, str, str]] = {
    "Dataset": ("misc", "DATA", "dataset"),
    "Software": ("misc", "COMP", "software"),
    "ComputationalNotebook": ("misc", "COMP", "software"),
    "JournalArticle": ("article", "JOUR", "article-journal"),
    "DataPaper": ("article", "JOUR", "article-journal"),
    "ConferencePaper": ("inproceedings", "CPAPER", "paper-conference"),
    "Preprint": ("misc", "UNPB", "article"),
    "Text": ("misc", "GEN", "document"),
    "Book": ("book", "BOOK", "book"),
    "BookChapter": ("incollection", "CHAP", "chapter"),
    "Dissertation": ("phdthesis", "THES", "thesis"),
    "Report": ("techreport", "RPRT", "report"),
    "Image": ("misc", "FIGURE", "graphic"),
    "Audiovisual": ("misc", "VIDEO", "motion_picture"),
    "Sound": ("misc", "SOUND", "song"),
    "Collection": ("misc", "DATA", "collection"),
}
_DEFAULT_TYPE = ("misc", "GEN", "document")
_BIBTEX_SPECIAL = re.compile(r"([\\{}&%$#_^~])")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def doi_of(metadata: dict) -> str | None:
    for ident in metadata.get("identifiers") or []:
        if ident.get("identifierType") == "DOI" and ident.get("identifier"):
            return ident["identifier"]
    return None


def title_of(metadata: dict) -> str:
    titles = metadata.get("titles") or []
    main = [t["title"] for t in titles if not t.get("titleType") and t.get("title")]
    return (main or [t.get("title") for t in titles if t.get("title")] or ["(untitled)"])[0]


def link_of(metadata: dict, url: str | None) -> str | None:
    """The DOI as a resolver URL, else the Handle as one (persistent, as DataCite's
    citation asks for), else the landing page ``url``."""
    if doi := doi_of(metadata):
        return f"https://doi.org/{doi}"
    for ident in metadata.get("identifiers") or []:
        value = ident.get("identifier")
        if ident.get("identifierType") == "Handle" and isinstance(value, str) and value:
            return value if value.startswith(("http://", "https://")) else _HANDLE + value
    return url


_HANDLE = "https://hdl.handle.net/"


def citation_line(metadata: dict, url: str | None = None) -> str:
    """DataCite's recommended citation: Creator (PublicationYear): Title. Version.
    Publisher. (ResourceType). Identifier."""
    creators = [_short_name(c) for c in metadata.get("creators") or [] if c.get("name")]
    if len(creators) > 20:
        creators = [*creators[:19], "…", creators[-1]]
    who = "; ".join(creators) or "Anonymous"
    year = metadata.get("publicationYear")
    parts = [f"{who} ({year}): " if year is not None else f"{who}: "]
    parts.append(_period(title_of(metadata)))
    if version := metadata.get("version"):
        parts.append(f" Version {version}.")
    if publisher := metadata.get("publisher"):
        parts.append(" " + _period(publisher))
    general = (metadata.get("types") or {}).get("resourceTypeGeneral")
    if general and general != "Other":
        parts.append(f" ({general}).")
    if link := link_of(metadata, url):
        parts.append(f" {link}")
    return "".join(parts).strip()


def to_bibtex(metadata: dict, *, key: str, url: str | None = None) -> str:
    entry_type = _types(metadata)[0]
    fields: list[tuple[str, Any]] = [
        ("title", "{" + _tex(title_of(metadata)) + "}"),
        ("author", " and ".join(_tex_name(c) for c in metadata.get("creators") or [])),
        ("year", metadata.get("publicationYear")),
        ("publisher", _tex(metadata.get("publisher") or "")),
        ("version", metadata.get("version")),
        ("doi", doi_of(metadata)),
        ("url", link_of(metadata, url)),
        ("keywords", ", ".join(_tex(s["subject"]) for s in metadata.get("subjects") or [])),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    safe_key = _KEY_UNSAFE.sub("_", key).strip("_") or "record"
    return f"@{entry_type}{{{safe_key},\n{body}\n}}\n"


def to_ris(metadata: dict, *, url: str | None = None) -> str:
    lines = [("TY", _types(metadata)[1]), ("TI", title_of(metadata))]
    lines += [("AU", c["name"]) for c in metadata.get("creators") or [] if c.get("name")]
    if (year := metadata.get("publicationYear")) is not None:
        lines.append(("PY", str(year)))
    if publisher := metadata.get("publisher"):
        lines.append(("PB", publisher))
    if doi := doi_of(metadata):
        lines.append(("DO", doi))
    if link := link_of(metadata, url):
        lines.append(("UR", link))
    lines += [("KW", s["subject"]) for s in metadata.get("subjects") or [] if s.get("subject")]
    for d in metadata.get("descriptions") or []:
        if d.get("descriptionType", "Abstract") == "Abstract" and d.get("description"):
            lines.append(("AB", d["description"]))
            break
    if version := metadata.get("version"):
        lines.append(("ET", version))
    lines.append(("ER", ""))
    # RIS is line-based: a value never spans lines
    return "".join(f"{tag}  - {' '.join(str(value).split())}\r\n" for tag, value in lines)


def to_csl_json(metadata: dict, *, rid: str, url: str | None = None) -> dict:
    item: dict[str, Any] = {
        "id": rid,
        "type": _types(metadata)[2],
        "title": title_of(metadata),
        "author": [_csl_name(c) for c in metadata.get("creators") or [] if c.get("name")],
        "publisher": metadata.get("publisher"),
        "DOI": doi_of(metadata),
        "URL": link_of(metadata, url),
        "version": metadata.get("version"),
        "keyword": ", ".join(s["subject"] for s in metadata.get("subjects") or []) or None,
    }
    if (year := metadata.get("publicationYear")) is not None:
        item["issued"] = {"date-parts": [[year]]}
    return {key: value for key, value in item.items() if value not in (None, [], "")}


def _types(metadata: dict) -> tuple[str, str, str]:
    return _TYPES.get((metadata.get("types") or {}).get("resourceTypeGeneral"), _DEFAULT_TYPE)


def _short_name(creator: dict) -> str:
    """'Family, G.' for people with a given name; the name as written otherwise."""
    family, given = creator.get("familyName"), creator.get("givenName")
    if family and given and creator.get("nameType") != "Organizational":
        initials = " ".join(f"{part[0]}." for part in re.split(r"[\s-]+", given) if part)
        return f"{family}, {initials}"
    return creator["name"]


def _period(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def _tex(text: str) -> str:
    return _BIBTEX_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _tex_name(creator: dict) -> str:
    name = _tex(creator.get("name") or "")
    # organisations in braces, so BibTeX does not split them into first/last names
    return "{" + name + "}" if creator.get("nameType") == "Organizational" else name


def _csl_name(creator: dict) -> dict:
    if creator.get("familyName") and creator.get("nameType") != "Organizational":
        out = {"family": creator["familyName"]}
        if creator.get("givenName"):
            out["given"] = creator["givenName"]
        return out
    return {"literal": creator["name"]}
