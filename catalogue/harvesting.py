"""The one way the catalogue runs a harvest: claim the source's lease, heartbeat, harvest,
release. `catalogue harvest`, the scheduler and the admin API's queued runs all come here,
so two runs of one source never overlap, whoever starts them.

The harvester knows nothing of leases (it never imports the catalogue): the run writes into
a :class:`LeasedSink`, the store seen through the lease, which names the run on the lease
(so a dead holder's run can be marked interrupted), keeps the run's counts so far on its
row, and refuses further writes once the lease was lost (the holder stalled past its expiry
and another run took the source over).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from catalogue.config import Settings
from catalogue.shutdown import Terminated, stopping
from catalogue.store import (
    HarvestRun,
    IncomingRecord,
    Lease,
    LeaseLost,
    Outcome,
    RunCounts,
    RunError,
    SourceHeld,
    SourceNotFound,
    Store,
)
from harvester.harvest import harvest_source
from harvester.runs import Progress

log = logging.getLogger(__name__)

__all__ = [
    "LeasedSink",
    "QueuedRunTaken",
    "SourceHeld",
    "lease_seconds",
    "run_harvest",
    "run_queued",
]

RunListener = Callable[[HarvestRun], None]


def lease_seconds(settings: Settings) -> float:
    """The lease time of a run ([scheduler] lease_seconds): a dead holder on another host
    blocks its sources this long; a live one renews every third of it."""
    return settings.scheduler.lease_seconds


class QueuedRunTaken(Exception):
    """The queued run was begun (or finished) by another worker meanwhile."""


class LeasedSink:
    """The store as a run's :class:`harvester.sink.RunSink`, under the source's lease."""

    def __init__(self, store: Store, lease: Lease, queued_run: int | None = None) -> None:
        self._store = store
        self.lease = lease
        self.queued_run = queued_run
        self.run_id: int | None = None
        self.counts = RunCounts()
        self.lost = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def start_run(self, source: str, mode: str, from_date: datetime | None = None) -> int:
        if self.queued_run is not None:  # begun by run_harvest
            run_id = self.queued_run
            self._store.set_run_window(run_id, mode, from_date)
        else:
            run_id = self._store.start_run(source, mode, from_date)
        self.run_id = run_id
        if not self._store.attach_run(self.lease, run_id):
            self.lost.set()
        return run_id

    def upsert_page(
        self,
        source: str,
        items: Iterable[IncomingRecord],
        *,
        actor: str | None = None,
        errors: list[RunError] | None = None,
    ) -> list[tuple[str, Outcome]]:
        if stopping():  # SIGTERM: the run ends before this page, recorded as interrupted
            raise Terminated("the process is stopping")
        if self.lost.is_set():
            raise LeaseLost(f"the lease of source {source!r} was taken over; run stopped")
        result = self._store.upsert_page(source, items, actor=actor, errors=errors)
        for _rid, outcome in result:
            self.counts.add(outcome)
        for error in errors or ():
            if error.severity == "error" and error.stage == "map":
                self.counts.failed += 1
            elif error.severity == "warning":
                self.counts.warnings += 1
        return result

    def save_checkpoint(self, source: str, run_id: int, state: dict[str, Any]) -> None:
        # A stalled holder must not move the checkpoint of the run that took over.
        if self.lost.is_set():
            raise LeaseLost(f"the lease of source {source!r} was taken over; run stopped")
        self._store.save_checkpoint(source, run_id, state)

    def mark_deleted(self, source: str, source_ids: Iterable[str]) -> int:
        if self.lost.is_set():
            raise LeaseLost(f"the lease of source {source!r} was taken over; run stopped")
        return self._store.mark_deleted(source, source_ids)


PROGRESS_SECONDS = 2.0
"""How often a running run's counts so far are saved on its row (when they changed)."""


class Heartbeat(threading.Thread):
    """Renews the lease every third of its time; saves the run's counts so far every
    :data:`PROGRESS_SECONDS` (the admin API and pages show them while it runs)."""

    def __init__(self, store: Store, sink: LeasedSink, ttl: float) -> None:
        super().__init__(name=f"lease-{sink.lease.source}", daemon=True)
        self.store, self.sink, self.ttl = store, sink, ttl
        self.stopped = threading.Event()

    def run(self) -> None:
        renew_every = max(0.2, self.ttl / 3)
        tick = min(renew_every, PROGRESS_SECONDS)
        renewed = time.monotonic()
        saved: RunCounts | None = None
        while not self.stopped.wait(tick):
            try:
                if time.monotonic() - renewed >= renew_every - tick / 2:
                    if not self.store.renew_lease(self.sink.lease, ttl=self.ttl):
                        log.error("source %s: lease lost; the run stops", self.sink.lease.source)
                        self.sink.lost.set()
                        return
                    renewed = time.monotonic()
                counts = RunCounts(**vars(self.sink.counts))
                if self.sink.run_id is not None and counts != saved:
                    self.store.record_progress(self.sink.run_id, counts)
                    saved = counts
            except Exception:  # noqa: BLE001 - a database hiccup: try again next beat
                log.warning("source %s: heartbeat failed", self.sink.lease.source, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def run_harvest(
    store: Store,
    key: str,
    settings: Settings,
    *,
    full: bool = False,
    progress: Progress | None = None,
    purpose: str = "harvest",
    queued_run: int | None = None,
    listeners: Iterable[RunListener] = (),
) -> HarvestRun:
    """Harvest source ``key`` under its lease and return the finished run.

    Raises :class:`SourceHeld` when another live run holds the source, ``SourceNotFound``
    when there is no such source. ``queued_run`` is a run row queued by the admin API that
    this run becomes. ``listeners`` hear of the finished run (failure notices).
    """
    ttl = lease_seconds(settings)
    lease = store.claim_lease(key, ttl=ttl, purpose=purpose)
    if queued_run is not None and not store.begin_queued_run(queued_run):
        store.release_lease(lease)
        raise QueuedRunTaken(queued_run)
    sink = LeasedSink(store, lease, queued_run)
    beat = Heartbeat(store, sink, ttl)
    beat.start()
    try:
        run = harvest_source(sink, key, settings.harvest, full=full, progress=progress)
    except BaseException as exc:
        if queued_run is not None and sink.run_id is None:  # failed before the run began
            message = "source removed" if isinstance(exc, SourceNotFound) else str(exc)
            store.finish_run(queued_run, "failed", RunCounts(), message=message[:500])
        raise
    finally:
        beat.stop()
        store.release_lease(lease)
    for listener in listeners:
        try:
            listener(run)
        except Exception:  # noqa: BLE001 - a notice that fails must not fail the run
            log.exception("source %s: run listener failed", key)
    return run


def run_queued(
    store: Store,
    settings: Settings,
    *,
    listeners: Iterable[RunListener] = (),
    stop: threading.Event | None = None,
) -> list[HarvestRun]:
    """Run every queued run whose source is free (one at a time); the runs finished.

    Any process may call it (``serve``'s worker, a scheduler): the source's lease and the
    queued -> running swap decide who runs each.
    """
    done: list[HarvestRun] = []
    for queued in store.queued_runs():
        if stop is not None and stop.is_set():
            break
        try:
            run = run_harvest(
                store,
                queued.source,
                settings,
                full=queued.mode == "full",
                purpose="queued",
                queued_run=queued.id,
                listeners=listeners,
            )
        except (SourceHeld, QueuedRunTaken):
            continue  # its turn comes when the running one ends, or it is done
        except SourceNotFound:
            continue  # marked failed by run_harvest
        done.append(run)
    return done
