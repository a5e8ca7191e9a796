"""GET /api/records/<id>: the record in the representation the client asks for.

JSON (the canonical record), DataCite XML, oai_dc XML and schema.org JSON-LD, from the same
writers the OAI-PMH provider uses. Each representation has its own strong ETag (the
record's ETag plus a suffix), as RFC 9110 wants of strong validators; If-Match on writes
accepts any of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request, url_for
from lxml import etree

from catalogue.store import RecordState
from catalogue.web.auth import caller_is_admin
from catalogue.web.citations import CITATIONS
from catalogue.web.errors import ApiError
from mappings.export import to_datacite, to_oai_dc, to_schema_org
from mappings.quality import missing_properties

JSON = "application/json"
DATACITE_XML = "application/vnd.datacite.datacite+xml"
OAI_DC_XML = "application/x-oai-dc+xml"
JSON_LD = "application/ld+json"
SCHEMA_ORG_LD = "application/vnd.schemaorg.ld+json"


def record_json(state: RecordState) -> dict[str, Any]:
    """The JSON representation of a record: the canonical record plus who and which schema."""
    body = state.record.as_dict()
    body["schema"] = (
        {"id": state.schema_id, "version": state.schema_version} if state.schema_id else None
    )
    # what the record page shows and DataCite would refuse (the export fills placeholders)
    body["missing_mandatory"] = missing_properties(state.record.metadata)
    if caller_is_admin():  # token names are personal data: admins only
        body["created_by"] = state.created_by
        body["updated_by"] = state.updated_by
    links = {"self": url_for("search.get_record", rid=state.record.id, _external=True)}
    if state.record.original_format:
        links["document"] = url_for("ingest.get_document", rid=state.record.id, _external=True)
    body["links"] = links
    return body


def published_year(record: Any) -> int | None:
    """The year to write as DataCite's mandatory publicationYear when the record has none:
    when its source published it, else when it was published here (an OaiEntry or a Record).
    """
    when = getattr(record, "source_datestamp", None) or getattr(record, "datestamp", None)
    return when.year if when is not None else None


def _datacite(state: RecordState) -> bytes:
    return _xml(to_datacite(state.record.metadata, fallback_year=published_year(state.record)))


def _xml(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _json_ld(state: RecordState) -> bytes:
    url = url_for("search.get_record", rid=state.record.id, _external=True)
    return json.dumps(to_schema_org(state.record.metadata, url=url), ensure_ascii=False).encode()


# media type -> (ETag suffix, body builder); the first is the default
REPRESENTATIONS: dict[str, tuple[str, Callable[[RecordState], bytes] | None]] = {
    JSON: ("", None),
    DATACITE_XML: ("-datacite", _datacite),
    OAI_DC_XML: ("-oai_dc", lambda s: _xml(to_oai_dc(s.record.metadata))),
    JSON_LD: ("-schemaorg", _json_ld),
    SCHEMA_ORG_LD: ("-schemaorg", _json_ld),
    # a plain XML request gets the richest XML we have
    "application/xml": ("-datacite", _datacite),
    # citations, as DOI resolvers negotiate them
    **CITATIONS,
}


def base_etag(etag: str) -> str:
    """The record ETag inside a representation's ETag."""
    return etag.split("-", 1)[0]


def record_response(state: RecordState, mimetype: str | None = None) -> Response:
    """The negotiated representation of a live record (or the one named), with its ETag;
    406 if none fits."""
    if mimetype is not None:
        pass
    elif request.accept_mimetypes:
        mimetype = request.accept_mimetypes.best_match(list(REPRESENTATIONS))
        if mimetype is None:
            raise ApiError(
                406,
                "none of the accepted media types is available",
                [{"field": "Accept", "message": f"available: {list(REPRESENTATIONS)}"}],
            )
    else:
        mimetype = JSON
    suffix, build = REPRESENTATIONS[mimetype]
    if build is None:
        response = jsonify(record_json(state))
    else:
        response = Response(build(state), mimetype=mimetype)
        if not mimetype.endswith("json") and "charset" not in response.content_type:
            response.content_type = f"{mimetype}; charset=utf-8"
    response.set_etag(state.etag + suffix)
    response.vary.add("Accept")
    response.vary.add("Authorization")
    return response.make_conditional(request)
