"""Search API (B2SHARE-like): GET /api/records and GET /api/records/<id>."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from catalogue.search.base import FACETS, QuerySyntaxError, SearchQuery
from catalogue.search.query import parse_query
from catalogue.web.errors import ApiError
from catalogue.web.query_guard import public_message, refuse_internal_fields
from catalogue.web.search_pages import bounded_search
from catalogue.web.services import services

bp = Blueprint("search", __name__)

SORTS = {
    "relevance": "relevance",
    "bestmatch": "relevance",
    "newest": "newest",
    "oldest": "oldest",
    "title": "title",
    "-title": "-title",
    "updated": "updated",
    "mostrecent": "updated",
}
MAX_QUERY_CHARS = 1000
MAX_FILTER_CHARS = 500
MAX_FILTER_VALUES = 20
# ASCII digits only: str.isdigit() also accepts "²" and Arabic-Indic digits.
_YEAR = re.compile(r"-?[0-9]{1,4}")
_INT = re.compile(r"-?[0-9]{1,12}")


@dataclass(frozen=True)
class SearchArgs:
    """The validated query string of GET /api/records."""

    q: str
    page: int
    size: int
    sort: str
    filters: dict[str, tuple[str, ...]]
    start: int | None = None

    def as_query(self) -> SearchQuery:
        return SearchQuery(
            q=self.q,
            filters=self.filters,
            page=self.page,
            size=self.size,
            sort=self.sort,
            start=self.start,
        )

    def start_params(self, start: int) -> list[tuple[str, Any]]:
        """The query string of a page starting at hit ``start`` (0-based)."""
        out = [(k, v) for k, v in self.params(1) if k != "page"]
        return [*out, ("start", start)]

    def params(self, page: int) -> dict[str, Any]:
        out: list[tuple[str, Any]] = [("q", self.q), ("sort", self.sort)]
        out += [(name, value) for name, values in self.filters.items() for value in values]
        out += [("page", page), ("size", self.size)]
        return out


def parse_search_args(args: MultiDict[str, str], settings: dict[str, Any]) -> SearchArgs:
    """Validate every argument before any search work; collect all problems at once."""
    limits = settings["search"]
    errors: list[dict[str, str]] = []
    allowed = {"q", "page", "size", "sort", "start", *FACETS}
    for name in args:
        if name not in allowed:
            errors.append(
                {"field": name, "message": f"unknown parameter; allowed: {sorted(allowed)}"}
            )
    for name in ("q", "page", "size", "sort", "start"):
        if len(args.getlist(name)) > 1:
            errors.append({"field": name, "message": "given more than once"})

    q = args.get("q", "").strip()
    if len(q) > MAX_QUERY_CHARS:
        errors.append({"field": "q", "message": f"longer than {MAX_QUERY_CHARS} characters"})
    else:
        try:
            parse_query(q)  # the backends parse it again; syntax errors are 400s before work
        except QuerySyntaxError as exc:
            errors.append({"field": "q", "message": str(exc)})
    page = _int_arg(args, "page", 1, 1, None, errors)
    # size=0 is allowed: facet counts and the total without hits.
    size = _int_arg(args, "size", limits["default_page_size"], 0, limits["max_page_size"], errors)
    start = _int_arg(args, "start", -1, 0, None, errors)
    if start >= 0 and args.get("page"):
        errors.append({"field": "start", "message": "give page or start, not both"})
    sort_name = args.get("sort") or ("relevance" if q else "updated")
    if sort_name not in SORTS:
        errors.append({"field": "sort", "message": f"must be one of {sorted(SORTS)}"})
    last = start + size if start >= 0 else page * size
    if not errors and last > limits["max_result_window"]:
        errors.append(
            {
                "field": "page",
                "message": f"page * size may not exceed {limits['max_result_window']}; "
                "narrow the query with filters instead of paging deeper",
            }
        )

    filters: dict[str, tuple[str, ...]] = {}
    for name in FACETS:
        values = tuple(v.strip() for v in args.getlist(name) if v.strip())
        if len(values) > MAX_FILTER_VALUES:
            errors.append({"field": name, "message": f"at most {MAX_FILTER_VALUES} values"})
        if any(len(v) > MAX_FILTER_CHARS for v in values):
            errors.append({"field": name, "message": f"values longer than {MAX_FILTER_CHARS}"})
        if name == "year" and not all(_YEAR.fullmatch(v) for v in values):
            errors.append({"field": name, "message": "years are integers from -9999 to 9999"})
        if values:
            filters[name] = values
    if errors:
        raise ApiError(400, "invalid search parameters", errors)
    return SearchArgs(
        q=q,
        page=page,
        size=size,
        sort=SORTS[sort_name],
        filters=filters,
        start=start if start >= 0 else None,
    )


def _int_arg(
    args: MultiDict[str, str],
    name: str,
    default: int,
    low: int,
    high: int | None,
    errors: list[dict[str, str]],
) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: int() also takes "+5", "5_0", " 5" and full-width digits.
    if not _INT.fullmatch(raw):
        errors.append({"field": name, "message": "must be an integer (digits 0-9)"})
        return default
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        errors.append({"field": name, "message": f"must be {bound}"})
        return default
    return value


@bp.get("/api/records", strict_slashes=False)
def search_records() -> Response:
    svc = services()
    args = parse_search_args(request.args, svc.settings)
    refuse_internal_fields(args.q)
    try:
        result = bounded_search(
            svc.fresh_index(), args.as_query(), svc.settings["max_response_bytes"]
        )
    except QuerySyntaxError as exc:
        raise ApiError(
            400, "invalid query syntax", [{"field": "q", "message": public_message(str(exc))}]
        ) from exc
    base = url_for("search.search_records", _external=True)
    offset = args.as_query().offset
    shortened = len(result.hits) < args.size and offset + len(result.hits) < result.total
    if args.start is None and not shortened:
        links = {"self": f"{base}?{urlencode(args.params(args.page))}"}
        if (
            args.size
            and args.page * args.size < result.total
            and (args.page + 1) * args.size <= _window(svc)
        ):
            links["next"] = f"{base}?{urlencode(args.params(args.page + 1))}"
        if args.page > 1:
            links["prev"] = f"{base}?{urlencode(args.params(args.page - 1))}"
    else:
        # a page cut short by its size in bytes, or one that started at a hit: carry on
        # from the first hit not shown
        links = {"self": f"{base}?{urlencode(args.start_params(offset))}"}
        after = offset + len(result.hits)
        if args.size and after < result.total and after + args.size <= _window(svc):
            links["next"] = f"{base}?{urlencode(args.start_params(after))}"
        if offset > 0:
            links["prev"] = f"{base}?{urlencode(args.start_params(max(0, offset - args.size)))}"
    hits = [_with_links(hit) for hit in result.hits]
    return jsonify(
        {"hits": hits, "total": result.total, "aggregations": result.aggregations, "links": links}
    )


def _window(svc: Any) -> int:
    return svc.settings["search"]["max_result_window"]


def _with_links(record: dict[str, Any]) -> dict[str, Any]:
    record = dict(record)
    record["links"] = {"self": url_for("search.get_record", rid=record["id"], _external=True)}
    return record


@bp.get("/api/records/<rid>")
def get_record(rid: str) -> Response:
    """The record with its ETag, in the representation negotiated from Accept."""
    from catalogue.web.negotiation import record_response

    state = services().store.get_record_state(rid)
    if state is None:
        raise ApiError(404, f"no record with id {rid!r}")
    if state.record.deleted:
        raise ApiError(410, f"record {rid!r} was deleted")
    return record_response(state)
