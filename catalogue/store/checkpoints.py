"""Harvest checkpoints (table harvest_checkpoints): where a source's unfinished run got to.

A run saves its checkpoint after every committed page, in a transaction of its own; a
kill between the page and its checkpoint costs one page fetched again (its records come
back unchanged), never a record. The state is the harvester's own JSON
(:class:`harvester.checkpoints.Checkpoint`); the store keeps it per source, because the
next run of the source, whoever starts it, resumes there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from catalogue.store.engine import StoreBase
from catalogue.tables import HarvestCheckpointRow
from harvester import clock


class Checkpoints(StoreBase):
    """The checkpoints aggregate."""

    def save_checkpoint(self, source: str, run_id: int, state: dict[str, Any]) -> None:
        """Record where run ``run_id`` of ``source`` is (replaces the source's checkpoint)."""
        values = {"run_id": run_id, "state": state, "updated_at": clock.utcnow()}
        insert = pg_insert if self.is_postgres else sqlite_insert
        stmt = insert(HarvestCheckpointRow.__table__).values(source=source, **values)
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["source"], set_=values))

    def load_checkpoint(self, source: str) -> tuple[int, dict[str, Any]] | None:
        """(run id, state) of the source's checkpoint, if an unfinished run left one."""
        table = HarvestCheckpointRow.__table__
        with self.engine.connect() as conn:
            row = conn.execute(
                select(table.c.run_id, table.c.state).where(table.c.source == source)
            ).first()
        return (row.run_id, dict(row.state)) if row is not None else None

    def clear_checkpoint(self, source: str) -> None:
        """Forget the source's checkpoint (its run finished the list)."""
        table = HarvestCheckpointRow.__table__
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.source == source))
