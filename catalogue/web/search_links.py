"""The links of a search page (facet values, chips, suggestions, pager, the API), built
from its query string encoded once: a page has a few hundred links, and url_for or
urlencode per link would cost more than the search itself."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from catalogue.config import Settings
from catalogue.search.base import FACETS, SearchResult
from catalogue.web.search_api import SORTS, SearchArgs

# The sorts offered in the page's menu (the API accepts aliases too).
SORT_LABELS = {
    "relevance": "Best match",
    "newest": "Newest publication",
    "oldest": "Oldest publication",
    "updated": "Recently updated",
    "title": "Title A-Z",
    "-title": "Title Z-A",
}


class SearchLinks:
    """URLs of one search page's links; ``path`` and ``api_path``: those of the search page
    and of ``GET /api/records``; ``cursor``: the page's own (a page past the window)."""

    def __init__(
        self,
        args: SearchArgs,
        path: str,
        api_path: str,
        default_size: int,
        cursor: str | None = None,
    ) -> None:
        self.args = args
        self.cursor = cursor
        self.path = path
        self.api_path = api_path
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
                kept = [v for v in values if v.lower() != toggle[1].lower()]
                # removing takes every spelling of the value (?year=2023&year=2023 too)
                values = kept if len(kept) < len(values) else [*values, toggle[1]]
            out += [(name, v) for v in values]
        default_sort = "relevance" if q else "updated"
        if args.sort != default_sort:
            out.append(("sort", sort_name(args)))
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
        return self.adding + pair(name, value)

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
def pair(name: str, value: str) -> str:
    """``name=value`` in a query string (facet values recur from page to page)."""
    return f"{quote_plus(name)}={quote_plus(value)}"


def sort_name(args: SearchArgs) -> str:
    for name, value in SORTS.items():
        if value == args.sort and name in SORT_LABELS:
            return name
    return args.sort


def pager(
    args: SearchArgs, result: SearchResult, settings: Settings, links: SearchLinks
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
    if args.more_after(result):
        if args.after is None and not shortened and args.page < last:
            following = links.page(args.page + 1)
        elif cursor := args.next_cursor(result, settings):
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
