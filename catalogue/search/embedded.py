"""The embedded search backend: a tantivy index in a local directory.

One writer per directory (tantivy's lock file enforces it across processes); any number
of readers, which see a commit after ``reload()`` or, automatically, within about half a
second (tantivy watches ``meta.json``). Next to tantivy's own files the index keeps
``catalogue-index.json``: the schema version (``tantivy_schema.py``) and the change-log seq
that the last commit reached, written only after tantivy's commit (so a crash replays changes,
it never skips them).
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

from catalogue.search.base import (
    FACET_SIZE,
    FACETS,
    IndexLocked,
    QuerySyntaxError,
    SchemaMismatch,
    SearchError,
    SearchQuery,
    SearchResult,
)
from catalogue.search.tantivy_query import QueryBuilder
from catalogue.search.tantivy_schema import SCHEMA_VERSION, build_schema, tantivy_document

log = logging.getLogger(__name__)

META_FILE = "catalogue-index.json"

# Guards against inputs that crash or stall tantivy's recursive query parser.
MAX_QUERY_LENGTH = 1000
MAX_QUERY_NESTING = 16
# tantivy allocates for page + offset up front; the API's max_result_window is far below this.
MAX_WINDOW = 1_000_000

# sort name -> (fast field, order); None = relevance
_SORTS: dict[str, tuple[str, tantivy.Order] | None] = {
    "relevance": None,
    "newest": ("sort_newest", tantivy.Order.Desc),
    "oldest": ("sort_oldest", tantivy.Order.Asc),
    "title": ("title_sort", tantivy.Order.Asc),
    "-title": ("title_sort", tantivy.Order.Desc),
    "updated": ("datestamp", tantivy.Order.Desc),
}


class TantivyIndex:
    """A :class:`~catalogue.search.base.SearchIndex` over a tantivy directory.

    ``writer=True`` takes the directory's writer lock (``IndexLocked`` if another writer
    holds it). A reader of a directory with no index yet behaves as an empty index until
    a writer creates one. An index built with another schema raises ``SchemaMismatch``
    (for a writer: on first use, so that ``clear()`` can still wipe and recreate it).
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
            self._index = self._open_existing()

    def _open_writer(self) -> None:
        if not self._exists():
            # meta first: a reader that sees tantivy's files must also see the schema version
            self._write_meta(0)
            self._index = tantivy.Index(self._schema, path=str(self.path))
            self._writer = self._take_writer(self._index)
            return
        try:
            self._index = self._open_existing()
        except SchemaMismatch as exc:
            self._stale = str(exc)
            self._hold_stale_lock()
            return
        self._writer = self._take_writer(self._index)
        self._checkpoint = self._read_checkpoint()

    def _exists(self) -> bool:
        return (self.path / "meta.json").exists()

    def _open_existing(self) -> tantivy.Index:
        meta = self._read_meta()
        found = meta.get("schema_version") if meta else None
        if found != SCHEMA_VERSION:
            raise self._mismatch(f"schema version {found}, expected {SCHEMA_VERSION}")
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
            "rebuild it with `catalogue reindex`"
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

    def _write_meta(self, checkpoint: int) -> None:
        data = json.dumps({"schema_version": SCHEMA_VERSION, "checkpoint": checkpoint})
        tmp = self.path / (META_FILE + ".tmp")
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
        self._checkpoint = checkpoint
        self._index.reload()

    def checkpoint(self) -> int:
        if self.is_writer:
            return 0 if self._stale else self._checkpoint
        return self._read_checkpoint() if self._index is not None else 0

    def clear(self) -> None:
        """Drop all documents at the next commit; a stale index is wiped and recreated now."""
        if self._stale:
            self._writer = None  # releases the old lock
            self._wipe()
            self._stale = None
            self._open_writer()
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
        if self._stale:
            raise SchemaMismatch(self._stale)
        self._refresh()
        return self._index.searcher().num_docs if self._index is not None else 0

    def search(self, query: SearchQuery) -> SearchResult:
        if self._stale:
            raise SchemaMismatch(self._stale)
        self._refresh()
        if self._index is None:
            return SearchResult(0, [], {})
        if query.offset + query.size > MAX_WINDOW:
            raise SearchError(f"cannot page beyond {MAX_WINDOW} hits")
        searcher = self._index.searcher()
        main = self._parse(query.q)
        filters = {name: self._filter(name, values) for name, values in query.filters.items()}
        combined = _all_of([main, *filters.values()])
        try:
            found = self._top(searcher, combined, query)
        except ValueError as exc:
            raise QuerySyntaxError(f"cannot run query: {exc}") from exc
        addresses = [addr for _, addr in found.hits] if query.size else []
        hits = [json.loads(searcher.doc(addr).get_first("record")) for addr in addresses]
        aggregations = self._facets(searcher, main, filters, query) if query.facets else {}
        return SearchResult(found.count, hits, aggregations)

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

    def _top(self, searcher: Any, query: tantivy.Query, request: SearchQuery) -> Any:
        # tantivy panics on limit 0; a size-0 request still wants the total
        limit = max(request.size, 1)
        sort = _SORTS[request.sort]
        if sort is None:
            return searcher.search(query, limit, count=True, offset=request.offset)
        field, order = sort
        return searcher.search(
            query, limit, count=True, offset=request.offset, order_by_field=field, order=order
        )

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
            buckets.sort(key=lambda b: -b["count"])
            out[name] = buckets
        return {name: out[name] for name in FACETS}

    def _aggregate(
        self, searcher: Any, query: tantivy.Query, names: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        spec = {
            name: {"terms": {"field": FACETS[name], "size": FACET_SIZE, "segment_size": 200}}
            for name in names
        }
        result = searcher.aggregate(query, spec)
        return {
            name: [
                {"key": _key(b["key"]), "count": int(b["doc_count"])}
                for b in result.get(name, {}).get("buckets", [])
            ]
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
