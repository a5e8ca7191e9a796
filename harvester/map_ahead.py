"""Map the next page in a worker process while this one stores the current page.

Mapping is pure CPU (``mappings`` does no I/O) and about half of a harvest's time; storing
is most of the rest. Run in one process they take turns on one core. Here a worker
process maps page N+1 while the harvest process stores page N (and its fetch thread reads
page N+2), so a harvest uses both cores.

What crosses to the worker is each record's payload as the bytes the store keeps anyway;
the worker parses them with the same safe parser and maps them. The results are exactly
those of mapping in this process: a payload the worker cannot re-parse (in practice none),
a worker that dies, and small pages (not worth the round trip) are mapped here.
The worker starts at the first large page that has more pages after it, and ends with
the run.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

MIN_PAGE = 100
"""Records a page needs for its mapping to go to the worker."""
MIN_REMAINING = 1000
"""Records still to come for a worker to be started (when the source tells the total)."""
AHEAD_RECORDS = 1000
"""Records sent to the worker and not yet handed out, beyond which a page is waited for."""
WAIT_FOR_WORKER = False
"""Whether pages wait for the worker to start instead of being mapped here meanwhile
(tests set it, so that every page of a short harvest goes through the worker)."""

P = TypeVar("P")  # a page

LOCAL = "local"
"""A worker result meaning: map this record in the harvest process."""


class MapFailed(Exception):
    """A record whose mapping failed in the worker; ``reason`` is the error row's text,
    as the harvest process would have written it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def worker_result(mapped: Any, preparer: Any, raw: bytes | None) -> tuple[Any, Any, Any]:
    """A worker's result for a mapped record: (metadata, warnings, None), or with the
    sink's ``preparer``, (None, warnings, what it made of metadata and raw): the metadata
    then stays in the worker (a deep structure costs more to pickle than to map). When
    the preparer fails, the metadata goes as without one (the store then fails the same
    way itself)."""
    metadata, warnings = mapped
    if preparer is not None:
        try:
            return None, warnings, preparer(metadata or {}, raw)
        except Exception:  # noqa: BLE001 - left to the store, which reports it
            pass
    return metadata, warnings, None


def map_in_worker(
    mapper: Callable[[Any], Any],
    decode: Callable[[bytes | None], Any],
    raw: bytes | None,
    preparer: Any,
    undecodable: type[Exception] | tuple[type[Exception], ...] = Exception,
) -> Any:
    """One record's result in a mapping worker: ``LOCAL`` when ``decode(raw)`` raises
    ``undecodable`` (left to the harvest process), a :class:`MapFailed` with the error
    row's text when ``mapper`` fails, else :func:`worker_result`."""
    try:
        payload = decode(raw)
    except undecodable:
        return LOCAL
    try:
        mapped = mapper(payload)
    except Exception as exc:  # noqa: BLE001 - reported per record, as in the harvest process
        return MapFailed(f"{type(exc).__name__}: {exc}")
    return worker_result(mapped, preparer, raw)


def local_or_mapped(result: Any, map_here: Callable[[], Any]) -> tuple[Any, Any]:
    """(mapper, prepared) of a record from its worker ``result``: the worker's mapping, its
    failure re-raised, or ``map_here`` (LOCAL, or no worker)."""
    if isinstance(result, tuple):
        metadata, warnings, prepared = result
        return (lambda: (metadata, warnings)), prepared
    if isinstance(result, MapFailed):

        def failed() -> Any:
            raise result

        return failed, None
    return map_here, None


def _init_worker(thresholds: tuple[int, int, int]) -> None:
    # The worker collects garbage as seldom as the harvest process does (mapping allocates
    # many short-lived containers; see catalogue.runtime.tune_gc).
    gc.freeze()
    gc.set_threshold(*thresholds)


class MapAhead(Generic[P]):
    """Pages in, (page, worker results or None) out, each page's mapping started one page
    ahead. ``work(batch)`` runs in the worker (a module-level function: it is pickled by
    name); ``batch_of(page)`` is what to send it, or None to map the page here.
    ``total(page)``: the records of the whole list when the source says, else None.

    The worker starts at a page of at least :data:`MIN_PAGE` records when at least
    :data:`MIN_REMAINING` more are to come (or the total is unknown); until it has
    started (imports take a second), pages are mapped here, so nothing waits for it."""

    def __init__(
        self,
        work: Callable[[list[Any]], list[Any]],
        batch_of: Callable[[P], list[Any] | None],
        total: Callable[[P], int | None],
    ) -> None:
        self.work = work
        self.batch_of = batch_of
        self.total = total
        self.pool: ProcessPoolExecutor | None = None
        self.started: Future[list[Any]] | None = None
        self.seen = 0
        self.broken = False

    def __enter__(self) -> MapAhead[P]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _submit(self, page: P) -> tuple[Future[list[Any]] | None, int]:
        """The page's mapping in the worker (None: mapped here) and its records in flight."""
        batch = self.batch_of(page)
        if batch is None:
            return None, 0
        self.seen += len(batch)
        if self.broken or len(batch) < MIN_PAGE:
            return None, 0
        if self.pool is None:
            total = self.total(page)
            if total is not None and total - self.seen < MIN_REMAINING:
                return None, 0  # starting a process would cost more than it saves
            self._start(batch)
        assert self.started is not None
        if not self.started.done() and not WAIT_FOR_WORKER:
            return None, 0
        if isinstance(self.started.exception(), BrokenProcessPool):
            self._give_up(self.started.exception())
            return None, 0
        try:
            return self.pool.submit(self.work, batch), len(batch)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._give_up(exc)
            return None, 0

    def _start(self, batch: list[Any]) -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(gc.get_threshold(),),
        )
        # One record of the page: the worker imports what mapping it needs, meanwhile
        # pages are mapped here.
        first = [next((item for item in batch if item is not None), None)]
        self.started = self.pool.submit(self.work, first)

    def _result(self, future: Future[list[Any]] | None) -> list[Any] | None:
        if future is None:
            return None
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self._give_up(exc)
            return None

    def _give_up(self, exc: BaseException) -> None:
        log.warning("mapping worker unavailable (%s): mapping in the harvest process", exc)
        self.broken = True

    def __call__(self, pages: Iterator[P]) -> Iterator[tuple[P, list[Any] | None]]:
        # One page always goes to the worker ahead of the one handed out (stored while the
        # worker maps the next); more while the oldest is not mapped yet, up to
        # AHEAD_RECORDS records in flight: the harvest process stores in bursts (a REST run
        # writes every 1,000 records, ten pages of 100), and with one page ahead the worker
        # would sit idle through each write and the harvest process wait for it between.
        pending: deque[tuple[P, Future[list[Any]] | None, int]] = deque()
        in_flight = 0
        pages = iter(pages)
        more = True
        while True:
            while more and (
                len(pending) < 2 or (in_flight < AHEAD_RECORDS and not _ready(pending[0][1]))
            ):
                try:
                    page = next(pages)
                except StopIteration:
                    more = False
                    break
                except Exception:
                    # The next page failed: the pages already read are still stored first,
                    # as they were before mapping went ahead.
                    while pending:
                        page, future, _ = pending.popleft()
                        yield page, self._result(future)
                    raise
                future, size = self._submit(page)
                pending.append((page, future, size))
                in_flight += size
            if not pending:
                return
            page, future, size = pending.popleft()
            in_flight -= size
            yield page, self._result(future)


def _ready(future: Future[list[Any]] | None) -> bool:
    """Whether a page can be handed out without waiting: mapped here, or by the worker."""
    return future is None or future.done()
