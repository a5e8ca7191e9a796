"""The indexer: follows the store's change log into a search index.

Whoever runs it (the child process of ``serve`` and of ``harvest``, ``catalogue indexer``,
the catch-up at the end of ``catalogue harvest``) does the same thing: apply the change log
from the seq recorded with the index. Applying is idempotent (a record is re-read from the
store and replaced in the index), so replaying changes after a crash is harmless.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Protocol

from catalogue.config import Settings
from catalogue.runtime import tune_gc
from catalogue.search.base import IndexLocked, SearchIndex, SearchUnavailable
from catalogue.search.documents import to_document
from catalogue.store import Store
from catalogue.store.ports import ChangeFeed

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
# How long a harvest waits for its indexer process to apply the rest of the log.
CHILD_TIMEOUT = 3600

# Changes applied per index commit: a tantivy commit costs about as much as indexing a
# thousand documents, so committing every 5,000 rather than 1,000 changes pays off.
BATCH = 5000
# Records read, converted and handed to the index at a time within a batch: keeps memory
# flat and the parsed records short-lived (cheap for Python's garbage collector).
CHUNK = 500
# While every catch-up finds new changes (a stream of deposits), the indexer waits up to
# this many times its interval between catch-ups: each commit makes a segment that tantivy
# merges again and again, and in `catalogue serve` the indexing shares the GIL with the
# requests. Measured on a 5,000-record index, store writes included: committing every 100
# changes cost ~1.05 ms of CPU per change, every 400 ~0.5 ms (8 clients depositing single
# records make ~100 changes per 0.5 s). A change under such load becomes searchable
# within interval * BUSY_STRETCH; an idle indexer answers the next one within its interval.
BUSY_STRETCH = 4
# Seconds between attempts to open a search cluster that cannot be reached (down, or still
# starting: a compose deployment starts the catalogue beside it).
RETRY_UNREACHABLE = 5.0
# How often a standby indexer tries to take an index another indexer holds, in seconds.
STANDBY_POLL = 1.0


class StopFlag(Protocol):
    """What says an indexer should stop (a ``threading.Event``, a parent's pipe)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


class Indexer:
    """Applies store changes to one writable index."""

    _stop: StopFlag | None = None  # run_forever's: a catch-up stops within a chunk

    def __init__(self, store: ChangeFeed, index: SearchIndex) -> None:
        self.store = store
        self.index = index

    def apply(self, batch: int = BATCH, stop: StopFlag | None = None) -> int:
        """Apply up to ``batch`` changes after the index checkpoint; returns how many.

        When ``stop`` is set half-way (SIGTERM to a long catch-up: a batch takes seconds),
        the records done so far are committed, with the checkpoint just before the first
        change of a record not yet done, and the rest is left for the next start.
        """
        changes = self.store.changes_since(self.index.checkpoint(), batch)
        if not changes:
            return 0
        ids = list(dict.fromkeys(change.record_id for change in changes))
        done = len(changes)
        for start in range(0, len(ids), CHUNK):
            if start and stop is not None and stop.is_set():
                # ids are in the order of their first change: every change before the
                # first one of ids[start] is of a record done (at its current state).
                left = ids[start]
                done = next(i for i, change in enumerate(changes) if change.record_id == left)
                break
            self._apply_records(ids[start : start + CHUNK])
        self.index.commit(changes[done - 1].seq)
        log.debug("indexed %d changes up to seq %d", done, changes[done - 1].seq)
        return done

    def catch_up(self, batch: int = BATCH, stop: StopFlag | None = None) -> int:
        """Apply changes until the index has reached the end of the change log, or until
        ``stop`` (by default :meth:`run_forever`'s) is set (then within a chunk of records:
        see :meth:`apply`).

        A batch shorter than ``batch`` reached the end of the log as it was read: changes
        written since wait for the next catch-up instead of a commit of their own. While a
        harvest writes a page every few hundred records, asking again at once committed
        every page or two (~1,000 changes); a commit per catch-up cut the indexer's CPU by
        about a third (measured: 163 vs 112 ms per 1,000 records at 1,000 vs 5,000 per
        commit).
        """
        stop = stop if stop is not None else self._stop
        if self.index.needs_rebuild():
            # after an upgrade that changed the index's schema: searches answer 503 ("being
            # rebuilt") until the rebuild commits, then see every record
            log.warning("the search index was built with another schema; rebuilding it")
            return self.rebuild(batch)
        total = 0
        while not (stop is not None and stop.is_set()) and (applied := self.apply(batch, stop)):
            total += applied
            if applied < batch:
                break
        return total

    def rebuild(self, batch: int = 1000) -> int:
        """Re-index every live record from the store; returns the number of documents.

        The store's last seq is read first: changes that race the rebuild come after it and
        are applied by the closing catch-up (re-applying one the scan already saw is harmless).
        """
        seq = self.store.last_seq()
        self.index.clear()
        indexed = 0
        page = []
        for record in self.store.iter_records(batch=batch):
            page.append(record)
            if len(page) >= min(batch, CHUNK):
                indexed += self._upsert(page)
                page = []
        indexed += self._upsert(page)
        self.index.commit(seq)
        log.info("rebuilt search index: %d documents, checkpoint %d", indexed, seq)
        self.catch_up(batch)
        return indexed

    def run_forever(self, stop: StopFlag, interval: float) -> None:
        """Catch up every ``interval`` seconds until ``stop`` is set (a thread's target);
        under a steady stream of changes, up to ``interval * BUSY_STRETCH`` apart.

        Errors are logged and retried with exponential backoff; the loop never dies.
        """
        failures = 0
        wait = interval
        self._stop = stop  # a long catch-up (SIGTERM mid-log) stops within a chunk
        try:
            while not stop.is_set():
                try:
                    applied = self.catch_up()
                except SearchUnavailable as exc:  # a cluster down: one line, no traceback
                    failures += 1
                    log.warning("indexer: %s (attempt %d); retrying", exc, failures)
                except Exception:
                    failures += 1
                    log.exception("indexer failed (attempt %d); retrying", failures)
                else:
                    failures = 0
                    if applied:
                        log.info("indexed %d changes", applied)
                    wait = min(wait * 2, interval * BUSY_STRETCH) if applied else interval
                delay = min(interval * 2**failures, MAX_BACKOFF) if failures else wait
                stop.wait(delay)
        finally:
            self._stop = None  # a catch-up after the loop (serve's child) goes to the end

    def _apply_records(self, ids: list[str]) -> None:
        """Bring the documents of these records up to date (not yet committed)."""
        records = self.store.get_records(ids)
        live = [records[rid] for rid in ids if rid in records and not records[rid].deleted]
        gone = [rid for rid in ids if rid not in records or records[rid].deleted]
        if gone:
            self.index.delete(gone)
        self._upsert(live)

    def _upsert(self, records: list[Any]) -> int:
        docs = self._documents(records)
        if docs:
            self.index.upsert(docs)
        return len(docs)

    def _documents(self, records: list[Any]) -> list[dict[str, Any]]:
        docs = []
        for record in records:
            try:
                docs.append(to_document(record))
            except Exception:
                # one malformed record must not stop the index for everyone else
                log.exception("cannot build search document for record %s", record.id)
        return docs


def open_index(settings: Settings, *, writer: bool, **client_options: Any) -> SearchIndex:
    """The configured search backend: the embedded tantivy index, or the Elasticsearch or
    OpenSearch cluster that ``search_url`` names (its writer lease and checkpoint are kept
    in the catalogue database). ``client_options`` go to the cluster client as they are."""
    if settings.search_url:
        from catalogue.search.cluster import ClusterIndex, ClusterSettings
        from catalogue.store import create_store_engine
        from catalogue.store.search_state import SearchState

        cfg = ClusterSettings.from_settings(settings.search_url, settings.search, **client_options)
        state = SearchState(create_store_engine(settings.database_url, pool_size=2))
        return ClusterIndex(cfg, writer=writer, state=state)
    from catalogue.search.embedded import TantivyIndex

    return TantivyIndex(settings.index_dir, writer=writer)


def writer_is_free(settings: Settings) -> bool:
    """Whether no other process holds the index's writer lock right now (a search cluster
    that cannot be reached has its lease free: an indexer started now waits for it)."""
    try:
        open_index(settings, writer=True).close()
    except IndexLocked:
        return False
    except SearchUnavailable:
        return True
    return True


def wait_for_writer(
    settings: Settings, stop: StopFlag, *, standby: bool = False, say: Callable[[str], None]
) -> SearchIndex | None:
    """The index's writer, or None when ``stop`` is set first.

    A search cluster that cannot be reached is tried again every ``RETRY_UNREACHABLE``
    seconds: a long-running indexer waits for it rather than dying. An index another
    indexer holds raises ``IndexLocked``, or with ``standby`` is tried again every
    ``STANDBY_POLL`` seconds until that indexer lets go. ``say`` hears each kind of wait
    once, and "taken over" after a standby.
    """
    said: set[type[Exception]] = set()
    while True:
        try:
            index = open_index(settings, writer=True)
        except IndexLocked:
            if not standby:
                raise
            kind, message, pause = IndexLocked, "held by another indexer; standing by", STANDBY_POLL
        except SearchUnavailable as exc:
            kind, pause = SearchUnavailable, RETRY_UNREACHABLE
            message = f"{exc}; trying again every {RETRY_UNREACHABLE:g} s"
        else:
            if said:
                how = "taken over" if IndexLocked in said else "reached"
                say(f"{how}; following the change log")
            return index
        if kind not in said:
            said.add(kind)
            say(message)
        if stop.wait(pause):
            return None


def catch_up_if_free(store: Store, settings: Settings) -> int | None:
    """Catch the index up unless another process holds the writer, or the search cluster
    cannot be reached (then None: the changes wait in the change log for the indexer)."""
    try:
        index = open_index(settings, writer=True)
    except IndexLocked:
        log.info("search index is being written by another process; not catching up")
        return None
    except SearchUnavailable as exc:
        log.warning("%s: the index catches up when an indexer next reaches it", exc)
        return None
    try:
        return Indexer(store, index).catch_up()
    finally:
        index.close()


class _UntilParentGone:
    """A stop event that is also set once the parent process is gone: a child indexer of a
    killed ``catalogue serve`` must not live on, holding the index's writer lock.

    The parent says stop by writing to (or closing) a pipe, not with a multiprocessing
    Event: an Event is a named semaphore, which a parent killed with SIGKILL leaks. A dead
    parent's end of the pipe closes by itself, so the child sees that at once too.
    """

    POLL = 1.0

    def __init__(self, stop: Any, parent: int) -> None:
        self.stop = stop  # the reading end of the parent's pipe
        self.parent = parent
        self.terminated = False  # SIGTERM to this process

    def is_set(self) -> bool:
        return self.terminated or self.stop.poll() or os.getppid() != self.parent

    def wait(self, timeout: float) -> bool:
        while timeout > 0 and not self.is_set():
            self.stop.poll(min(timeout, self.POLL))
            timeout -= self.POLL
        return self.is_set()


def _indexer_process(settings: Settings, stop: Any, parent: int, standby: bool) -> None:
    # Ctrl-C reaches the whole process group: the parent stops this child through the pipe,
    # once the changes it wrote are in the log, so the child applies them all first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    until = _UntilParentGone(stop, parent)

    def terminated(*_: object) -> None:
        # A service manager stops the whole group with SIGTERM: end as the pipe says, and
        # release the index (a search cluster's lease, left held, kept the next serve's
        # indexer out for its whole term).
        until.terminated = True

    signal.signal(signal.SIGTERM, terminated)
    tune_gc()
    store = Store(settings.database_url)
    try:
        index = wait_for_writer(
            settings, until, standby=standby, say=lambda said: log.warning("index: %s", said)
        )
    except IndexLocked:
        index = None  # another indexer (e.g. `catalogue serve`) follows the log already
    if index is None:
        store.dispose()
        return
    try:
        indexer = Indexer(store, index)
        indexer.run_forever(until, settings.search.indexer_interval)
        indexer.catch_up()
    finally:
        index.close()
        store.dispose()


@contextmanager
def indexing_alongside(settings: Settings, *, standby: bool = False) -> Iterator[None]:
    """Run an indexer in a child process while the body writes to the store.

    A harvest is one busy Python thread, and so is a web server under load; the indexer in
    the same process would compete for the GIL, in a child process it uses the second core
    (measured for ``serve``: 8 clients depositing single records, p95 latency ~10% lower).
    The child takes the writer lock only if it is free (with ``standby``, as soon as it is:
    ``serve`` takes over from an indexer that stops, or from a dead one's lease once it
    lapses), applies the change log to its end before the context exits, and exits by
    itself if this process dies.
    """
    ctx = multiprocessing.get_context("spawn")
    stop_reader, stop = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_indexer_process,
        args=(settings, stop_reader, os.getpid(), standby),
        name="indexer",
    )
    child.start()
    stop_reader.close()
    try:
        yield
    finally:
        with suppress(OSError):  # a child that found the index taken has gone already
            stop.send(True)
        stop.close()
        child.join(CHILD_TIMEOUT)
        if child.is_alive():
            log.error("indexer process still busy after %d s; stopping it", CHILD_TIMEOUT)
            child.kill()  # it would finish its catch-up on SIGTERM
            child.join()
        if child.exitcode:
            # The caller catches the index up itself afterwards; nothing is lost, but say so.
            log.error("indexer process failed (exit code %s)", child.exitcode)
