"""The embedded (tantivy) and the cluster backend side by side, and the API's overhead.

    .venv/bin/python benchmarks/search_backends.py [--records 100000] [--repeat 40]
        [--search-url opensearch+http://host:9200] [--embedded-only]

Builds ``--records`` DataCite-like records (in memory, no store) and indexes them into the
embedded backend and into a cluster: osmem (the in-memory OpenSearch-compatible server from
PyPI, started here) unless ``--search-url`` names a real one. Then, for each backend:

- bulk rate: documents/s through ``SearchIndex.upsert`` in chunks of 500 plus the commit;
- p50/p95 of seven searches: a common term with the 8 facets, a rare term, match-all with
  facets, a filter only, a deep page by title (offset 9,980: the API's window), the same
  depth of the listing without a query (ordered by record id), and a cursor page
  (search_after / offset 50,000, beyond any window);
- each search at three levels: the bare engine query (tantivy's searcher; the cluster's
  ``_search`` with the translated body), the backend (``SearchIndex.search``), and the
  API (``GET /api/records`` over HTTP, waitress). The anchor is the bare engine query of
  the same backend in the same run; the goal is API p95 <= 1.3x the engine's.

Prints the figures; the last line is one JSON object of them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalogue.config import Settings, load_settings  # noqa: E402
from catalogue.model import Record, record_id  # noqa: E402
from catalogue.search.base import FACETS, SearchIndex, SearchQuery  # noqa: E402
from catalogue.search.cluster_query import search_body  # noqa: E402
from catalogue.search.documents import to_document  # noqa: E402
from catalogue.search.sort_keys import sort_keys  # noqa: E402

WORDS = [
    "ocean",
    "temperature",
    "salinity",
    "glacier",
    "melt",
    "forest",
    "soil",
    "carbon",
    "urban",
    "air",
    "quality",
    "river",
    "discharge",
    "sediment",
    "plankton",
    "coral",
    "reef",
    "drought",
    "rainfall",
    "aerosol",
    "permafrost",
    "wetland",
    "biodiversity",
    "genome",
    "protein",
    "climate",
    "model",
    "simulation",
    "survey",
    "census",
    "migration",
    "energy",
]
SUBJECTS = [f"Subject {n}" for n in range(300)]
TYPES = ["Dataset", "Software", "Text", "Image", "Collection", "Model", "Workflow"]
LANGUAGES = ["en", "de", "fr", "nl", "es", "it"]
PUBLISHERS = [f"Publisher {n}" for n in range(50)]
LICENCES = ["CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0", "MIT"]
RARE = "quasicrystal"  # in one record of 10,000
CHUNK = 500


def metadata(n: int, rng: random.Random) -> dict[str, Any]:
    title = " ".join(rng.choice(WORDS) for _ in range(6))
    if n % 10_000 == 7:
        title += f" {RARE}"
    return {
        "identifiers": [{"identifier": f"10.5555/bench.{n}", "identifierType": "DOI"}],
        "creators": [{"name": f"Author{n % 997}, Given", "nameType": "Personal"}],
        "titles": [{"title": title.capitalize()}],
        "publisher": PUBLISHERS[n % len(PUBLISHERS)],
        "publicationYear": 1990 + n % 35,
        "types": {"resourceTypeGeneral": TYPES[n % len(TYPES)]},
        "subjects": [{"subject": rng.choice(SUBJECTS)} for _ in range(3)],
        "language": LANGUAGES[n % len(LANGUAGES)],
        "rightsList": [{"rightsIdentifier": LICENCES[n % len(LICENCES)]}],
        "descriptions": [
            {
                "description": " ".join(rng.choice(WORDS) for _ in range(40)),
                "descriptionType": "Abstract",
            }
        ],
    }


def documents(count: int) -> list[dict[str, Any]]:
    rng = random.Random(15)
    start = datetime(2024, 1, 1)
    docs = []
    for n in range(count):
        source = f"source{n % 8}"
        record = Record(
            id=record_id(source, f"rec-{n}"),
            source=source,
            source_id=f"rec-{n}",
            metadata=metadata(n, rng),
            datestamp=start + timedelta(seconds=n * 7),
        )
        docs.append(to_document(record))
    return docs


def bulk(index: SearchIndex, docs: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for i in range(0, len(docs), CHUNK):
        index.upsert(docs[i : i + CHUNK])
    index.commit(len(docs))
    return len(docs) / (time.perf_counter() - started)


# Seconds of timed runs per search and level at most (osmem is a test server: its facets
# take seconds on 100k documents); at least MIN_RUNS runs each.
BUDGET = 6.0
MIN_RUNS = 3


def percentiles(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + BUDGET
    while len(times) < repeat and (len(times) < MIN_RUNS or time.perf_counter() < deadline):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
        "runs": len(times),
    }


def searches(index: SearchIndex, docs: list[dict[str, Any]]) -> dict[str, SearchQuery]:
    cursor_at = min(50_000, len(docs) - 20)
    if hasattr(index, "transport"):  # the cluster's cursor: the sort key of the hit before
        keys = sorted((sort_keys(d)["sort_updated"] for d in docs), reverse=True)
        after: tuple[Any, ...] = (keys[cursor_at - 1],)
    else:  # the embedded backend's cursor is an offset
        after = ("offset", cursor_at)
    return {
        "common_term_facets": SearchQuery(q="ocean", size=20),
        "rare_term": SearchQuery(q=RARE, size=20, facets=False),
        "match_all_facets": SearchQuery(size=20, sort="updated"),
        "filter_only": SearchQuery(
            filters={"type": ("Software",), "language": ("de",)}, size=20, facets=False
        ),
        "deep_page": SearchQuery(q="ocean", sort="title", page=499, size=20, facets=False),
        # no query: every score is equal and the record id orders (the default listing)
        "listing_deep_page": SearchQuery(page=499, size=20, facets=False),
        "cursor_page": SearchQuery(sort="updated", size=20, after=after, facets=False),
    }


def engine_call(index: Any, query: SearchQuery, beside: bool = False) -> Callable[[], Any]:
    """The bare engine query: tantivy's searcher, or the cluster's _search with the body.
    ``beside``: tantivy's facets run on a second thread while the first reads the hits (as
    the embedded backend runs them), the fair anchor for a search with facets."""
    if hasattr(index, "transport"):
        body = search_body(query)
        client = index.transport.client
        return lambda: client.search(index=index.alias, body=body)
    import tantivy

    from catalogue.search.sort_keys import ID_PREFIX_FIELD, INTEGER_SORT_FIELDS, SORT_FIELDS

    inner = index
    spec = SORT_FIELDS[query.sort]
    if query.sort in INTEGER_SORT_FIELDS:  # what the embedded index sorts these on
        spec = (INTEGER_SORT_FIELDS[query.sort][0][0], spec[1])
    elif spec is None and not query.q.strip(" *"):
        # every score is equal: ordered by record id (its integer prefix), as the backend
        # must; tantivy's own order of equal scores would be no order at all
        spec = (ID_PREFIX_FIELD, False)
    main = inner._parse(query.q)
    filters = [inner._filter(name, values) for name, values in query.filters.items()]
    combined = (
        main
        if not filters
        else tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in [main, *filters]])
    )
    offset = query.after[1] if query.after else query.offset
    facet_spec = {name: {"terms": {"field": field, "size": 40}} for name, field in FACETS.items()}

    def run() -> Any:
        searcher = inner._index.searcher()
        if query.facets and beside:
            facets = pool.submit(searcher.aggregate, combined, facet_spec)
        if spec is None:
            found = searcher.search(combined, query.size, count=True, offset=offset)
        else:
            order = tantivy.Order.Desc if spec[1] else tantivy.Order.Asc
            found = searcher.search(combined, query.size, True, spec[0], offset, order)
        docs = [searcher.doc(addr) for _, addr in found.hits]
        if query.facets and beside:
            facets.result()
        elif query.facets:
            searcher.aggregate(combined, facet_spec)
        return docs

    pool = ThreadPoolExecutor(1) if beside else None
    return run


def api_params(query: SearchQuery, settings: Settings) -> dict[str, Any]:
    params: dict[str, Any] = {"q": query.q, "size": query.size, "sort": query.sort}
    if not query.facets:
        params["facets"] = "false"
    params.update({name: list(values) for name, values in query.filters.items()})
    if query.after is not None:
        from catalogue.web.search_api import make_cursor

        # the count of hits before the page only decides links.next: 0 keeps one
        params["cursor"] = make_cursor(query.after, query.sort, settings, 0)
    else:
        params["page"] = query.page
    return params


def serve(app: Any) -> tuple[str, Any]:
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


def measure(
    name: str, index: SearchIndex, settings: Settings, docs: list, repeat: int
) -> dict[str, Any]:
    from catalogue.store import Store
    from catalogue.web.app import create_app

    store = Store(f"sqlite:///{settings.data_dir}/api.sqlite3")
    store.migrate()
    app = create_app(
        replace(settings, search=replace(settings.search, max_page_size=200)),
        store=store,
        index=index,
    )
    url, server = serve(app)
    # One kept-alive stdlib connection: requests' own work per call (~0.6 ms here) is the
    # client's, not the API's.
    connection = http.client.HTTPConnection(url.split("//", 1)[1], timeout=60)
    out: dict[str, Any] = {}
    for label, query in searches(index, docs).items():
        params = api_params(query, app.extensions["catalogue"].settings)
        path = "/api/records?" + urllib.parse.urlencode(params, doseq=True)

        def api(path: str = path) -> None:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, body[:300]

        engine = percentiles(engine_call(index, query), repeat)
        beside = None
        if query.facets and not hasattr(index, "transport"):
            beside = percentiles(engine_call(index, query, beside=True), repeat)
        backend = percentiles(lambda query=query: index.search(query), repeat)
        over_http = percentiles(api, repeat)
        total = index.search(SearchQuery(q=query.q, filters=query.filters, size=0, facets=False))
        out[label] = {
            "total": total.total,
            "engine": engine,
            "backend": backend,
            "api": over_http,
            "api_to_engine_p95": round(over_http["p95_ms"] / max(engine["p95_ms"], 0.01), 2),
        }
        if beside is not None:
            out[label]["engine_beside"] = beside
            out[label]["api_to_engine_beside_p95"] = round(
                over_http["p95_ms"] / max(beside["p95_ms"], 0.01), 2
            )
        print(
            f"{name:9} {label:19} hits {total.total:>7,}  engine p50/p95 "
            f"{engine['p50_ms']:7.2f}/{engine['p95_ms']:7.2f} ms  backend "
            f"{backend['p50_ms']:7.2f}/{backend['p95_ms']:7.2f}  API "
            f"{over_http['p50_ms']:7.2f}/{over_http['p95_ms']:7.2f}  API/engine p95 "
            f"{out[label]['api_to_engine_p95']}x",
            flush=True,
        )
        if beside is not None:
            print(
                f"{'':9} {'':19} engine with its facets beside the hits p50/p95 "
                f"{beside['p50_ms']:.2f}/{beside['p95_ms']:.2f} ms  API/that p95 "
                f"{out[label]['api_to_engine_beside_p95']}x",
                flush=True,
            )
    connection.close()
    store.dispose()
    # the waitress server is a daemon thread: it ends with this process
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40, help="timed runs per search")
    parser.add_argument("--search-url", help="a real cluster instead of osmem")
    parser.add_argument("--embedded-only", action="store_true", help="skip the cluster")
    args = parser.parse_args()

    started = time.perf_counter()
    docs = documents(args.records)
    print(f"{args.records:,} documents built in {time.perf_counter() - started:.1f} s", flush=True)
    figures: dict[str, Any] = {"records": args.records}

    with tempfile.TemporaryDirectory() as tmp:
        from catalogue.search.embedded import TantivyIndex

        settings = load_settings({"data_dir": tmp, "search_url": ""})
        writer = TantivyIndex(Path(tmp) / "index", writer=True)
        rate = bulk(writer, docs)
        writer.close()
        print(f"embedded  bulk {rate:,.0f} documents/s", flush=True)
        reader = TantivyIndex(Path(tmp) / "index", writer=False)
        figures["embedded"] = {"bulk_docs_per_s": round(rate)}
        figures["embedded"].update(measure("embedded", reader, settings, docs, args.repeat))
        reader.close()

    if args.embedded_only:
        figures["load_average"] = round(os.getloadavg()[0], 2)
        print(json.dumps(figures))
        return
    server = None
    url = args.search_url
    if not url:
        from osmem_server import OsmemServer

        server = OsmemServer.start(japanese=False)
        url = f"opensearch+{server.url}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            from catalogue.search.indexer import open_index
            from catalogue.store import Store

            settings = load_settings(
                {
                    "data_dir": tmp,
                    "search_url": url,
                    "search": {"index_alias": "bench", "timeout": 120.0},
                }
            )
            Store(settings.database_url).migrate()
            writer = open_index(settings, writer=True)
            rate = bulk(writer, docs)
            print(f"cluster   bulk {rate:,.0f} documents/s ({url.split('+')[0]})", flush=True)
            figures["cluster"] = {"bulk_docs_per_s": round(rate), "engine": url.split("+")[0]}
            figures["cluster"].update(measure("cluster", writer, settings, docs, args.repeat))
            if args.search_url:
                client = writer.transport.client
                for name in writer._aliased_indexes():
                    client.indices.delete(index=name)
            writer.close()
    finally:
        if server is not None:
            server.close()
    figures["load_average"] = round(os.getloadavg()[0], 2)
    print(f"load average (1 min) at the end: {figures['load_average']} on {os.cpu_count()} cores")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
