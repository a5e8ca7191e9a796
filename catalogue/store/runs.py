"""Harvest runs and their per-record error rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert, select

from catalogue.store.engine import StoreBase
from catalogue.store.rows import _run
from catalogue.store.types import HarvestRun, RunCounts, RunError
from catalogue.tables import HarvestErrorRow, HarvestRunRow
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

    def list_runs(self, source: str | None = None, limit: int = 20) -> list[HarvestRun]:
        with self._session() as s:
            stmt = select(HarvestRunRow).order_by(HarvestRunRow.id.desc()).limit(limit)
            if source:
                stmt = stmt.where(HarvestRunRow.source == source)
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
