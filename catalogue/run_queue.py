"""The worker that starts queued runs ("harvest now" of the admin API and pages).

Every ``serve`` process runs one, and so does every scheduler: a queued run starts within a
second or so wherever it was asked for. Which worker runs it is decided by the source's lease
and the run row's queued -> running swap (:mod:`catalogue.harvesting`), so any number of
workers may poll the same database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from catalogue.config import Settings
from catalogue.harvesting import QueuedRunTaken, RunListener, run_harvest
from catalogue.store import HarvestRun, SourceHeld, SourceNotFound, Store
from harvester.stop import Stopped

log = logging.getLogger(__name__)


class QueueWorker(threading.Thread):
    """Polls for queued runs and runs each (a few at once, one per source)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        listeners: Iterable[RunListener] = (),
    ) -> None:
        super().__init__(name="run-queue", daemon=True)
        section = settings.scheduler
        self.store, self.settings = store, settings
        self.listeners = tuple(listeners)
        self.poll = section.queue_poll_seconds
        self.pool = ThreadPoolExecutor(section.workers, "queued-run")
        self.busy: set[str] = set()
        self.lock = threading.Lock()
        self.woken = threading.Event()
        self.stopped = threading.Event()

    def wake(self) -> None:
        """Look at the queue now (a run was just queued in this process)."""
        self.woken.set()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.dispatch()
            except Exception:  # noqa: BLE001 - a database hiccup: try again at the next poll
                log.warning("run queue: poll failed", exc_info=True)
            self.woken.wait(self.poll)
            self.woken.clear()

    def dispatch(self) -> None:
        for queued in self.store.queued_runs():
            with self.lock:
                if queued.source in self.busy:
                    continue
                self.busy.add(queued.source)
            self.pool.submit(self._run, queued)

    def _run(self, queued: HarvestRun) -> None:
        try:
            run_harvest(
                self.store,
                queued.source,
                self.settings,
                full=queued.mode == "full",
                purpose="queued",
                queued_run=queued.id,
                listeners=self.listeners,
            )
        except (SourceHeld, QueuedRunTaken, SourceNotFound):
            pass  # another worker's turn, or already done, or the source is gone (run failed)
        except Stopped:  # SIGTERM: the run is recorded as interrupted, its lease released
            log.info("queued run %d of %s interrupted: the process is stopping", queued.id,
                     queued.source)  # fmt: skip
        except Exception:  # noqa: BLE001 - logged; the run row says failed
            log.exception("queued run %d of %s crashed", queued.id, queued.source)
        finally:
            with self.lock:
                self.busy.discard(queued.source)

    def stop(self, wait: bool = True) -> None:
        self.stopped.set()
        self.woken.set()
        self.pool.shutdown(wait=wait, cancel_futures=True)
