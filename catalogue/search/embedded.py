"""The embedded search backend: a tantivy index in a local directory.

One writer per directory (tantivy's lock file enforces it across processes); any number
of readers, which see a commit after ``reload()`` or, automatically, within about half a
second (tantivy watches ``meta.json``). Next to tantivy's own files the index keeps
``catalogue-index.json``: the schema version (``tantivy_schema.py``) and the change-log seq
that the last commit reached, written only after tantivy's commit (so a crash replays changes,
it never skips them).

Past 400 lines because one class owns the directory's whole life cycle (lock, schema
check, writing, reading) and the exact sort orders (ties broken by record id as the
cluster backend breaks them) need the searcher it holds; the query translation lives in
``tantivy_query.py`` and the highlighting in ``highlight.py``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tantivy

from catalogue import fastjson
from catalogue.search.base import (
    FACET_SIZE,
    FACETS,
    MAX_QUERY_LENGTH,
    MAX_QUERY_NESTING,
    IndexLocked,
    QuerySyntaxError,
    SchemaMismatch,
    SearchError,
    SearchQuery,
    SearchResult,
    sorted_buckets,
)
from catalogue.search.highlight import highlights
from catalogue.search.sort_keys import ID_PREFIX_FIELD, INTEGER_SORT_FIELDS, SORT_FIELDS
from catalogue.search.tantivy_query import QueryBuilder
from catalogue.search.tantivy_schema import SCHEMA_VERSION, build_schema, tantivy_document

log = logging.getLogger(__name__)

META_FILE = "catalogue-index.json"

# tantivy allocates for page + offset up front; the API's max_result_window is far below this.
MAX_WINDOW = 1_000_000
# Hits read either side of a page to order equal scores or sort keys at its edges by id.
TIE_SLACK = 100
# Hits into a run of equal sort keys past which a page may be read from the run's far end.
FAR_INTO_RUN = 100

# Facet buckets asked of tantivy beyond the FACET_SIZE returned: its order among equal
# counts is not by key, so the slack lets ties at the cut be settled as the cluster does.
FACET_SLACK = 20


class TantivyIndex:
    """A :class:`~catalogue.search.base.SearchIndex` over a tantivy directory.

    ``writer=True`` takes the directory's writer lock (``IndexLocked`` if another writer
    holds it). A reader of a directory with no index yet behaves as an empty index until
    a writer creates one. An index built with another schema, or being rebuilt after that,
    raises ``SchemaMismatch`` on use (the API's 503); a reader opens the rebuilt index as
    soon as it is committed, and a writer rebuilds it (``needs_rebuild``, ``clear()``).
    """

    def __init__(
        self, path: str | Path, *, writer: bool, heap_size: int = 128_000_000, threads: int = 0
    ) -> None:
        self.path = Path(path)
        self.is_writer = writer
        self._heap_size = heap_size
        self._threads = threads
        self._schema = build_schema()
        self._index: tantivy.Index | None = None
        self._writer: Any = None
        self._stale: str | None = None
        self._rebuilding = False  # a writer's: since clear() of a stale index, until commit
        self._checkpoint = 0
        self._seen_meta: tuple[int, int, int] | None = None
        if writer:
            self.path.mkdir(parents=True, exist_ok=True)
            self._open_writer()
        else:
            self._open_reader()

    # -- opening --------------------------------------------------------------

    def _open_reader(self) -> None:
        if self._index is None and self._exists():
            try:
                self._index = self._open_existing()
            except SchemaMismatch as exc:
                self._stale = str(exc)
            else:
                self._stale = None

    def _recheck_stale(self) -> None:
        """A stale reader opens the index once a writer has rebuilt it (a meta file read
        per search, only while stale)."""
        if self._stale and not self.is_writer:
            self._open_reader()

    def _open_writer(self) -> None:
        if not self._exists():
            self._create(rebuilding=False)
            return
        try:
            self._index = self._open_existing()
        except SchemaMismatch as exc:
            self._stale = str(exc)
            self._hold_stale_lock()
            return
        self._writer = self._take_writer(self._index)
        self._checkpoint = self._read_checkpoint()

    def _create(self, *, rebuilding: bool) -> None:
        # meta first: a reader that sees tantivy's files must also see the schema version,
        # and that an index replacing a stale one is not complete before its first commit
        self._write_meta(0, rebuilding=rebuilding)
        self._index = tantivy.Index(self._schema, path=str(self.path))
        self._writer = self._take_writer(self._index)

    def _exists(self) -> bool:
        return (self.path / "meta.json").exists()

    def _open_existing(self) -> tantivy.Index:
        meta = self._read_meta()
        found = meta.get("schema_version") if meta else None
        if found != SCHEMA_VERSION:
            raise self._mismatch(f"schema version {found}, expected {SCHEMA_VERSION}")
        if meta.get("rebuilding"):
            raise SchemaMismatch(f"the search index at {self.path} is being rebuilt")
        try:
            if not tantivy.Index.is_compatible(str(self.path)):
                raise self._mismatch("index format of another tantivy version")
            return tantivy.Index(self._schema, path=str(self.path))
        except ValueError as exc:
            if "schema does not match" in str(exc):
                raise self._mismatch("tantivy schema differs") from exc
            raise SearchError(f"cannot open search index {self.path}: {exc}") from exc

    def _mismatch(self, why: str) -> SchemaMismatch:
        return SchemaMismatch(
            f"the search index at {self.path} was built with another schema ({why}); "
            "the indexer rebuilds it when it next runs (or rebuild it with `catalogue reindex`)"
        )

    def _take_writer(self, index: tantivy.Index) -> Any:
        try:
            return index.writer(heap_size=self._heap_size, num_threads=self._threads)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise IndexLocked(f"another process is writing the index at {self.path}") from exc
            raise SearchError(f"cannot open index writer at {self.path}: {exc}") from exc

    def _hold_stale_lock(self) -> None:
        """Hold the old index's writer lock so that ``clear()`` cannot race another writer."""
        try:
            old = tantivy.Index.open(str(self.path))
        except (ValueError, OSError):
            return  # unreadable: nobody else can be writing it either
        self._writer = self._take_writer(old)

    # -- meta file ------------------------------------------------------------

    def _read_meta(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / META_FILE).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SearchError(f"unreadable {META_FILE} in {self.path}: {exc}") from exc

    def _read_checkpoint(self) -> int:
        meta = self._read_meta() or {}
        return int(meta.get("checkpoint", 0))

    def _write_meta(self, checkpoint: int, *, rebuilding: bool = False) -> None:
        meta: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "checkpoint": checkpoint}
        if rebuilding:
            meta["rebuilding"] = True
        data = json.dumps(meta)
        # A name of this process's own: two writers opening a new index at the same moment
        # both write the meta file first (then one of them gets the lock), and with one
        # shared name the second's rename found the first's file gone (FileNotFoundError).
        tmp = self.path / f"{META_FILE}.{os.getpid()}.tmp"
        with tmp.open("w") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / META_FILE)
        dir_fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    # -- writing --------------------------------------------------------------

    def _live_writer(self) -> Any:
        if not self.is_writer:
            raise SearchError("this index was opened read-only")
        if self._stale:
            raise SchemaMismatch(self._stale)
        if self._writer is None:
            raise SearchError("the index is closed")
        return self._writer

    def upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        writer = self._live_writer()
        for doc in docs:
            # a delete only hits documents added before it, so the new copy survives
            writer.delete_documents_by_term("id", doc["id"])
            writer.add_document(tantivy_document(doc))

    def delete(self, ids: Sequence[str]) -> None:
        writer = self._live_writer()
        for doc_id in ids:
            writer.delete_documents_by_term("id", doc_id)

    def commit(self, checkpoint: int) -> None:
        self._live_writer().commit()
        self._write_meta(checkpoint)
        self._rebuilding = False
        self._checkpoint = checkpoint
        self._index.reload()

    def checkpoint(self) -> int:
        if self.is_writer:
            return 0 if self._stale else self._checkpoint
        return self._read_checkpoint() if self._index is not None else 0

    def needs_rebuild(self) -> bool:
        """Whether this writer found the index built with another schema, or a rebuild of
        it unfinished: it must be rebuilt (``clear()``, every record, ``commit``)."""
        return self.is_writer and (self._stale is not None or self._rebuilding)

    def clear(self) -> None:
        """Drop all documents at the next commit; a stale index is wiped and recreated now,
        marked as being rebuilt (readers answer SchemaMismatch) until that commit."""
        if self._stale:
            self._writer = None  # releases the old lock
            self._wipe()
            self._stale = None
            self._create(rebuilding=True)
            self._rebuilding = True
            self._checkpoint = 0
            return
        self._live_writer().delete_all_documents()
        self._checkpoint = 0

    def _wipe(self) -> None:
        for entry in self.path.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    # -- reading --------------------------------------------------------------

    def reload(self) -> None:
        if self._index is None and not self.is_writer:
            self._open_reader()
        if self._index is not None and not self._stale:
            self._index.reload()

    def _refresh(self) -> None:
        """Reload when tantivy's meta.json changed: read-your-writes across processes.

        tantivy also reloads by itself within about half a second; a stat per search makes
        a commit visible at once (the web app answers right after an ingest is indexed).
        """
        try:
            stat = (self.path / "meta.json").stat()
        except FileNotFoundError:
            return
        seen = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if seen != self._seen_meta:
            self.reload()
            self._seen_meta = seen

    def count(self) -> int:
        self._recheck_stale()
        if self._stale:
            raise SchemaMismatch(self._stale)
        self._refresh()
        return self._index.searcher().num_docs if self._index is not None else 0

    def search(self, query: SearchQuery) -> SearchResult:
        self._recheck_stale()
        if self._stale:
            raise SchemaMismatch(self._stale)
        self._refresh()
        if self._index is None:
            return SearchResult(0, [], {})
        offset = _offset(query)
        if offset + query.size > MAX_WINDOW:
            raise QuerySyntaxError(f"cannot page beyond {MAX_WINDOW} hits")
        searcher = self._index.searcher()
        main = self._parse(query.q)
        filters = {name: self._filter(name, values) for name, values in query.filters.items()}
        combined = _all_of([main, *filters.values()])
        try:
            total, docs = self._top(searcher, combined, query, offset)
        except ValueError as exc:
            raise QuerySyntaxError(f"cannot run query: {exc}") from exc
        hits = [fastjson.loads(doc.get_first("record")) for doc in docs]
        aggregations = self._facets(searcher, main, filters, query) if query.facets else {}
        more = query.size and offset + len(hits) < total
        cursor = ("offset", offset + len(hits)) if more else None
        marked = highlights(hits, query.q) if hits else {}
        return SearchResult(total, hits, aggregations, cursor=cursor, highlights=marked)

    def _parse(self, q: str) -> tantivy.Query:
        """The query language of ``query.py``; guards first against inputs that stall
        tantivy's recursive parser."""
        if len(q) > MAX_QUERY_LENGTH:
            raise QuerySyntaxError(f"query longer than {MAX_QUERY_LENGTH} characters")
        if _nesting(q) > MAX_QUERY_NESTING:
            raise QuerySyntaxError(f"query nests parentheses deeper than {MAX_QUERY_NESTING}")
        return QueryBuilder(self._index, self._schema).build(q)

    def _filter(self, name: str, values: Iterable[str]) -> tantivy.Query:
        return QueryBuilder(self._index, self._schema).filter(name, list(values))

    def _top(
        self, searcher: Any, query: tantivy.Query, request: SearchQuery, offset: int
    ) -> tuple[int, list[Any]]:
        """The total and the stored documents of the requested page, in the sort's order."""
        spec = SORT_FIELDS[request.sort]
        if spec is None and not request.q.strip(" *"):
            # every score is equal: the tie-breaker (the id) alone orders
            return self._top_by_integer(
                searcher, query, offset, request.size, (ID_PREFIX_FIELD,), "id", False
            )
        if spec is None:
            return self._top_with_ties(searcher, query, offset, request.size, None, True)
        field, descending = spec
        if request.sort in INTEGER_SORT_FIELDS:
            fields, tie = INTEGER_SORT_FIELDS[request.sort]
            return self._top_by_integer(
                searcher, query, offset, request.size, fields, tie, descending
            )
        # the id: unique, tantivy's order is the whole order
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc
        found = searcher.search(
            query,
            max(request.size, 1),
            count=True,
            offset=offset,
            order_by_field=field,
            order=order,
        )
        docs = [searcher.doc(addr) for _, addr in found.hits] if request.size else []
        return found.count, docs

    def _top_with_ties(
        self,
        searcher: Any,
        query: tantivy.Query,
        offset: int,
        size: int,
        field: str | None,
        descending: bool,
    ) -> tuple[int, list[Any]]:
        """By score, then record id (ascending), as the cluster orders equal scores.

        tantivy breaks ties by its own document order: hits whose score ties with a page's
        first or last hit are read around the page (up to ``TIE_SLACK`` either side) and
        the whole tie group is ordered by id, so that pages neither overlap nor skip (a
        longer run of equal scores is read whole, which only a degenerate query has).
        """
        del field, descending
        start, slack = max(offset - TIE_SLACK, 0), TIE_SLACK
        while True:
            found = searcher.search(query, size + offset - start + slack, count=True, offset=start)
            keyed = found.hits
            low, high = offset - start, min(offset - start + size, len(keyed))
            if not size or low >= len(keyed):
                return found.count, []
            first = low
            while first > 0 and keyed[first - 1][0] == keyed[low][0]:
                first -= 1
            last = high
            while last < len(keyed) and keyed[last][0] == keyed[high - 1][0]:
                last += 1
            # a run of equal scores reaching past what was read: read wider and look again
            if first == 0 and start > 0:
                start = 0
            elif last == len(keyed) and start + len(keyed) < found.count:
                slack *= 4
            else:
                break
        group = [(score, searcher.doc(addr)) for score, addr in keyed[first:last]]
        group.sort(key=lambda pair: (-pair[0], pair[1].get_first("id")))
        return found.count, [doc for _, doc in group[low - first : high - first]]

    def _top_by_integer(
        self,
        searcher: Any,
        query: tantivy.Query,
        offset: int,
        size: int,
        fields: tuple[str, ...],
        tie: str,
        descending: bool,
    ) -> tuple[int, list[Any]]:
        """By integer sort keys (``fields``, each ordering the runs of equal values of the
        one before), then ``tie`` (stored, unique), all in the keys' direction.

        The page as tantivy orders it by the first key tells the keys at its edges; the
        records of an edge key (which may run on before or after the page) are counted and
        read in order with a range query of their own, so a run of equal keys of any length
        pages without overlap or gap (harvests give thousands of records one datestamp).
        """
        field = fields[0]
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc
        # Up to TIE_SLACK hits either side of the page show where its edge keys' runs start
        # and end: such a run is ordered by ``tie`` as read. Only a run going on past what
        # was read needs the range queries (each counts the whole result set).
        start = max(offset - TIE_SLACK, 0)
        found = searcher.search(
            query,
            size + offset - start + TIE_SLACK,
            count=True,
            offset=start,
            order_by_field=field,
            order=order,
        )
        hits = found.hits
        low, high = offset - start, min(offset - start + size, len(hits))
        if not size or low >= len(hits):
            return found.count, []
        run = (searcher, query, fields, tie, descending)
        docs: list[Any] = []
        first = low
        while first < high:
            key = hits[first][0]
            begin, end = first, first + 1
            while begin > 0 and hits[begin - 1][0] == key:
                begin -= 1
            while end < len(hits) and hits[end][0] == key:
                end += 1
            first = min(end, high)
            if (begin == 0 and start > 0) or (end == len(hits) and start + end < found.count):
                docs += self._run_of_key(*run, key, offset, size)
                continue
            same = [searcher.doc(addr) for _, addr in hits[begin:end]]
            same.sort(key=lambda doc: doc.get_first(tie), reverse=descending)
            docs += same[max(low - begin, 0) : high - begin]
        return found.count, docs[:size]

    def _run_of_key(
        self,
        searcher: Any,
        query: tantivy.Query,
        fields: tuple[str, ...],
        tie: str,
        descending: bool,
        key: int,
        offset: int,
        size: int,
    ) -> list[Any]:
        """The records with first sort key ``key`` that fall on the page, in the order of
        the next keys, then of ``tie``."""
        field = fields[0]
        integer = tantivy.FieldType.Integer
        if descending:
            beyond = tantivy.Query.range_query(
                self._schema, field, integer, key, None, include_lower=False
            )
        else:
            beyond = tantivy.Query.range_query(
                self._schema, field, integer, None, key, include_upper=False
            )
        before = searcher.search(_all_of([query, beyond]), 1, count=True).count
        same = tantivy.Query.range_query(self._schema, field, integer, key, key)
        low = max(offset - before, 0)
        high = offset + size - before
        if high <= low:
            return []
        run = _all_of([query, same])
        if len(fields) > 1:
            return self._top_by_integer(
                searcher, run, low, high - low, fields[1:], tie, descending
            )[1]
        ascending, reverse = tantivy.Order.Asc, tantivy.Order.Desc
        if descending:
            ascending, reverse = reverse, ascending
        # tantivy reads offset + limit hits to order by a string field (~50 us each), so a
        # page past the middle of a long run is read from the run's other end.
        if low > FAR_INTO_RUN:
            length = searcher.search(run, 1, count=True).count
            high = min(high, length)
            if high <= low:
                return []
            if length - high < low:
                found = searcher.search(
                    run,
                    high - low,
                    count=False,
                    offset=length - high,
                    order_by_field=tie,
                    order=reverse,
                )
                return [searcher.doc(addr) for _, addr in reversed(found.hits)]
        found = searcher.search(
            run, high - low, count=False, offset=low, order_by_field=tie, order=ascending
        )
        return [searcher.doc(addr) for _, addr in found.hits]

    def _facets(
        self,
        searcher: Any,
        main: tantivy.Query,
        filters: dict[str, tantivy.Query],
        request: SearchQuery,
    ) -> dict[str, list[dict[str, Any]]]:
        """Disjunctive facets: a facet's counts ignore that facet's own filter (OR within)."""
        out: dict[str, list[dict[str, Any]]] = {}
        unselected = [name for name in FACETS if name not in filters]
        if unselected:
            everything = _all_of([main, *filters.values()])
            out.update(self._aggregate(searcher, everything, unselected))
        for name in filters:
            others = [q for other, q in filters.items() if other != name]
            base = _all_of([main, *others])
            buckets = self._aggregate(searcher, base, [name])[name]
            # filter values match case-insensitively: "dataset" selects the "Dataset" bucket
            seen = {b["key"].lower() for b in buckets}
            for value in request.filters[name]:
                if value.lower() not in seen:
                    count = searcher.search(
                        _all_of([base, self._filter(name, [value])]), 1, count=True
                    ).count
                    buckets.append({"key": value, "count": count})
                    seen.add(value.lower())
            out[name] = sorted_buckets(buckets)
        return {name: out[name] for name in FACETS}

    def _aggregate(
        self, searcher: Any, query: tantivy.Query, names: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        size = FACET_SIZE + FACET_SLACK
        spec = {
            name: {"terms": {"field": FACETS[name], "size": size, "segment_size": 200}}
            for name in names
        }
        result = searcher.aggregate(query, spec)
        return {
            name: sorted_buckets(
                [
                    {"key": _key(b["key"]), "count": int(b["doc_count"])}
                    for b in result.get(name, {}).get("buckets", [])
                ]
            )[:FACET_SIZE]
            for name in names
        }

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None and not self._stale:
            writer.rollback()
            writer.wait_merging_threads()
        self._index = None


def _all_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _offset(query: SearchQuery) -> int:
    if query.after is None:
        return query.offset
    if (
        len(query.after) == 2
        and query.after[0] == "offset"
        and isinstance(query.after[1], int)
        and query.after[1] >= 0
    ):
        return query.after[1]
    raise QuerySyntaxError("this cursor does not belong to this search backend")


def _key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    return str(key)


def _nesting(q: str) -> int:
    depth = deepest = 0
    for char in q:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(depth - 1, 0)
    return deepest
