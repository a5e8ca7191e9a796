"""Harvest runs and their per-record error rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import DateTime, delete, func, insert, literal, or_, select, update

from catalogue.store.engine import StoreBase
from catalogue.store.rows import _run
from catalogue.store.types import HarvestRun, RunCounts, RunError
from catalogue.tables import HarvestErrorRow, HarvestRunRow, SourceRow
from harvester import clock
from harvester.messages import shorten

log = logging.getLogger(__name__)


class Runs(StoreBase):
    """The runs aggregate."""

    def start_run(self, source: str, mode: str, from_date: datetime | None = None) -> int:
        with self._session.begin() as s:
            row = HarvestRunRow(
                source=source,
                mode=mode,
                status="running",
                started_at=clock.utcnow(),
                from_date=from_date,
            )
            s.add(row)
            s.flush()
            return row.id

    def queue_run(self, source: str, mode: str) -> int:
        """A run asked for (admin API, "harvest now"): status "queued" until a worker that
        takes the source's lease starts it (:meth:`begin_queued_run`)."""
        with self._session.begin() as s:
            row = HarvestRunRow(
                source=source, mode=mode, status="queued", started_at=clock.utcnow()
            )
            s.add(row)
            s.flush()
            return row.id

    def queue_run_once(self, source: str, mode: str) -> int | None:
        """:meth:`queue_run` unless a run of ``source`` is queued already (then None): the
        check and the insert are one statement, under the source row's lock on PostgreSQL,
        so two "harvest now" at once queue one run (the admin API's check alone let three of
        eight concurrent requests through on PostgreSQL)."""
        table = HarvestRunRow.__table__
        queued = select(table.c.id).where(table.c.source == source, table.c.status == "queued")
        values = select(
            literal(source), literal(mode), literal("queued"), literal(clock.utcnow(), DateTime)
        ).where(~queued.exists())
        with self.engine.begin() as conn:
            if self.is_postgres:
                conn.execute(select(SourceRow.key).where(SourceRow.key == source).with_for_update())
            row = conn.execute(
                insert(table)
                .from_select(["source", "mode", "status", "started_at"], values)
                .returning(table.c.id)
            ).first()
        return None if row is None else row.id

    def queued_runs(self, limit: int = 100) -> list[HarvestRun]:
        """Queued runs, oldest first."""
        with self._session() as s:
            stmt = (
                select(HarvestRunRow)
                .where(HarvestRunRow.status == "queued")
                .order_by(HarvestRunRow.id)
                .limit(limit)
            )
            return [_run(r) for r in s.scalars(stmt)]

    def begin_queued_run(self, run_id: int) -> bool:
        """queued -> running (a compare-and-swap: False if another worker began it)."""
        table = HarvestRunRow.__table__
        with self.engine.begin() as conn:
            done = conn.execute(
                update(table)
                .where(table.c.id == run_id, table.c.status == "queued")
                .values(status="running", started_at=clock.utcnow())
            )
        return done.rowcount == 1

    def set_run_window(self, run_id: int, mode: str, from_date: datetime | None) -> None:
        """The mode and start of a begun queued run, once its harvest decided them."""
        table = HarvestRunRow.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(table).where(table.c.id == run_id).values(mode=mode, from_date=from_date)
            )

    def record_progress(self, run_id: int, counts: RunCounts) -> None:
        """The counts so far of a running run (its final counts come with finish_run)."""
        table = HarvestRunRow.__table__
        values = {n: getattr(counts, n) for n in ("added", "updated", "unchanged", "deleted",
                                                 "failed", "warnings")}  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.id == run_id, table.c.status == "running")
                .values(**values)
            )

    def add_run_errors(self, run_id: int, errors: Iterable[RunError]) -> None:
        rows = [
            {
                "run_id": run_id,
                "source_id": e.source_id,
                "stage": e.stage,
                "severity": e.severity,
                "reason": shorten(e.reason),
            }
            for e in errors
        ]
        if rows:
            with self._session.begin() as s:
                s.execute(insert(HarvestErrorRow), rows)

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: RunCounts,
        *,
        response_date: datetime | None = None,
        message: str | None = None,
    ) -> HarvestRun:
        with self._session.begin() as s:
            row = s.get(HarvestRunRow, run_id)
            row.status = status
            row.finished_at = clock.utcnow()
            row.response_date = response_date
            row.message = shorten(message) if message is not None else None
            for name in ("added", "updated", "unchanged", "deleted", "failed", "warnings"):
                setattr(row, name, getattr(counts, name))
            return _run(row)

    def get_run(self, run_id: int) -> HarvestRun | None:
        with self._session() as s:
            row = s.get(HarvestRunRow, run_id)
            return _run(row) if row else None

    def list_runs(
        self, source: str | None = None, limit: int = 20, *, before: int | None = None
    ) -> list[HarvestRun]:
        """The newest runs first; ``before``: only runs with a smaller id (the next page)."""
        with self._session() as s:
            stmt = select(HarvestRunRow).order_by(HarvestRunRow.id.desc()).limit(limit)
            if source:
                stmt = stmt.where(HarvestRunRow.source == source)
            if before is not None:
                stmt = stmt.where(HarvestRunRow.id < before)
            return [_run(r) for r in s.scalars(stmt)]

    def run_errors(self, run_id: int) -> list[RunError]:
        with self._session() as s:
            rows = s.scalars(
                select(HarvestErrorRow)
                .where(HarvestErrorRow.run_id == run_id)
                .order_by(HarvestErrorRow.id)
            )
            return [RunError(r.source_id, r.stage, r.reason, r.severity) for r in rows]

    def last_successful_run(self, source: str) -> HarvestRun | None:
        with self._session() as s:
            row = s.scalars(
                select(HarvestRunRow)
                .where(HarvestRunRow.source == source, HarvestRunRow.status == "succeeded")
                .order_by(HarvestRunRow.id.desc())
                .limit(1)
            ).first()
            return _run(row) if row else None

    def prune_runs(self, *, older_than: datetime, keep_per_source: int) -> int:
        """Delete finished runs (and their error rows) that finished before ``older_than``
        or are not among their source's ``keep_per_source`` newest; how many went."""
        runs = HarvestRunRow.__table__
        errors = HarvestErrorRow.__table__
        rank = (
            func.row_number()
            .over(partition_by=runs.c.source, order_by=runs.c.id.desc())
            .label("rank")
        )
        ranked = (
            select(runs.c.id, runs.c.finished_at, rank)
            .where(runs.c.status.not_in(("queued", "running")))
            .subquery()
        )
        doomed = select(ranked.c.id).where(
            or_(ranked.c.finished_at < older_than, ranked.c.rank > keep_per_source)
        )
        with self.engine.begin() as conn:
            ids = [r for (r,) in conn.execute(doomed)]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                conn.execute(delete(errors).where(errors.c.run_id.in_(chunk)))
                conn.execute(delete(runs).where(runs.c.id.in_(chunk)))
        return len(ids)
