"""The harvest scheduler: APScheduler 3 with its SQLAlchemy job store in the catalogue
database, one job per source with a schedule (:mod:`catalogue.schedules`).

Any number of scheduler processes may run (``catalogue scheduler``, ``catalogue serve
--with-scheduler``): they share the job store, and each run takes its source's lease
(:mod:`catalogue.harvesting`), so when two schedulers fire the same job at once one runs and
the other skips it. The sources table is the truth about schedules: every scheduler re-reads
it every ``sync_seconds`` and adds, changes or removes jobs to match (an edit by the CLI or
the admin API needs no scheduler to be told). Misfires coalesce into one run; jitter spreads
sources with the same schedule. Each scheduler also runs the queued runs
(:class:`catalogue.run_queue.QueueWorker`), marks dead holders' runs interrupted, and prunes
old runs (retention).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from catalogue.config import Settings
from catalogue.harvesting import RunListener, run_harvest
from catalogue.run_queue import QueueWorker
from catalogue.schedules import trigger_for
from catalogue.shutdown import stopping
from catalogue.store import SourceHeld, SourceNotFound, Store
from catalogue.tables import SchedulerJobRow
from harvester import clock
from harvester.stop import Stopped

log = logging.getLogger(__name__)

JOB_PREFIX = "harvest:"
JOBS_TABLE = SchedulerJobRow.__tablename__

# The scheduler of this process (jobs in the shared store name a module-level function,
# which finds its store and settings here).
_active: CatalogueScheduler | None = None


class _QuietSkips(logging.Filter):
    """A source's job that fires while its last run still runs is skipped: normal, not a
    warning (every scheduler would log it at each tick of a short interval)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


class SharedJobStore(SQLAlchemyJobStore):
    """The job store that every scheduler process shares. Another scheduler's sync may
    remove a job (its source lost its schedule, or went) between this scheduler reading the
    due jobs and writing their next run time; APScheduler then raises ``JobLookupError``
    in its main loop, which ends the loop's thread and with it all scheduling in this
    process. A job removed on purpose needs no update and no second removal."""

    def update_job(self, job: Any) -> None:
        try:
            super().update_job(job)
        except JobLookupError:
            log.debug("scheduler: job %s was removed by another scheduler", job.id)

    def remove_job(self, job_id: str) -> None:
        try:
            super().remove_job(job_id)
        except JobLookupError:
            log.debug("scheduler: job %s was removed by another scheduler", job_id)


logging.getLogger("apscheduler.scheduler").addFilter(_QuietSkips())
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)


class _Executor(ThreadPoolExecutor):
    """APScheduler's thread pool, which drops the jobs that come due while the scheduler
    shuts down: its loop may hand one over after the pool was shut down (a race with a job
    due every second), which APScheduler reports as an error with a traceback."""

    closing = False

    def submit_job(self, job, run_times) -> None:  # noqa: ANN001 - APScheduler's signature
        if self.closing:
            return
        super().submit_job(job, run_times)


def scheduled_harvest(key: str) -> None:
    """The job of source ``key`` (module-level, as the job store names it)."""
    if _active is None:
        log.error("scheduled run of %s, but no scheduler in this process", key)
        return
    _active.harvest(key)


class CatalogueScheduler:
    """A background scheduler over the catalogue database, with its queue worker."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        listeners: Iterable[RunListener] = (),
    ) -> None:
        section = settings.scheduler
        self.store, self.settings = store, settings
        self.listeners = tuple(listeners)
        self.jitter = section.jitter_seconds
        self.sync_seconds = section.sync_seconds
        self.keep_days = section.keep_runs_days
        self.keep_per_source = section.keep_runs_per_source
        workers = section.workers
        self.executor = _Executor(workers)
        self.scheduler = BackgroundScheduler(
            jobstores={
                "default": SharedJobStore(engine=store.engine, tablename=JOBS_TABLE),
                "local": MemoryJobStore(),
            },
            executors={"default": self.executor},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(section.misfire_grace_seconds) or None,
            },
            timezone=UTC,
        )
        self.queue = QueueWorker(store, settings, listeners=self.listeners)
        self.lock = threading.Lock()
        self.closed = False

    def start(self) -> None:
        global _active
        _active = self
        self.maintain()
        self.scheduler.start()
        self.sync()
        local = {"jobstore": "local", "coalesce": True, "max_instances": 1}
        self.scheduler.add_job(self.sync, "interval", seconds=self.sync_seconds, id="sync",
                               **local)  # fmt: skip
        self.scheduler.add_job(self.maintain, "interval", seconds=60, id="maintain", **local)
        self.queue.start()
        log.info("scheduler started")

    def shutdown(self, wait: bool = True) -> None:
        """Stop starting runs; with ``wait``, let the running ones finish (after a stop
        signal, :mod:`harvester.stop`, they end at their next wait)."""
        global _active
        self.executor.closing = True  # no job starts from now on
        if self.scheduler.running:
            self.scheduler.pause()
        self.queue.stop(wait=wait)
        with self.lock:  # a sync under way ends first; any later one does nothing
            self.closed = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if _active is self:
            _active = None

    def sync(self) -> None:
        """Make the job store's jobs match the sources' schedules."""
        with self.lock:
            if self.closed:
                # APScheduler's shutdown(wait=True) holds its job-store lock while it waits
                # for the running jobs: a sync reading the jobs then waited for it forever.
                return
            try:
                self._sync()
            except Exception:  # noqa: BLE001 - another scheduler changed it meanwhile
                log.warning("scheduler: sync failed; retrying at the next", exc_info=True)

    def _sync(self) -> None:
        wanted = {
            JOB_PREFIX + s.key: s for s in self.store.list_sources() if s.enabled and s.schedule
        }
        jobs = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        for job_id in jobs.keys() - wanted.keys():
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(job_id, jobstore="default")
        for job_id, source in wanted.items():
            job = jobs.get(job_id)
            if job is not None and job.name == source.schedule:
                continue
            self.scheduler.add_job(
                scheduled_harvest,
                trigger_for(source.schedule, self.jitter),
                args=[source.key],
                id=job_id,
                name=source.schedule,
                jobstore="default",
                replace_existing=True,
            )
            log.info("scheduler: source %s runs %s", source.key, source.schedule)

    def maintain(self) -> None:
        """Mark dead holders' runs interrupted; prune runs past retention."""
        try:
            self.store.reap_dead_runs()
            older = clock.utcnow() - timedelta(days=self.keep_days)
            pruned = self.store.prune_runs(older_than=older, keep_per_source=self.keep_per_source)
            if pruned:
                log.info("scheduler: pruned %d old runs", pruned)
        except Exception:  # noqa: BLE001 - try again next time
            log.warning("scheduler: maintenance failed", exc_info=True)

    def harvest(self, key: str) -> None:
        if stopping():
            return  # a job that fired as the process began to stop: no new run
        source = self.store.get_source(key)
        if source is None or not source.enabled or not source.schedule:
            return  # removed or paused since the job fired; the next sync drops the job
        try:
            run = run_harvest(
                self.store, key, self.settings, purpose="scheduler", listeners=self.listeners
            )
        except SourceHeld as exc:
            log.info("scheduler: %s skipped: %s", key, exc)
            return
        except SourceNotFound:
            return
        except Stopped:  # SIGTERM: the run is recorded as interrupted, its lease released
            log.info("scheduler: run of %s interrupted: the process is stopping", key)
            return
        except Exception:  # noqa: BLE001 - logged, the run row says failed; the job goes on
            log.exception("scheduler: run of %s crashed", key)
            return
        log.info("scheduler: %s %s (%s)", key, run.status, run.counts)


def next_runs(store: Store) -> dict[str, datetime]:
    """Source key -> its next scheduled run (naive UTC), as the job store has it (readable
    by any process, whether or not it runs a scheduler)."""
    table = SchedulerJobRow.__table__
    with store.engine.connect() as conn:
        rows = conn.execute(select(table.c.id, table.c.next_run_time)).all()
    return {
        job_id[len(JOB_PREFIX) :]: datetime.fromtimestamp(when, UTC).replace(tzinfo=None)
        for job_id, when in rows
        if job_id.startswith(JOB_PREFIX) and when is not None
    }
