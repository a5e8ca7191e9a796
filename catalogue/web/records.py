"""Record landing pages: ``/records/<id>`` (HTML, or any API representation by Accept),
``/records/<id>/export/<format>`` (the same representations as links), 410 tombstones.

A landing page carries what dataset and scholarly search engines read: schema.org JSON-LD,
Highwire ``citation_*`` meta tags, ``<link rel="alternate">`` per export and FAIR
Signposting ``Link`` headers (cite-as, describedby, license, type, author).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from markupsafe import Markup

from catalogue.store import RecordState
from catalogue.web import citations, negotiation
from catalogue.web.errors import ApiError
from catalogue.web.page_helpers import identifier_url, licence_urls, licence_view
from catalogue.web.services import services
from harvester.url_policy import public_url
from mappings.export.citation import citation_line, doi_of, title_of
from mappings.export.schemaorg import to_schema_org
from mappings.quality import missing_properties

bp = Blueprint("records", __name__)

HTML = "text/html"
# export name -> (label, media type)
EXPORTS: dict[str, tuple[str, str]] = {
    "json": ("JSON", negotiation.JSON),
    "datacite": ("DataCite XML", negotiation.DATACITE_XML),
    "oai_dc": ("Dublin Core (oai_dc)", negotiation.OAI_DC_XML),
    "jsonld": ("schema.org JSON-LD", negotiation.JSON_LD),
    "bibtex": ("BibTeX", citations.BIBTEX),
    "ris": ("RIS", citations.RIS),
    "csl": ("CSL-JSON", citations.CSL_JSON),
    "citation": ("Citation text", citations.BIBLIOGRAPHY),
}
_DOWNLOAD_EXTENSIONS = {"bibtex": "bib", "ris": "ris"}


@bp.get("/records/<rid>")
def landing_page(rid: str) -> Response | tuple[str, int, dict[str, str]]:
    offers = [HTML, *negotiation.REPRESENTATIONS]
    wanted = request.accept_mimetypes.best_match(offers) if request.accept_mimetypes else HTML
    state = _state(rid)
    if wanted != HTML:
        # asked for data: answer as GET /api/records/<id> does (JSON errors included)
        return _api_representation(rid, state, wanted)
    if state is None:
        abort(404, f"There is no record with the id {rid!r}.")
    if state.record.deleted:
        html = render_template("tombstone.html", record=_tombstone(state))
        return html, 410, {"Vary": "Accept"}
    return _page(state)


@bp.get("/records/<rid>/export/<fmt>")
def export(rid: str, fmt: str) -> Response:
    if fmt not in EXPORTS:
        abort(404, f"No export format {fmt!r}; formats: {', '.join(EXPORTS)}.")
    state = _state(rid)
    if (state is None or state.record.deleted) and _browser():
        # export links are followed in browsers: a page, not the API's JSON error
        if state is None:
            abort(404, f"There is no record with the id {rid!r}.")
        abort(410, f"The record {rid!r} was deleted; there is nothing to export.")
    response = _api_representation(rid, state, EXPORTS[fmt][1])
    if fmt in _DOWNLOAD_EXTENSIONS:
        name = f"{rid}.{_DOWNLOAD_EXTENSIONS[fmt]}"
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _browser() -> bool:
    """A client naming text/html itself (a browser), not one taking anything (*/*)."""
    return any(value == HTML and quality > 0 for value, quality in request.accept_mimetypes)


def _state(rid: str) -> RecordState | None:
    # no id holds a NUL, and PostgreSQL refuses one in a query parameter
    return None if "\x00" in rid else services().store.get_record_state(rid)


def _api_representation(rid: str, state: RecordState | None, mimetype: str | None) -> Response:
    if state is None:
        raise ApiError(404, f"no record with id {rid!r}")
    if state.record.deleted:
        raise ApiError(410, f"record {rid!r} was deleted")
    if mimetype is None:
        return negotiation.record_response(state)  # the API's 406
    return negotiation.record_response(state, mimetype)


def _page(state: RecordState) -> tuple[str, int, dict[str, str]]:
    record = state.record
    md = record.metadata or {}
    url = url_for("records.landing_page", rid=record.id, _external=True)
    jsonld = landing_json_ld(state, url)
    export_url = url_for("records.export", rid=record.id, fmt="FORMAT")
    exports = [
        (name, label, mimetype, export_url.replace("FORMAT", name))
        for name, (label, mimetype) in EXPORTS.items()
    ]
    html = render_template(
        "record.html",
        record=record,
        md=md,
        url=url,
        title=title_of(md),
        doi=doi_of(md),
        citation=citation_line(md, url),
        exports=exports,
        jsonld=_script_json(jsonld),
        meta=highwire_meta(md, url),
        view=record_view(md),
        source=_source_view(record),
        missing=missing_properties(md),
        original_url=url_for("ingest.get_document", rid=record.id)
        if record.original_format
        else None,
    )
    return html, 200, {"Link": signposting(state, url, jsonld), "Vary": "Accept"}


def landing_json_ld(state: RecordState, url: str) -> dict[str, Any]:
    """schema.org for the landing page, with what dataset search engines require."""
    md = state.record.metadata or {}
    doc = to_schema_org(md, url=url)
    if "author" in doc:
        doc.setdefault("creator", doc["author"])
    licences = licence_urls(md)
    if licences and not doc.get("license"):
        doc["license"] = licences
    if not doc.get("description"):
        # Dataset search engines skip records without one: say what we know
        kind = (md.get("types") or {}).get("resourceTypeGeneral") or "Resource"
        publisher = f" published by {md['publisher']}" if md.get("publisher") else ""
        year = f" in {md['publicationYear']}" if md.get("publicationYear") else ""
        doc["description"] = f"{kind}{publisher}{year}: {title_of(md)}"
    doc.setdefault("name", title_of(md))
    doc["url"] = url
    settings = services().settings
    doc["includedInDataCatalog"] = {
        "@type": "DataCatalog",
        "name": settings.oai.repository_name,
        "url": url_for("pages.home", _external=True),
    }
    return doc


def _script_json(doc: dict[str, Any]) -> Markup:
    """JSON for a <script> element: '<' escaped so that no value can close the element."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def highwire_meta(md: dict[str, Any], url: str) -> list[tuple[str, str]]:
    """Google Scholar's citation_* meta tags."""
    meta = [("citation_title", title_of(md))]
    meta += [("citation_author", c["name"]) for c in md.get("creators") or [] if c.get("name")]
    issued = next(
        (d.get("date") for d in md.get("dates") or [] if d.get("dateType") == "Issued"), None
    )
    if issued and len(issued) >= 10:
        meta.append(("citation_publication_date", issued[:10].replace("-", "/")))
    elif md.get("publicationYear") is not None:
        meta.append(("citation_publication_date", str(md["publicationYear"])))
    if md.get("publisher"):
        meta.append(("citation_publisher", md["publisher"]))
    if doi := doi_of(md):
        meta.append(("citation_doi", doi))
    subjects = [s["subject"] for s in md.get("subjects") or [] if s.get("subject")]
    if subjects:
        meta.append(("citation_keywords", "; ".join(subjects)))
    if md.get("language"):
        meta.append(("citation_language", md["language"]))
    meta.append(("citation_abstract_html_url", url))
    return meta


def signposting(state: RecordState, url: str, jsonld: dict[str, Any]) -> str:
    """FAIR Signposting (signposting.org) links of a landing page."""
    md = state.record.metadata or {}
    rid = state.record.id
    doi = doi_of(md)
    links = [(f"https://doi.org/{doi}" if doi else url, "cite-as", None)]
    export_url = url_for("records.export", rid=rid, fmt="FORMAT", _external=True)
    for name in ("json", "datacite", "jsonld"):
        links.append((export_url.replace("FORMAT", name), "describedby", EXPORTS[name][1]))
    links += [(u, "license", None) for u in licence_urls(md)]
    links.append((f"https://schema.org/{jsonld.get('@type', 'CreativeWork')}", "type", None))
    links.append(("https://schema.org/AboutPage", "type", None))
    for creator in md.get("creators") or []:
        for ident in creator.get("nameIdentifiers") or []:
            if (ident.get("nameIdentifierScheme") or "").upper() == "ORCID":
                links.append((identifier_url(ident.get("nameIdentifier"), "orcid"), "author", None))
    return ", ".join(
        f'<{target}>; rel="{rel}"' + (f'; type="{kind}"' if kind else "")
        for target, rel, kind in links
        if target
    )


def record_view(md: dict[str, Any]) -> dict[str, Any]:
    """The parts of the landing page that need more than a template expression."""
    creators = []
    for person in md.get("creators") or []:
        orcid = next(
            (
                identifier_url(i.get("nameIdentifier"), "orcid")
                for i in person.get("nameIdentifiers") or []
                if (i.get("nameIdentifierScheme") or "").upper() == "ORCID"
            ),
            None,
        )
        affiliations = [a.get("name") for a in person.get("affiliation") or [] if a.get("name")]
        creators.append({"name": person.get("name"), "orcid": orcid, "affiliations": affiliations})
    related = [
        {
            "relation": _words(r.get("relationType")),
            "value": r.get("relatedIdentifier"),
            "type": r.get("relatedIdentifierType"),
            "url": identifier_url(r.get("relatedIdentifier"), r.get("relatedIdentifierType")),
        }
        for r in md.get("relatedIdentifiers") or []
    ]
    versions = [r for r in related if "version" in (r["relation"] or "").lower()]
    return {
        "creators": creators,
        "contributors": [c.get("name") for c in md.get("contributors") or [] if c.get("name")],
        "identifiers": [
            {
                "value": i.get("identifier"),
                "type": i.get("identifierType"),
                "url": identifier_url(i.get("identifier"), i.get("identifierType")),
            }
            for i in md.get("identifiers") or []
        ],
        "descriptions": [d for d in md.get("descriptions") or [] if d.get("description")],
        "related": [r for r in related if r not in versions],
        "versions": versions,
        "rights": [licence_view(r) for r in md.get("rightsList") or []],
        "funding": md.get("fundingReferences") or [],
        "geo": md.get("geoLocations") or [],
        "dates": md.get("dates") or [],
        "subjects": [s for s in md.get("subjects") or [] if s.get("subject")],
    }


def _words(camel: str | None) -> str | None:
    """'IsNewVersionOf' -> 'Is new version of'."""
    if not camel:
        return camel
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", camel)
    return spaced[:1] + spaced[1:].lower()


def _source_view(record: Any) -> dict[str, Any]:
    return {
        "key": record.source,
        "url": _source_urls().get(record.source),
        "search": url_for("pages.search", source=record.source),
        "source_id": record.source_id,
        "source_link": identifier_url(record.source_id, None),
    }


_SOURCES_TTL = 30.0


def _source_urls() -> dict[str, str]:
    """Source key -> endpoint URL, read at most every 30 s per app (one query per landing
    page would cost as much as the rest of the page)."""
    cache = current_app.extensions.setdefault("pages.sources", {"at": None, "urls": {}})
    now = time.monotonic()
    if cache["at"] is None or now - cache["at"] >= _SOURCES_TTL:
        # shown to anyone: never the credentials a source URL may carry
        cache["urls"] = {s.key: public_url(s.url) for s in services().store.list_sources()}
        cache["at"] = now
    return cache["urls"]


def _tombstone(state: RecordState) -> dict[str, Any]:
    record = state.record
    md = record.metadata or {}
    return {
        "id": record.id,
        "title": title_of(md) if md.get("titles") else None,
        "doi": doi_of(md),
        "source": record.source,
        "source_id": record.source_id,
        "deleted_at": record.datestamp,
    }
