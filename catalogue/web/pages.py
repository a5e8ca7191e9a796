"""The researcher's pages: ``/`` (search box, headline facets, newest records, sources) and
``/search`` (results, facets, chips, sort, paging), server-rendered.

``/search`` takes exactly the arguments of ``GET /api/records`` and validates them with the
same ``parse_search_args`` (so the query syntax and its errors are the API's); a bad
argument answers 400 with the page and the message where the results would be.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

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
    MAX_FILTER_VALUES,
    SearchArgs,
    parse_search_args,
    run_search,
)
from catalogue.web.search_links import SORT_LABELS, SearchLinks, pager, pair, sort_name
from catalogue.web.services import services
from mappings.vocabularies import LANGUAGE_NAMES

bp = Blueprint("pages", __name__)

HOME_FACETS = ("type", "year", "subject", "rights")
# values listed per facet at first (selected ones always): a scannable list; the rest of
# the engine's values wait behind "N more"
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


@bp.app_template_filter("type_label")
def _type_label(value: str) -> str:
    """A resource type as people read it: "info:eu-repo/semantics/conferenceObject" (the
    OpenAIRE vocabulary many repositories send as dc:type) as "Conference object"."""
    if not value.startswith(_EU_REPO_TYPES):
        return value
    term = value[len(_EU_REPO_TYPES) :]
    words = _CAMEL.sub(" ", term).lower().strip()
    return words[:1].upper() + words[1:] if words else value


_EU_REPO_TYPES = "info:eu-repo/semantics/"
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@bp.app_template_filter("language_name")
def _language_name(code: str) -> str:
    """A language code with its name ("English (en)"); a code without a known name as is."""
    name = LANGUAGE_NAMES.get(code.lower())
    return f"{name} ({code})" if name else code


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
    known = {s.key: s for s in svc.store.list_sources()}
    unavailable = False
    try:
        result = run_search(svc, SearchQuery(size=NEWEST, sort="updated"))
    except ApiError:
        # the search engine is away: the home page says so, and still offers the box and
        # the registered sources (it said "0 records from 0 sources", "No records yet")
        result = SearchResult(total=0, hits=[], aggregations={})
        unavailable = True
    # the sources with records, counted by the index (the same numbers as the facet)
    sources = [
        (b["key"], b["count"], known.get(b["key"])) for b in result.aggregations.get("source", [])
    ]
    if unavailable:
        sources = [(key, None, source) for key, source in known.items()]
    return render_template(
        "home.html",
        unavailable=unavailable,
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
    # the form keeps the filters, sort and size that were fine: fixing the query keeps them
    wrong = {e.get("field") for e in errors}
    kept = [
        (name, value)
        for name in (*FACETS, "size")
        if name not in wrong
        for value in request.args.getlist(name)[:MAX_FILTER_VALUES]
        if value.strip()
    ]
    sort = request.args.get("sort")
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
            hidden=kept,
            form_sort=sort if sort in SORT_LABELS and "sort" not in wrong else None,
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
    links = SearchLinks(args, nav.search, nav.api, settings.search.default_page_size, cursor)
    sort = sort_name(args)
    facets = []
    for name in FACETS:
        selected = {v.lower() for v in args.filters.get(name, ())}
        found = result.aggregations.get(name, [])
        buckets: list[Bucket] = []
        if selected:
            for b in found:
                key = b["key"]
                on = key.lower() in selected
                buckets.append((key, b["count"], on, links.toggle(name, key, on)))
        else:  # nothing selected: no value needs a look
            adding = links.adding
            buckets = [(b["key"], b["count"], False, adding + pair(name, b["key"])) for b in found]
        top = 0
        if name == "year":  # a histogram: newest first, bars scaled to the highest count
            buckets.sort(key=lambda b: int(b[0]) if _is_int(b[0]) else 0, reverse=True)
            top = max((b[1] for b in buckets), default=0)
            shown = len(buckets)  # a gap in the years would read as a year without records
        else:  # the first values, and any selected one, in sight
            later = buckets[FACET_VALUES_SHOWN:]
            first = buckets[:FACET_VALUES_SHOWN] + [b for b in later if b[2]]
            buckets = first + [b for b in later if not b[2]]
            shown = len(first)
        facets.append((name, FACET_LABELS[name], buckets, top, shown))
    chips = [
        {"facet": FACET_LABELS[name], "value": value, "url": links.toggle(name, value, True)}
        for name, values in args.filters.items()
        # one chip per value, however often and in whichever case the URL repeats it
        for value in {v.lower(): v for v in values}.values()
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
        words_only = args.q.split()
        if len(words_only) > 1 and all(
            _PLAIN_WORD.fullmatch(w) and w not in ("AND", "OR", "NOT") for w in words_only
        ):
            any_word = " OR ".join(words_only)
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
        # a new query typed over a listing is ranked by relevance, not by the listing's sort
        "form_sort": sort if args.q else None,
        "pages": pager(args, result, settings, links),
        "suggestions": suggestions,
        # from the hits before the page: a page cut short by its size holds fewer than size
        "first": args.before + 1,
        "last": min(args.before + len(result.hits), result.total),
        "api_url": links.api(),
        "past_last": _past_last(args, result, settings, links),
    }


def _past_last(
    args: SearchArgs, result: SearchResult, settings: Settings, links: SearchLinks
) -> dict[str, str] | None:
    """Links back for a page number past the last page (an empty page said nothing)."""
    if result.hits or not result.total or args.page == 1 or args.seen is not None:
        return None
    pages = -(-min(result.total, settings.search.max_result_window) // max(args.size, 1))
    return {"first": links.url(), "last": links.url(page=pages), "pages": str(pages)}


# A facet value as the page shows it: (key, count, selected, url). A plain tuple: the
# template unpacks it in its loop (cheaper for Jinja than reading attributes) and building
# one costs a tenth of a NamedTuple's.
Bucket = tuple[str, int, bool, str]

# A word of a plain query, which "any of the words" may join with OR: no phrase, field,
# range, group or operator, which OR-joining would break.
_PLAIN_WORD = re.compile(r"[^\s\"():\[\]{}+\-~^*?\\/!&|]+")


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True
