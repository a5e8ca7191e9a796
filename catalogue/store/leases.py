"""Per-source harvest leases (table source_leases): never two runs of one source at once.

Every run takes its source's lease first, whoever starts it (scheduler, admin API,
`catalogue harvest`; see :mod:`catalogue.harvesting`). A claim is one compare-and-swap on
the lease row, so it is atomic on SQLite and PostgreSQL alike; on PostgreSQL the row is read
``FOR UPDATE SKIP LOCKED``, so a claimant never queues behind another claimant's transaction
(it reports the source as held and moves on to other work).

A lease is free when nobody holds it, when its heartbeat expired (the holder's host may be
gone: the only test that works across hosts), or when the holder ran on this host and its
process no longer exists (kill -9: a rerun goes ahead at once instead of waiting for the
expiry). The process is named by pid *and* start time, so a reused pid is not mistaken for
the holder. Whoever takes a dead holder's lease marks the source's "running" runs failed
("interrupted"), so no run stays "running" forever.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from catalogue.store.engine import StoreBase
from catalogue.store.types import StoreError
from catalogue.tables import HarvestRunRow, SourceLeaseRow
from harvester import clock

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
"""How long a lease lives without a heartbeat (a holder renews it every third of that)."""

INTERRUPTED = "interrupted"
"""The message prefix of a run whose holder died (its status is "failed")."""


@dataclass(frozen=True)
class Holder:
    """A process that may hold leases: its host, pid and start time."""

    host: str
    pid: int
    process_start: str | None

    @classmethod
    def this_process(cls) -> Holder:
        return cls(_hostname(), os.getpid(), _process_start(os.getpid()))

    def alive_here(self) -> bool | None:
        """Whether this holder's process still runs, if it ran on this host (else None)."""
        if self.host != _hostname():
            return None
        if not _pid_exists(self.pid):
            return False
        started = _process_start(self.pid)
        # A zombie (killed, not yet reaped) has no start time worth comparing: dead.
        return started is not None and (self.process_start in (None, started))

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid}"


@dataclass(frozen=True)
class Lease:
    """A source's lease as read: ``token`` is None when nobody holds it."""

    source: str
    token: str | None
    holder: Holder | None
    run_id: int | None
    purpose: str | None
    claimed_at: datetime | None
    heartbeat_at: datetime | None
    expires_at: datetime | None

    def is_live(self, now: datetime | None = None) -> bool:
        """Held by a holder that may still work: not expired and, on this host, running."""
        if self.token is None or self.holder is None:
            return False
        now = now or clock.utcnow()
        if self.expires_at is None or self.expires_at <= now:
            return False
        return self.holder.alive_here() is not False


class SourceHeld(StoreError):
    """Another live holder has the source's lease."""

    def __init__(self, source: str, lease: Lease | None) -> None:
        self.source = source
        self.lease = lease
        who = f" ({lease.holder}, run {lease.run_id})" if lease and lease.holder else ""
        super().__init__(f"another run holds source {source!r}{who}")


class LeaseLost(StoreError):
    """The lease was taken over (the holder stalled past its expiry)."""


class Leases(StoreBase):
    """The leases aggregate."""

    def claim_lease(
        self,
        source: str,
        *,
        ttl: float = LEASE_SECONDS,
        purpose: str = "harvest",
        holder: Holder | None = None,
    ) -> Lease:
        """Take source ``source``'s lease for ``ttl`` seconds, or raise :class:`SourceHeld`.

        Taking over a dead holder's lease marks the source's runs still "running" as failed
        (interrupted), in the same transaction.
        """
        holder = holder or Holder.this_process()
        now = clock.utcnow()
        token = uuid.uuid4().hex
        values = {
            "token": token,
            "host": holder.host,
            "pid": holder.pid,
            "process_start": holder.process_start,
            "run_id": None,
            "purpose": purpose,
            "claimed_at": now,
            "heartbeat_at": now,
            "expires_at": now + timedelta(seconds=ttl),
        }
        table = SourceLeaseRow.__table__
        with self.engine.begin() as conn:
            insert = pg_insert if self.is_postgres else sqlite_insert
            created = conn.execute(
                insert(table)
                .values(source=source, **values)
                .on_conflict_do_nothing()
                .returning(table.c.source)
            ).first()
            if created is not None:
                self._interrupt_runs(conn, source, None, now)
                return _lease(source, values)
            stmt = select(table).where(table.c.source == source)
            if self.is_postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            row = conn.execute(stmt).first()
            if row is None:  # PostgreSQL: another claimant has the row locked right now
                raise SourceHeld(source, self.get_lease(source))
            current = _lease_of(row)
            if current.is_live(now):
                raise SourceHeld(source, current)
            # Compare-and-swap on the old token: of two claimants that both read this row
            # (SQLite has no row lock), only one updates it.
            old = table.c.token.is_(None) if row.token is None else table.c.token == row.token
            taken = conn.execute(
                update(table).where(table.c.source == source, old).values(**values)
            )
            if taken.rowcount != 1:
                raise SourceHeld(source, None)
            self._interrupt_runs(conn, source, current, now)
        return _lease(source, values)

    def renew_lease(self, lease: Lease, *, ttl: float = LEASE_SECONDS) -> bool:
        """The heartbeat: extend the lease; False if it is no longer ours."""
        now = clock.utcnow()
        table = SourceLeaseRow.__table__
        with self.engine.begin() as conn:
            done = conn.execute(
                update(table)
                .where(table.c.source == lease.source, table.c.token == lease.token)
                .values(heartbeat_at=now, expires_at=now + timedelta(seconds=ttl))
            )
        return done.rowcount == 1

    def attach_run(self, lease: Lease, run_id: int) -> bool:
        """Name the run the lease's holder works on (marked interrupted if the holder dies)."""
        table = SourceLeaseRow.__table__
        with self.engine.begin() as conn:
            done = conn.execute(
                update(table)
                .where(table.c.source == lease.source, table.c.token == lease.token)
                .values(run_id=run_id)
            )
        return done.rowcount == 1

    def release_lease(self, lease: Lease) -> None:
        """Give the lease up (a no-op if it was taken over meanwhile)."""
        table = SourceLeaseRow.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.source == lease.source, table.c.token == lease.token)
                .values(token=None, expires_at=None)
            )

    def get_lease(self, source: str) -> Lease | None:
        """The source's lease row as it stands (held or not), None if never claimed."""
        table = SourceLeaseRow.__table__
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.source == source)).first()
        return _lease_of(row) if row else None

    def live_leases(self) -> dict[str, Lease]:
        """Every lease held by a live holder, by source."""
        table = SourceLeaseRow.__table__
        now = clock.utcnow()
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c.token.is_not(None))).all()
        leases = (_lease_of(r) for r in rows)
        return {lease.source: lease for lease in leases if lease.is_live(now)}

    def reap_dead_runs(self) -> list[int]:
        """Mark failed ("interrupted") every "running" run no live lease covers, and free
        the leases of dead holders; the ids of the runs so marked.

        A scheduler or web process calls it at start and now and then; a claim does the same
        for its own source.
        """
        runs = HarvestRunRow.__table__
        table = SourceLeaseRow.__table__
        now = clock.utcnow()
        marked: list[int] = []
        with self.engine.begin() as conn:
            # Runs first, leases second: a run's lease was claimed before the run started,
            # so every run read here has its lease visible below.
            running = conn.execute(
                select(runs.c.id, runs.c.source).where(runs.c.status == "running")
            ).all()
            held = [
                _lease_of(r) for r in conn.execute(select(table).where(table.c.token.is_not(None)))
            ]
            live = {lease.source: lease for lease in held if lease.is_live(now)}
            for lease in held:
                if lease.source not in live:
                    conn.execute(
                        update(table)
                        .where(table.c.source == lease.source, table.c.token == lease.token)
                        .values(token=None, expires_at=None)
                    )
            for run_id, source in running:
                lease = live.get(source)
                # A live holder that has not attached its run yet may own any of them.
                if lease is not None and lease.run_id in (None, run_id):
                    continue
                dead = next((d for d in held if d.source == source), None)
                marked += self._interrupt_runs(conn, source, dead, now, only=run_id)
        return marked

    def _interrupt_runs(
        self,
        conn: Connection,
        source: str,
        dead: Lease | None,
        now: datetime,
        *,
        only: int | None = None,
    ) -> list[int]:
        runs = HarvestRunRow.__table__
        where = [runs.c.source == source, runs.c.status == "running"]
        if only is not None:
            where.append(runs.c.id == only)
        ids = [r for (r,) in conn.execute(select(runs.c.id).where(*where))]
        if not ids:
            return []
        why = (
            f"{INTERRUPTED}: its holder ({dead.holder}) died or stopped heartbeating"
            if dead is not None and dead.holder is not None
            else f"{INTERRUPTED}: its process died"
        )
        conn.execute(
            update(runs)
            .where(runs.c.id.in_(ids), runs.c.status == "running")
            .values(status="failed", finished_at=now, message=why)
        )
        log.warning("source %s: run(s) %s marked failed (%s)", source, ids, why)
        return ids


def _lease(source: str, values: dict) -> Lease:
    return Lease(
        source=source,
        token=values["token"],
        holder=Holder(values["host"], values["pid"], values["process_start"]),
        run_id=values["run_id"],
        purpose=values["purpose"],
        claimed_at=values["claimed_at"],
        heartbeat_at=values["heartbeat_at"],
        expires_at=values["expires_at"],
    )


def _lease_of(row) -> Lease:
    holder = Holder(row.host, row.pid, row.process_start) if row.host is not None else None
    return Lease(
        source=row.source,
        token=row.token,
        holder=holder,
        run_id=row.run_id,
        purpose=row.purpose,
        claimed_at=row.claimed_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
    )


@cache
def _hostname() -> str:
    return socket.gethostname()


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None if it is gone or a
    zombie; "" where /proc is not there (the pid alone then names the process)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except FileNotFoundError:
        return None if os.path.isdir("/proc") else ""
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19]
