"""Paging through REST listings: following next requests, page numbers and offsets, ids.

Every API family pages differently, but the rules against endless or short listings are
the same and live here: a request repeated within a listing, a page repeating the previous
page's records (a paging parameter the server ignores) and more than ``max_pages`` pages
end the listing with :class:`~harvester.rest.core.BadResponse`; page-number and offset
paging go on until an empty page or the announced total, whatever page size the server
really used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from harvester.http import Fetched
from harvester.rest.core import BadResponse, RestClient, RestPage, without_query

# Pages followed per listing before we assume the server pages in a loop it hides from us
# (ten million records at the usual page size of 100; generic sources may set max_pages).
DEFAULT_MAX_PAGES = 100_000


def follow(
    client: RestClient,
    url: str,
    params: Mapping[str, Any] | None,
    next_of: Callable[[Any, Fetched], tuple[str, Mapping[str, Any] | None] | None],
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[tuple[Any, Fetched]]:
    """Yield (parsed JSON, response) page by page; ``next_of`` says where the next page is.

    A request repeated within one listing means the server pages in a loop: BadResponse.
    """
    seen: set[tuple[str, tuple]] = set()
    request: tuple[str, Mapping[str, Any] | None] | None = (url, params)
    resume = take_resume(client)
    if resume is not None:
        request = (resume["url"], resume["params"])
    pages = 0
    while request is not None:
        key = (request[0], tuple(sorted((k, str(v)) for k, v in (request[1] or {}).items())))
        if key in seen:
            raise BadResponse(
                f"the server sent the same next page twice: {without_query(request[0])}"
            )
        seen.add(key)
        pages += 1
        if pages > max_pages:
            raise BadResponse(f"more than {max_pages} pages from {without_query(url)}; stopped")
        data, fetched = client.get_json(*request)
        client.position = {"url": request[0], "params": dict(request[1] or {}), "done": 0}
        yield data, fetched
        request = next_of(data, fetched)


def take_resume(client: RestClient) -> dict[str, Any] | None:
    """The position the first listing of a resumed run starts from (then no more): the
    request of the last page the dead run committed, fetched again (its records come back
    unchanged) and followed from there (:mod:`harvester.checkpoints`)."""
    resume, client.resume = client.resume, None
    return resume


def numbered_pages(
    client: RestClient,
    url: str,
    params: Mapping[str, Any],
    records_of: Callable[[Any, Fetched], list[Any]],
    *,
    param: str,
    first: int = 0,
    by_offset: bool = False,
    total_of: Callable[[Any, Fetched], int | None] | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[tuple[Any, Fetched]]:
    """Yield (parsed JSON, response) of page-number or offset paging.

    ``param`` counts pages from ``first`` or, with ``by_offset``, records: it advances by
    the records actually received, because servers cap the page size without saying so.
    Paging goes on while a page is not empty and, when ``total_of`` knows the total, fewer
    records than that were received.
    """
    current = {**params, param: first}
    done = 0
    resume = take_resume(client)
    if resume is not None:
        url, current, done = resume["url"], dict(resume["params"]), int(resume["done"])

    def next_of(data: Any, fetched: Fetched) -> tuple[str, Mapping[str, Any]] | None:
        nonlocal current, done
        count = len(records_of(data, fetched))
        done += count
        total = total_of(data, fetched) if total_of is not None else None
        if count == 0 or (total is not None and done >= total):
            return None
        current = {**current, param: int(current[param]) + (count if by_offset else 1)}
        return url, current

    for data, fetched in follow(client, url, current, next_of, max_pages=max_pages):
        if client.position is not None:
            client.position["done"] = done  # the records before this page
        yield data, fetched


def identified(
    items: Iterable[Any],
    id_of: Callable[[dict[str, Any]], Any],
    warnings: list[str],
    label: str,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, item) of every JSON object in ``items`` with a usable id; a warning for the others.

    ``label`` names an item in the warning ("hit", "record"): ``<label> <n> has no id``.
    """
    for n, item in enumerate(items):
        rid = id_of(item) if isinstance(item, dict) else None
        if isinstance(rid, bool) or not isinstance(rid, str | int) or not str(rid).strip():
            warnings.append(f"{label} {n} has no id; skipped")
            continue
        yield str(rid).strip(), item


def string_id(item: Mapping[str, Any]) -> str | None:
    """An item's ``id`` when it is a string (the id reader of APIs with string ids)."""
    value = item.get("id")
    return value if isinstance(value, str) else None


def distinct_pages(pages: Iterable[RestPage]) -> Iterator[RestPage]:
    """``pages``, stopped with BadResponse when one lists the very records of the previous one.

    That is a server ignoring the paging parameter (misnamed in the config, or unsupported):
    it would otherwise be asked for the same page until the page cap.
    """
    previous: list[str] = []
    for page in pages:
        ids = [record.source_id for record in page.records]
        if ids and ids == previous:
            raise BadResponse(
                f"two pages in a row listed the same {len(ids)} records: the server ignores "
                "the paging parameter (check the source config); stopped"
            )
        previous = ids or previous
        yield page
