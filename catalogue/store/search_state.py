"""The writer lease and applied change-log seq of remote search indexes (table search_state).

A remote index (an Elasticsearch/OpenSearch alias) has no lock file as the embedded index
has: the lease row is its writer lock. One indexer holds it at a time; a holder renews it
while it works, and a crashed holder's lease expires, after which another indexer resumes
from the seq the crashed one last committed. Every change of the seq is guarded by the
holder, so two indexers never apply the same range of the change log.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from catalogue.store import utcnow
from catalogue.tables import SearchStateRow


class SearchState:
    """Lease and checkpoint operations on one database (each its own short transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def acquire(self, name: str, holder: str, ttl: float) -> int | None:
        """Take (or renew) the lease of index ``name``; its applied seq, or None if another
        live holder has it."""
        now = utcnow()
        until = now + timedelta(seconds=ttl)
        table = SearchStateRow.__table__
        with self.engine.begin() as conn:
            row = conn.execute(
                select(table.c.applied_seq, table.c.holder, table.c.lease_until)
                .where(table.c.index_name == name)
                .with_for_update()
            ).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(table).values(
                                index_name=name,
                                applied_seq=0,
                                holder=holder,
                                lease_until=until,
                                updated_at=now,
                            )
                        )
                except IntegrityError:
                    return None  # another indexer created it at the same moment
                return 0
            if row.holder not in (None, holder) and _alive(row.lease_until, now):
                return None
            conn.execute(
                update(table)
                .where(table.c.index_name == name)
                .values(holder=holder, lease_until=until, updated_at=now)
            )
            return int(row.applied_seq)

    def advance(self, name: str, holder: str, seq: int, ttl: float) -> bool:
        """Record ``seq`` as applied (and renew the lease) if ``holder`` still holds it."""
        now = utcnow()
        table = SearchStateRow.__table__
        with self.engine.begin() as conn:
            done = conn.execute(
                update(table)
                .where(table.c.index_name == name, table.c.holder == holder)
                .values(applied_seq=seq, lease_until=now + timedelta(seconds=ttl), updated_at=now)
            )
        return done.rowcount == 1

    def release(self, name: str, holder: str) -> None:
        table = SearchStateRow.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.index_name == name, table.c.holder == holder)
                .values(holder=None, lease_until=None, updated_at=utcnow())
            )

    def applied(self, name: str) -> int:
        """The seq the index's last commit reached (0 for an index never committed)."""
        table = SearchStateRow.__table__
        with self.engine.connect() as conn:
            seq = conn.execute(
                select(table.c.applied_seq).where(table.c.index_name == name)
            ).scalar()
        return int(seq or 0)


def _alive(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now
