"""Canonical record -> the flat search document that every backend indexes.

Document fields (backend-neutral; see ``FACETS`` in ``base.py`` for the facet ones):

    id, source          strings
    title, description, creator, subject
                        lists of strings (all titles, descriptions, creator names, subjects)
    text                list of strings: everything searchable (the above plus contributors,
                        publisher, identifiers, affiliations, resource type)
    identifier          identifier keys (``query.identifier_key``) of the record's identifiers,
                        its id and its source id: a pasted DOI, Handle or URL finds it
    type                resourceTypeGeneral or None
    year                publicationYear (int) or None
    language, publisher strings or None
    rights              licences as SPDX ids ("CC-BY-4.0"), else the rights text
    access              "open" | "restricted" | "embargoed" | "closed" | "unknown"
    datestamp           catalogue datestamp, "YYYY-MM-DDTHH:MM:SSZ" or None
    title_sort          first title, lowercased and trimmed (for sorting)
    record              JSON text of ``Record.as_dict()`` (stored, not indexed)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from catalogue import fastjson
from catalogue.model import Record
from catalogue.search.query import identifier_key
from catalogue.store import StoredRecord
from mappings.licences import spdx_id

_EU_REPO_ACCESS = {
    "info:eu-repo/semantics/openaccess": "open",
    "info:eu-repo/semantics/restrictedaccess": "restricted",
    "info:eu-repo/semantics/embargoedaccess": "embargoed",
    "info:eu-repo/semantics/closedaccess": "closed",
}

_CC_URI = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<kind>[a-z-]+)|publicdomain/(?P<pd>zero|mark))"
    r"/(?P<version>\d+(?:\.\d+)?)",
    re.IGNORECASE,
)
_CC_LABEL = re.compile(r"^cc[ -]?(by(?:[ -](?:sa|nd|nc))*|0|zero)(?:[ -]v?(\d+(?:\.\d+)?))?$", re.I)

# Licences (SPDX ids, upper-cased) under which a record counts as open access.
_OPEN_LICENCES = {
    "CC0-1.0",
    "PDDL-1.0",
    "ODC-BY-1.0",
    "ODBL-1.0",
    "MIT",
    "APACHE-2.0",
    "BSD-2-CLAUSE",
    "BSD-3-CLAUSE",
    "GPL-2.0",
    "GPL-3.0",
    "LGPL-3.0",
    "MPL-2.0",
    "EUPL-1.2",
}

TITLE_SORT_LENGTH = 200


def to_document(record: Record) -> dict[str, Any]:
    """The flat search document of ``record`` (a pure function of the record)."""
    md = record.metadata or {}
    # each list read once: building documents is most of the indexer's Python time
    people = _list(md.get("creators"))
    creators = _names(people)
    contributor_list = _list(md.get("contributors"))
    contributors = _names(contributor_list)
    people += contributor_list
    titles = _strings(t.get("title") for t in _list(md.get("titles")))
    descriptions = _strings(d.get("description") for d in _list(md.get("descriptions")))
    subjects = _unique(_strings(s.get("subject") for s in _list(md.get("subjects"))))
    publisher = _string(md.get("publisher"))
    types = md.get("types")
    if not isinstance(types, dict):
        types = {}
    rights_list = _list(md.get("rightsList"))
    rights = _unique(label for r in rights_list if (label := rights_label(r)))
    identifier_values = [i.get("identifier") for i in _list(md.get("identifiers"))]
    extra = [
        *identifier_values,
        *(a.get("name") for p in people for a in _list(p.get("affiliation"))),
        types.get("resourceType"),
        types.get("resourceTypeGeneral"),
    ]
    year = md.get("publicationYear")
    as_dict = record.as_dict()
    identifiers = [record.id, record.source_id, *_strings(identifier_values)]
    return {
        "id": record.id,
        "source": record.source,
        "title": titles,
        "description": descriptions,
        "creator": creators,
        "subject": subjects,
        "text": [
            *titles,
            *descriptions,
            *creators,
            *contributors,
            *subjects,
            *([publisher] if publisher else []),
            *_strings(extra),
        ],
        "identifier": _unique(k for i in identifiers if i and (k := identifier_key(i))),
        "type": _string(types.get("resourceTypeGeneral")),
        "year": year if isinstance(year, int) and not isinstance(year, bool) else None,
        "language": _string(md.get("language")),
        "publisher": publisher,
        "rights": rights,
        "access": access_level(rights_list, rights),
        "datestamp": as_dict["datestamp"],
        "title_sort": " ".join(titles[0].lower().split())[:TITLE_SORT_LENGTH] if titles else "",
        "record": _record_json(record, as_dict),
    }


def _record_json(record: Record, as_dict: dict[str, Any]) -> str:
    """JSON text of ``as_dict`` (``record.as_dict()``, which ends with the metadata).

    A record read from the store in bulk carries its metadata's JSON text as stored: that
    text goes in as it is rather than serialising the metadata once more.
    """
    if not isinstance(record, StoredRecord):
        return fastjson.json_compact(as_dict)
    envelope = dict(as_dict)
    del envelope["metadata"]
    head = fastjson.dumps_compact(envelope)  # strings, booleans and None only
    return f'{head[:-1]},"metadata":{record.metadata_json}}}'


def rights_label(rights: dict[str, Any]) -> str | None:
    """The licence's SPDX id ("CC-BY-4.0", "CC0-1.0"), else a short label or the rights text.

    Access-level URIs (info:eu-repo/semantics/...) are not licences and give None.
    """
    if found := spdx_id(rights):
        return found
    ident = _string(rights.get("rightsIdentifier"))
    if ident:
        return _cc_label(ident) or ident
    uri = _string(rights.get("rightsUri")) or ""
    if uri.lower().startswith("info:eu-repo/semantics/"):
        return None
    match = _CC_URI.search(uri)
    if match:
        version = match["version"]
        if match["pd"] == "zero":
            return f"CC0-{version}"
        if match["pd"] == "mark":
            return "PDM-1.0"
        return f"CC-{match['kind'].upper()}-{version}"
    text = _string(rights.get("rights"))
    if text:
        return _cc_label(text) or text
    return uri or None


def access_level(rights_list: Iterable[dict[str, Any]], labels: Iterable[str] = ()) -> str:
    """open / restricted / embargoed / closed from eu-repo access URIs, else from licences."""
    for rights in rights_list:
        for key in ("rightsUri", "rights"):
            value = (_string(rights.get(key)) or "").lower()
            if value in _EU_REPO_ACCESS:
                return _EU_REPO_ACCESS[value]
    for label in labels:
        upper = label.upper()
        if upper.startswith(("CC-", "CC0")) or upper in _OPEN_LICENCES or upper == "OPEN ACCESS":
            return "open"
    return "unknown"


def _cc_label(text: str) -> str | None:
    match = _CC_LABEL.match(text.strip())
    if not match:
        return None
    kind, version = match[1].upper().replace(" ", "-"), match[2]
    if kind in {"0", "ZERO"}:
        return f"CC0-{version or '1.0'}"
    return f"CC-{kind}-{version}" if version else f"CC-{kind}"


def _names(people: list[Any]) -> list[str]:
    names = []
    for person in people:
        if not isinstance(person, dict):
            continue
        name = _string(person.get("name"))
        if not name:
            parts = [person.get("givenName"), person.get("familyName")]
            name = " ".join(_strings(parts)) or None
        if name:
            names.append(name)
    return names


def _list(value: Any) -> list[Any]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _string(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _strings(values: Iterable[Any]) -> list[str]:
    return [s for v in values if (s := _string(v))]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
