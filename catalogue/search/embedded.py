"""The embedded search backend: a tantivy index in a local directory.

One writer per directory (tantivy's lock file enforces it across processes); any number
of readers, which see a commit after ``reload()`` or, automatically, within about half a
second (tantivy watches ``meta.json``). Next to tantivy's own files the index keeps
``catalogue-index.json``: the schema version (``tantivy_schema.py``) and the change-log seq
that the last commit reached, written only after tantivy's commit (so a crash replays changes,
it never skips them).

Just past 400 lines because one class owns the directory's whole life cycle (lock, schema
check and rebuild mark, writing, reading, facets); the sort orders live in
``tantivy_pages.py``, the query translation in ``tantivy_query.py`` and the highlighting
in ``highlight.py``.
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
from catalogue.search.beside import beside
from catalogue.search.highlight import highlights
from catalogue.search.tantivy_pages import PageReader
from catalogue.search.tantivy_query import QueryBuilder, all_of
from catalogue.search.tantivy_schema import SCHEMA_VERSION, build_schema, tantivy_document

log = logging.getLogger(__name__)

META_FILE = "catalogue-index.json"

# tantivy allocates for page + offset up front; the API's max_result_window is far below this.
MAX_WINDOW = 1_000_000

# Facet buckets asked of tantivy beyond the FACET_SIZE returned: its order among equal
# counts is not by key, so the slack lets ties at the cut be settled as the cluster does.
FACET_SLACK = 20
# Buckets each segment hands to the merge. tantivy counts a facet per segment and merges
# each segment's top ``segment_size``: a value spread over segments but in none of their
# tops was missed (the demo's subject "prostate cancer", 3 records, lost its place to a
# value of 2). Past the facet's distinct values per segment the counts are exact. Measured
# on 60,000 records, 10 segments, ~25,000 distinct subjects, 8 facets over all records:
# 7.8 ms with 200, 9.5-11 ms with 5,000 to 1,000,000.
FACET_SEGMENT_SIZE = 1_000_000


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
        combined = all_of([main, *filters.values()])
        # the facets are counted on another thread while this one reads and marks the page
        facets = beside(self._facets, searcher, main, filters, query) if query.facets else None
        try:
            total, docs = PageReader(searcher, self._schema).top(combined, query, offset)
        except ValueError as exc:
            raise QuerySyntaxError(f"cannot run query: {exc}") from exc
        hits = [fastjson.loads(doc.get_first("record")) for doc in docs]
        more = query.size and offset + len(hits) < total
        cursor = ("offset", offset + len(hits)) if more else None
        marked = highlights(hits, query.q) if hits else {}
        aggregations = facets.result() if facets is not None else {}
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
            everything = all_of([main, *filters.values()])
            out.update(self._aggregate(searcher, everything, unselected))
        for name in filters:
            others = [q for other, q in filters.items() if other != name]
            base = all_of([main, *others])
            buckets = self._aggregate(searcher, base, [name])[name]
            # filter values match case-insensitively: "dataset" selects the "Dataset" bucket
            seen = {b["key"].lower() for b in buckets}
            for value in request.filters[name]:
                if value.lower() not in seen:
                    count = searcher.search(
                        all_of([base, self._filter(name, [value])]), 1, count=True
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
            name: {
                "terms": {"field": FACETS[name], "size": size, "segment_size": FACET_SEGMENT_SIZE}
            }
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
