"""The researcher's pages: ``/`` (search box, headline facets, newest records, sources) and
``/search`` (results, facets, chips, sort, paging), server-rendered.

``/search`` takes exactly the arguments of ``GET /api/records`` and validates them with the
same ``parse_search_args`` (so the query syntax and its errors are the API's); a bad
argument answers 400 with the page and the message where the results would be.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote_plus

from flask import (
    Blueprint,
    Response,
    current_app,
    get_template_attribute,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from catalogue.config import Settings
from catalogue.search.base import FACETS, SearchQuery, SearchResult
from catalogue.search.query import parse_query
from catalogue.web.errors import ApiError
from catalogue.web.page_helpers import FACET_LABELS, hit_view
from catalogue.web.search_api import (
    SORTS,
    SearchArgs,
    make_cursor,
    parse_search_args,
    run_search,
)
from catalogue.web.services import services

bp = Blueprint("pages", __name__)

# The sorts offered in the page's menu (the API accepts aliases too).
SORT_LABELS = {
    "relevance": "Best match",
    "newest": "Newest publication",
    "oldest": "Oldest publication",
    "updated": "Recently updated",
    "title": "Title A-Z",
    "-title": "Title Z-A",
}
HOME_FACETS = ("type", "year", "subject", "rights")
# values listed per facet (selected ones always): a scannable list, and half the page's cost
FACET_VALUES_SHOWN = 10
NEWEST = 8


class Nav(NamedTuple):
    """The URLs every page links to (a tuple: Jinja reads attributes of objects directly,
    keys of a dict only after a failed getattr)."""

    home: str
    search: str
    api: str
    docs: str
    oai: str
    sitemap: str
    css: str
    js: str
    records: str  # a landing page's URL without the record's id (see landing_url)


@bp.app_context_processor
def _site() -> dict[str, Any]:
    """The site's name, ``nav`` and the ``search_form`` macro, for every page; built once
    per app and script root (a dozen url_for calls per page cost as much as a small
    search, and a template's ``{% from ... import %}`` as much as the form itself)."""
    app = current_app._get_current_object()  # one proxy look-up
    cache = app.extensions.setdefault("pages.site", {})
    root = request.script_root
    if root not in cache or app.jinja_env.auto_reload:
        nav = Nav(
            home=url_for("pages.home"),
            search=url_for("pages.search"),
            api=url_for("search.search_records"),
            docs=url_for("openapi.api_docs"),
            oai=url_for("oai.endpoint", verb="Identify"),
            sitemap=url_for("sitemap.sitemap"),
            css=url_for("static", filename="pages.css"),
            js=url_for("static", filename="pages.js"),
            records=url_for("records.landing_page", rid="-").removesuffix("-"),
        )
        cache[root] = {
            "site_name": services().settings.oai.repository_name,
            "nav": nav,
            "search_form": get_template_attribute("_search_form.html", "search_form"),
        }
    site: dict[str, Any] = cache[root]
    return site


@bp.app_template_filter("thousands")
def _thousands(number: int) -> str:
    """1234567 as "1,234,567" (a filter: cheaper for Jinja than calling str.format)."""
    return f"{number:,}"


def _sort_options(sort: str | None) -> Markup:
    """The sort menu's <option>s with ``sort`` selected: the same few on every page, so
    rendered once per app and sort (unless templates reload)."""
    app = current_app._get_current_object()
    cache = app.extensions.setdefault("pages.sort_options", {})
    if sort not in cache or app.jinja_env.auto_reload:
        render = get_template_attribute("_sort_options.html", "sort_options")
        cache[sort] = render(SORT_LABELS, sort)
    options: Markup = cache[sort]
    return options


def _nav() -> Nav:
    nav: Nav = _site()["nav"]
    return nav


@bp.get("/")
def home() -> str:
    svc = services()
    try:
        result = run_search(svc, SearchQuery(size=NEWEST, sort="updated"))
    except ApiError:
        # the search engine is away: the home page still offers the box and the sources
        result = SearchResult(total=0, hits=[], aggregations={})
    # the sources with records, counted by the index (the same numbers as the facet)
    known = {s.key: s for s in svc.store.list_sources()}
    sources = [
        (b["key"], b["count"], known.get(b["key"])) for b in result.aggregations.get("source", [])
    ]
    return render_template(
        "home.html",
        total=result.total,
        newest=[hit_view(h, [], records=_nav().records) for h in result.hits],
        facets=[
            (name, FACET_LABELS[name], result.aggregations.get(name, [])) for name in HOME_FACETS
        ],
        sources=sources,
    )


@bp.get("/search")
def search() -> tuple[str, int] | Response:
    svc = services()
    try:
        args = parse_search_args(request.args, svc.settings)
        result = run_search(svc, args.as_query())
    except ApiError as exc:
        if exc.status == 400:
            return _bad_request(exc.errors)
        # the search engine cannot answer now (503 with Retry-After): say so on a page
        error = HTTPException(exc.message)
        error.code, error.description = exc.status, f"Search is unavailable: {exc.message}."
        page = render_template("error.html", error=error)
        return Response(page, exc.status, exc.headers, content_type="text/html; charset=utf-8")
    # (a missing key costs MultiDict.get an exception: only pages past the window have one)
    cursor = request.args["cursor"] if args.after is not None else None
    context = _search_context(args, result, svc.settings, cursor)
    return render_template("search.html", **context), 200


def _bad_request(errors: list[dict[str, str]]) -> tuple[str, int]:
    q = request.args.get("q", "")[:1000]
    return (
        render_template(
            "search.html",
            q=q,
            errors=errors,
            total=None,
            hits=[],
            facets=[],
            chips=[],
            sorts=SORT_LABELS,
            sort=None,
            sort_options=_sort_options(None),
            hidden=[],
            pages=None,
            suggestions=[],
        ),
        400,
    )


def _search_context(
    args: SearchArgs, result: SearchResult, settings: Settings, cursor: str | None = None
) -> dict[str, Any]:
    """What search.html shows; ``cursor``: the request's own (a page past the window)."""
    words = parse_query(args.q).words
    nav = _nav()
    links = _Links(args, nav, settings.search.default_page_size, cursor)
    sort = _sort_name(args)
    facets = []
    for name in FACETS:
        selected = {v.lower() for v in args.filters.get(name, ())}
        found = result.aggregations.get(name, [])
        buckets: list[Bucket] = []
        if selected:
            for i, b in enumerate(found):
                key = b["key"]
                on = key.lower() in selected
                if i < FACET_VALUES_SHOWN or on:
                    buckets.append((key, b["count"], on, links.toggle(name, key, on)))
        else:  # only the first values are shown: the others need no look
            adding = links.adding
            buckets = [
                (b["key"], b["count"], False, adding + _pair(name, b["key"]))
                for b in found[:FACET_VALUES_SHOWN]
            ]
        top = 0
        if name == "year":  # a histogram: newest first, bars scaled to the highest count
            buckets.sort(key=lambda b: int(b[0]) if _is_int(b[0]) else 0, reverse=True)
            top = max((b[1] for b in buckets), default=0)
        facets.append((name, FACET_LABELS[name], buckets, top))
    chips = [
        {"facet": FACET_LABELS[name], "value": value, "url": links.toggle(name, value, True)}
        for name, values in args.filters.items()
        for value in values
    ]
    suggestions = []
    if result.total == 0:
        suggestions = [
            {
                "label": f"without {FACET_LABELS[name].lower()}: {value}",
                "url": links.toggle(name, value, True),
            }
            for name, values in args.filters.items()
            for value in values
        ]
        if args.q and len(args.q.split()) > 1:
            any_word = " OR ".join(args.q.split())
            suggestions.append({"label": "any of the words", "url": links.url(q=any_word)})
    return {
        "q": args.q,
        "errors": [],
        "total": result.total,
        "hits": [
            hit_view(h, words, result.highlights.get(h["id"]), nav.records) for h in result.hits
        ],
        "facets": facets,
        "chips": chips,
        "sorts": SORT_LABELS,
        "sort": sort,
        "sort_options": _sort_options(sort),
        "hidden": [(k, v) for k, v in links.params if k not in ("q", "sort")],
        "pages": _pages(args, result, settings, links),
        "suggestions": suggestions,
        "first": args.size * (args.page - 1) + 1,
        "last": min(args.size * args.page, result.total),
        "api_url": links.api(),
    }


# A facet value as the page shows it: (key, count, selected, url). A plain tuple: the
# template unpacks it in its loop (cheaper for Jinja than reading attributes) and building
# one costs a tenth of a NamedTuple's.
Bucket = tuple[str, int, bool, str]


class _Links:
    """URLs of one search page's links, built from its query string encoded once (a page
    has a few hundred facet links: url_for and urlencode per link would cost more than the
    search itself)."""

    def __init__(
        self, args: SearchArgs, nav: Nav, default_size: int, cursor: str | None = None
    ) -> None:
        self.args = args
        self.cursor = cursor
        self.path = nav.search
        self.api_path = nav.api
        self.default_size = default_size
        self.params = self.changed()
        self.query = _encode(self.params)
        self.adding = f"{self.path}?{self.query}&" if self.query else f"{self.path}?"

    def changed(
        self, *, page: int = 1, q: str | None = None, toggle: tuple[str, str] | None = None
    ) -> list[tuple[str, Any]]:
        """The query string of this search, changed: only what differs from the defaults."""
        args = self.args
        out: list[tuple[str, Any]] = []
        q = args.q if q is None else q
        if q:
            out.append(("q", q))
        for name in FACETS:
            values = list(args.filters.get(name, ()))
            if toggle and toggle[0] == name:
                lowered = [v.lower() for v in values]
                if toggle[1].lower() in lowered:
                    del values[lowered.index(toggle[1].lower())]
                else:
                    values.append(toggle[1])
            out += [(name, v) for v in values]
        default_sort = "relevance" if q else "updated"
        if args.sort != default_sort:
            out.append(("sort", _sort_name(args)))
        if args.size != self.default_size:
            out.append(("size", args.size))
        if page > 1:
            out.append(("page", page))
        return out

    def url(self, **changes: Any) -> str:
        query = _encode(self.changed(**changes))
        return f"{self.path}?{query}" if query else self.path

    def toggle(self, name: str, value: str, selected: bool) -> str:
        """This search with ``value`` of facet ``name`` added (or removed), from page 1."""
        if selected:
            return self.url(toggle=(name, value))
        return self.adding + _pair(name, value)

    def api(self) -> str:
        """This page of this search in the JSON API."""
        query = self.query
        if self.args.page > 1:
            page = f"page={self.args.page}"
            query = f"{query}&{page}" if query else page
        if self.cursor:  # a page past the window: the API goes on from the same cursor
            query = f"{query}&cursor={quote_plus(self.cursor)}"
        return f"{self.api_path}?{query}"

    def page(self, number: int, cursor: str | None = None) -> str:
        """Page ``number`` of this search (after ``cursor``, for pages past the window)."""
        if cursor:
            return f"{self.page(number)}&cursor={quote_plus(cursor)}"
        if number <= 1:
            return f"{self.path}?{self.query}" if self.query else self.path
        return (
            f"{self.path}?{self.query}&page={number}"
            if self.query
            else f"{self.path}?page={number}"
        )


def _encode(params: list[tuple[str, Any]]) -> str:
    """``urlencode(params)`` for the page's plain pairs, without its generality's cost."""
    return "&".join(f"{quote_plus(name)}={quote_plus(str(value))}" for name, value in params)


@lru_cache(maxsize=4096)
def _pair(name: str, value: str) -> str:
    """``name=value`` in a query string (facet values recur from page to page)."""
    return f"{quote_plus(name)}={quote_plus(value)}"


def _sort_name(args: SearchArgs) -> str:
    for name, value in SORTS.items():
        if value == args.sort and name in SORT_LABELS:
            return name
    return args.sort


def _pages(
    args: SearchArgs, result: SearchResult, settings: Settings, links: _Links
) -> dict[str, Any] | None:
    """The pager: numbered pages down to ``max_result_window`` hits; past it, as the API's
    ``links.next``, "Next" carries a signed cursor after this page's last hit (so is every
    page whose hits were cut short by their size in bytes)."""
    if not args.size:
        return None
    window = settings.search.max_result_window
    last = max(1, min(-(-result.total // args.size), window // args.size))
    following = None
    shortened = getattr(result, "cut", False)
    if args.page * args.size < result.total or shortened:
        if args.after is None and not shortened and args.page < last:
            following = links.page(args.page + 1)
        elif result.cursor is not None:
            cursor = make_cursor(result.cursor, args.sort, settings)
            following = links.page(args.page + 1, cursor)
    if last == 1 and args.page == 1 and following is None:
        return None
    around = range(max(1, args.page - 2), min(last, args.page + 2) + 1)
    numbers = [(n, links.page(n)) for n in sorted({1, *around, last})]
    if args.after is not None and args.page > last:
        # a page past the window has no link of its own but this one (with its cursor)
        numbers.append((args.page, links.page(args.page, links.cursor)))
    return {
        "current": args.page,
        "last": last,
        # back by number while that page is in the window (cursors only go forward)
        "prev": links.page(args.page - 1)
        if args.page > 1 and (args.page - 1) * args.size <= window
        else None,
        "next": following,
        "numbers": numbers,
    }


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True
