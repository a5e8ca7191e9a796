"""Citation representations of a record (BibTeX, RIS, CSL-JSON, a formatted citation), for
content negotiation on ``/api/records/<id>`` and ``/records/<id>`` as DOI resolvers offer."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import url_for

from catalogue.store import RecordState
from mappings.export.citation import citation_line, to_bibtex, to_csl_json, to_ris

BIBTEX = "application/x-bibtex"
RIS = "application/x-research-info-systems"
CSL_JSON = "application/vnd.citationstyles.csl+json"
BIBLIOGRAPHY = "text/x-bibliography"


def landing_url(state: RecordState) -> str:
    return url_for("records.landing_page", rid=state.record.id, _external=True)


def _bibtex(state: RecordState) -> bytes:
    return to_bibtex(state.record.metadata, key=state.record.id, url=landing_url(state)).encode()


def _ris(state: RecordState) -> bytes:
    return to_ris(state.record.metadata, url=landing_url(state)).encode()


def _csl(state: RecordState) -> bytes:
    item = to_csl_json(state.record.metadata, rid=state.record.id, url=landing_url(state))
    return json.dumps(item, ensure_ascii=False).encode()


def _line(state: RecordState) -> bytes:
    return (citation_line(state.record.metadata, landing_url(state)) + "\n").encode()


# media type -> (ETag suffix, body builder), merged into negotiation.REPRESENTATIONS
CITATIONS: dict[str, tuple[str, Callable[[RecordState], bytes]]] = {
    BIBTEX: ("-bibtex", _bibtex),
    RIS: ("-ris", _ris),
    CSL_JSON: ("-csl", _csl),
    BIBLIOGRAPHY: ("-citation", _line),
}
