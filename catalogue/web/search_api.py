"""Search API (B2SHARE-like): GET /api/records and GET /api/records/<id>.

Paging: ``page`` and ``size`` up to ``max_result_window`` hits deep; beyond it
``links.next`` carries a signed ``cursor`` (the backend's search_after values of the
page's last hit), so following ``next`` reaches every hit without a cliff.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict

from catalogue.config import Settings
from catalogue.search.base import (
    FACETS,
    QuerySyntaxError,
    SchemaMismatch,
    SearchError,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from catalogue.search.query import parse_query
from catalogue.search.sort_keys import SEPARATOR
from catalogue.web.deposit import unstorable_text
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
MAX_SEEN = 10**12  # hits a cursor may say came before its page


@dataclass(frozen=True)
class SearchArgs:
    """The validated query string of GET /api/records."""

    q: str
    page: int
    size: int
    sort: str
    filters: dict[str, tuple[str, ...]]
    after: tuple[Any, ...] | None = None
    facets: bool = True
    # hits before this page, as the cursor counted them: pages cut short by their size in
    # bytes held fewer than ``size``, so the page number no longer tells the offset
    seen: int | None = None

    @property
    def before(self) -> int:
        """Hits before this page."""
        return self.seen if self.seen is not None else (self.page - 1) * self.size

    def more_after(self, result: SearchResult) -> bool:
        """Whether hits follow this page (a page cut short always has more after it)."""
        return getattr(result, "cut", False) or self.before + len(result.hits) < result.total

    def next_cursor(self, result: SearchResult, settings: Settings) -> str | None:
        """The signed cursor of the page after this one, if the backend gave its position."""
        if result.cursor is None:
            return None
        return make_cursor(result.cursor, self.sort, settings, self.before + len(result.hits))

    def as_query(self) -> SearchQuery:
        return SearchQuery(
            q=self.q,
            filters=self.filters,
            page=self.page,
            size=self.size,
            sort=self.sort,
            after=self.after,
            facets=self.facets,
        )

    def params(self, page: int, cursor: str | None = None) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = [("q", self.q), ("sort", self.sort)]
        out += [(name, value) for name, values in self.filters.items() for value in values]
        out += [("page", page), ("size", self.size)]
        if not self.facets:
            out.append(("facets", "false"))
        if cursor:
            out.append(("cursor", cursor))
        return out


def parse_search_args(args: MultiDict[str, str], settings: Settings) -> SearchArgs:
    """Validate every argument before any search work; collect all problems at once."""
    limits = settings.search
    errors: list[dict[str, str]] = []
    allowed = {"q", "page", "size", "sort", "cursor", "facets", *FACETS}
    for name in args:
        if name not in allowed:
            errors.append(
                {"field": name, "message": f"unknown parameter; allowed: {sorted(allowed)}"}
            )
    for name in ("q", "page", "size", "sort", "cursor", "facets"):
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
    size = _int_arg(args, "size", limits.default_page_size, 0, limits.max_page_size, errors)
    sort_name = args.get("sort") or ("relevance" if q else "updated")
    if sort_name not in SORTS:
        errors.append({"field": "sort", "message": f"must be one of {sorted(SORTS)}"})
    # facets=false: hits without facet counts (cheaper for a client paging through results)
    facets = args.get("facets", "true").lower()
    if facets not in ("true", "false"):
        errors.append({"field": "facets", "message": "true or false"})
    after = seen = None
    if args.get("cursor"):
        after, seen = _read_cursor(args["cursor"], SORTS.get(sort_name), settings, errors)
    elif not errors and page * size > limits.max_result_window:
        errors.append(
            {
                "field": "page",
                "message": f"page * size may not exceed {limits.max_result_window}; "
                "follow links.next (it carries a cursor) or narrow the query with filters",
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
        after=after,
        facets=facets != "false",
        seen=seen,
    )


def _cursors(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt="search-cursor")


def make_cursor(after: tuple[Any, ...], sort: str, settings: Settings, seen: int) -> str:
    """An opaque, signed cursor: clients cannot forge the search_after values. ``seen``:
    the hits before the page it starts."""
    return _cursors(settings).dumps({"sort": sort, "after": list(after), "seen": seen})


def _read_cursor(
    raw: str, sort: str | None, settings: Settings, errors: list[dict[str, str]]
) -> tuple[tuple[Any, ...] | None, int | None]:
    """The cursor's search_after values and its count of hits before the page (None in a
    cursor of an earlier release)."""
    try:
        data = _cursors(settings).loads(raw)
    except BadSignature:
        errors.append({"field": "cursor", "message": "not a cursor this catalogue made"})
        return None, None
    if not isinstance(data, dict) or data.get("sort") != sort:
        errors.append({"field": "cursor", "message": "the cursor belongs to another sort"})
        return None, None
    after, seen = data.get("after"), data.get("seen")
    # Signed, yet untrusted like any argument: the default secret_key is public.
    if not isinstance(after, list) or not 0 < len(after) <= 8 or not all(map(_plain, after)):
        errors.append({"field": "cursor", "message": "not a cursor this catalogue made"})
        return None, None
    if seen is not None and (type(seen) is not int or not 0 <= seen <= MAX_SEEN):
        errors.append({"field": "cursor", "message": "not a cursor this catalogue made"})
        return None, None
    return tuple(after), seen


def _plain(value: Any) -> bool:
    """A sort value a cursor may carry: a bounded number, a short storable string, None."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        # sort keys join their parts with SEPARATOR (\x1f), the one control character allowed
        printable = value.replace(SEPARATOR, "").isprintable()
        return len(value) <= 1000 and printable and unstorable_text(value) is None
    return False


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
    result = run_search(svc, args.as_query())
    base = url_for("search.search_records", _external=True)
    links = {"self": f"{base}?{urlencode(args.params(args.page, request.args.get('cursor')))}"}
    window = _window(svc)
    # a page cut short by its size in bytes carries on with a cursor after its last hit
    shortened = getattr(result, "cut", False)
    if args.size and args.more_after(result):
        if args.after is None and not shortened and (args.page + 1) * args.size <= window:
            links["next"] = f"{base}?{urlencode(args.params(args.page + 1))}"
        elif cursor := args.next_cursor(result, svc.settings):
            links["next"] = f"{base}?{urlencode(args.params(args.page + 1, cursor))}"
    if args.page > 1 and (args.page - 1) * args.size <= window:
        links["prev"] = f"{base}?{urlencode(args.params(args.page - 1))}"
    record_url = _record_url_builder()
    hits = [_with_links(hit, record_url) for hit in result.hits]
    for hit in hits:
        if marked := result.highlights.get(hit["id"]):
            hit["highlight"] = marked  # HTML fragments: matched words in <mark>, rest escaped
    return jsonify(
        {"hits": hits, "total": result.total, "aggregations": result.aggregations, "links": links}
    )


def run_search(svc: Any, query: SearchQuery) -> SearchResult:
    """Run ``query``: bad syntax is the client's 400; an engine that cannot answer (down,
    overloaded, its index being rebuilt) is a 503 with Retry-After, never a 500."""
    refuse_internal_fields(query.q)
    try:
        return bounded_search(svc.fresh_index(), query, svc.settings.max_response_bytes)
    except QuerySyntaxError as exc:
        raise ApiError(
            400, "invalid query syntax", [{"field": "q", "message": public_message(str(exc))}]
        ) from exc
    except SearchUnavailable as exc:
        raise _unavailable(str(exc), exc.retry_after) from exc
    except SchemaMismatch as exc:
        raise _unavailable("the search index is being rebuilt", 30) from exc
    except SearchError as exc:
        raise _unavailable(f"search failed: {exc}", 5) from exc


def _unavailable(message: str, retry_after: int) -> ApiError:
    return ApiError(503, message, headers={"Retry-After": str(retry_after)})


def _window(svc: Any) -> int:
    return svc.settings.search.max_result_window


def _with_links(record: dict[str, Any], record_url: Callable[[str], str]) -> dict[str, Any]:
    record = dict(record)
    record["links"] = {"self": record_url(record["id"])}
    return record


# Ids that url_for puts into a URL as they are (every id the catalogue assigns or accepts).
_PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]+")


def _record_url_builder() -> Callable[[str], str]:
    """The record URL of an id: one url_for per request, not one per hit (each cost as
    much as a hit's JSON)."""
    prefix = url_for("search.get_record", rid="-", _external=True).removesuffix("-")

    def record_url(rid: str) -> str:
        if _PLAIN_ID.fullmatch(rid):
            return prefix + rid
        return url_for("search.get_record", rid=rid, _external=True)

    return record_url


@bp.get("/api/records/<rid>")
def get_record(rid: str) -> Response:
    """The record with its ETag, in the representation negotiated from Accept."""
    from catalogue.web.negotiation import REPRESENTATIONS, record_response

    if request.accept_mimetypes.best_match([*REPRESENTATIONS, "text/html"]) == "text/html":
        # a browser: the landing page is the record's page for people
        return redirect(url_for("records.landing_page", rid=rid), 303)
    # no id holds a NUL, and PostgreSQL refuses one in a query parameter
    state = None if "\x00" in rid else services().store.get_record_state(rid)
    if state is None:
        raise ApiError(404, f"no record with id {rid!r}")
    if state.record.deleted:
        raise ApiError(410, f"record {rid!r} was deleted")
    return record_response(state)
