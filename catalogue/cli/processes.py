"""The long-running processes (`scheduler`, `indexer`, `serve`) and the one-off `reindex`
and `remap`."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from contextlib import AbstractContextManager, contextmanager, nullcontext

import click

from catalogue.cli.base import Context, catch_up_index, console, main, pass_ctx, run_listeners
from catalogue.cli.harvesting import harvest_progress
from catalogue.config import is_default_secret
from catalogue.model import LOCAL_SOURCE
from catalogue.shutdown import address_in_use, request_stop


@main.command()
@pass_ctx
def scheduler(ctx: Context) -> None:
    """Run the harvest scheduler (any number may run; a source never runs twice at once)."""
    import signal

    from catalogue.scheduler import CatalogueScheduler

    stop = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        request_stop()  # running harvests end at their next page (catalogue.shutdown)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    sched = CatalogueScheduler(ctx.store, ctx.settings, listeners=run_listeners(ctx))
    sched.start()
    console.print("scheduler running (Ctrl-C stops it; running harvests stop at their page)")
    stop.wait()
    sched.shutdown(wait=True)


# -- index ---------------------------------------------------------------------


@main.command()
@pass_ctx
def reindex(ctx: Context) -> None:
    """Rebuild the search index from the store."""
    from catalogue.search.base import IndexLocked
    from catalogue.search.indexer import Indexer, open_index

    store = ctx.store  # migrated first: a search cluster's lease is a row of its database
    try:
        index = open_index(ctx.settings, writer=True)
    except IndexLocked as exc:
        raise click.ClickException(
            "the index is held by another indexer (is `catalogue serve` running?)"
        ) from exc
    try:
        n = Indexer(store, index).rebuild()
        refused = list(getattr(index, "failures", []))
    finally:
        index.close()
    console.print(f"reindexed {n} records")
    if refused:
        ids = ", ".join(str(f["id"]) for f in refused[:10])
        console.print(f"[red]{len(refused)} records refused by the search index[/]: {ids}")


@main.command()
@click.option("--source", "key", help="Only the records of this source (default: all).")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@pass_ctx
def remap(ctx: Context, key: str | None, dry_run: bool) -> None:
    """Re-run today's crosswalks over the stored raw payloads (no network); store the
    records whose mapping changed (change log, new OAI datestamps)."""
    from catalogue.remap import remap as run_remap

    if key is not None and key != LOCAL_SOURCE and ctx.store.get_source(key) is None:
        raise click.ClickException(f"no source {key!r}")
    with harvest_progress("remap") as progress:
        summary = run_remap(ctx.store, ctx.settings, source=key, dry_run=dry_run, progress=progress)
    verb = "would change" if dry_run else "changed"
    console.print(
        f"examined {summary.examined}: {verb} {summary.changed}, unchanged "
        f"{summary.unchanged}, failed {summary.failed}, skipped {sum(summary.skipped.values())}",
        soft_wrap=True,
    )
    for source_key, n in sorted(summary.changed_by_source.items()):
        console.print(f"  {source_key}: {verb} {n}")
    for reason, n in summary.skipped.most_common():
        console.print(f"  skipped {n}: {reason}", soft_wrap=True)
    for rid, reason in summary.failures:
        console.print(f"  [red]failed[/] {rid}: {reason}", soft_wrap=True)
    if summary.changed and not dry_run:
        catch_up_index(ctx)
    click.echo(json.dumps(summary.as_dict()))


@main.command()
@click.option(
    "--wait",
    "standby",
    is_flag=True,
    help="If another indexer holds the index, stand by and take over when it stops "
    "(instead of failing).",
)
@pass_ctx
def indexer(ctx: Context, standby: bool) -> None:
    """Run the indexer alone (when several web workers serve the catalogue).

    Stops cleanly on SIGTERM or Ctrl-C: the changes read so far are applied and the index
    (its writer lock, or a search cluster's lease) is released at once. On exit it says
    which stretch of the change log it applied (two indexers never apply the same one).
    """
    import signal

    from catalogue.search.base import IndexLocked
    from catalogue.search.indexer import Indexer, wait_for_writer

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    store = ctx.store  # migrated first: a search cluster's lease is a row of its database
    try:
        index = wait_for_writer(
            ctx.settings,
            stop,
            standby=standby,
            say=lambda message: console.print(f"index: {message}", soft_wrap=True),
        )
    except IndexLocked as exc:
        raise click.ClickException("the index is held by another indexer") from exc
    if index is None:
        return
    try:
        start = index.checkpoint()
        Indexer(store, index).run_forever(stop, ctx.settings.search.indexer_interval)
        console.print(f"indexer stopped: applied the change log from seq {start} to seq "
                      f"{index.checkpoint()}", soft_wrap=True)  # fmt: skip
    finally:
        index.close()


# -- serve ---------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web worker processes (more than 1: gunicorn, not on Windows).",
)
@click.option("--no-indexer", is_flag=True, help="Do not run the indexer (another process does).")
@click.option(
    "--with-scheduler", is_flag=True, help="Run the harvest scheduler in this process too."
)
@pass_ctx
def serve(
    ctx: Context,
    host: str,
    port: int,
    threads: int,
    workers: int,
    no_indexer: bool,
    with_scheduler: bool,
) -> None:
    """Serve search, OAI-PMH, ingest and the admin API over HTTP, with the indexer in a
    child process.

    One worker: waitress in this process. Several: gunicorn's pre-fork workers, each with
    its own database pool and index reader. Queued runs ("harvest now") start in a worker
    thread of this process when no scheduler takes them first.
    """
    check_secret(ctx, host)
    serve_app(
        ctx,
        host,
        port,
        threads,
        with_indexer=not no_indexer,
        workers=workers,
        with_scheduler=with_scheduler,
    )


@contextmanager
def harvest_workers(ctx: Context, *, with_scheduler: bool):
    """The scheduler (with its queue worker), or the queue worker alone, while serving."""
    from catalogue.run_queue import QueueWorker
    from catalogue.scheduler import CatalogueScheduler

    listeners = run_listeners(ctx)
    if with_scheduler:
        sched = CatalogueScheduler(ctx.store, ctx.settings, listeners=listeners)
        sched.start()
        try:
            yield sched.queue
        finally:
            sched.shutdown(wait=False)
        return
    ctx.store.reap_dead_runs()
    worker = QueueWorker(ctx.store, ctx.settings, listeners=listeners)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(wait=False)


def check_secret(ctx: Context, host: str) -> None:
    """With the published default ``secret_key`` anyone can sign tokens: refused where other
    machines can connect, a warning on the loopback interface."""
    if not is_default_secret(ctx.settings):
        return
    if not is_loopback(host):
        raise click.ClickException(
            f"refusing to serve on {host} with the default secret_key: "
            "set CATALOGUE_SECRET_KEY (or secret_key in the CATALOGUE_CONFIG file)"
        )
    console.print(
        "[yellow]warning:[/] secret_key is the default; set CATALOGUE_SECRET_KEY "
        "before serving beyond this machine",
        soft_wrap=True,
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a --host value) is reachable from this machine only."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another name: it may resolve to any interface


# Pooled connections beyond the serving threads: the queue worker's, the scheduler's.
SPARE_CONNECTIONS = 2


def serve_app(
    ctx: Context,
    host: str,
    port: int,
    threads: int,
    *,
    with_indexer: bool,
    workers: int = 1,
    with_scheduler: bool = False,
) -> None:
    from catalogue.search.indexer import indexing_alongside, writer_is_free

    # A request holds one connection at a time; with fewer pooled than threads, the pool
    # opened and closed connections all the while (8 threads, default 5: ~60 new
    # PostgreSQL backends per 2,000 deposits, each a process to start).
    ctx.size_pool(threads + SPARE_CONNECTIONS)
    # Migrate once, before any worker opens the store, and before the writer check: a
    # search cluster's writer lease is a row of the catalogue database.
    ctx.store  # noqa: B018
    indexing: AbstractContextManager[None] = nullcontext()
    if with_indexer:
        # Opening the writer once here also fails fast, in one line, on a cluster that
        # refuses this client (406, credentials) instead of a child dying in the background.
        if not writer_is_free(ctx.settings):
            console.print(
                "index: another process runs the indexer; this one stands by to take over",
                soft_wrap=True,
            )
        indexing = indexing_alongside(ctx.settings, standby=True)
    base = f"http://{host}:{port}"
    server = None
    app = None
    if workers == 1:
        from catalogue.web.app import create_app
        from catalogue.web.server import make_server

        # waitress warns at every queued request under load; that is normal, not a problem.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        app = create_app(ctx.settings, store=ctx.store)
        try:  # bound before the indexer starts: a busy port is one line, nothing left behind
            server = make_server(app, host=host, port=port, threads=threads, ident="catalogue")
        except OSError as exc:
            if address_in_use(exc):
                raise click.ClickException(
                    f"cannot listen on {host}:{port}: {exc.strerror} (is another server "
                    "running there? choose another --port)"
                ) from None
            raise
    with indexing, harvest_workers(ctx, with_scheduler=with_scheduler) as queue:
        console.print(
            f"serving on [bold]{base}/[/]  (search API: {base}/api/records)"
            + (f", {workers} workers" if workers > 1 else ""),
            soft_wrap=True,
        )
        if server is None or app is None:
            from catalogue.web.workers import serve_workers

            serve_workers(ctx.settings, host, port, workers, threads)
            return
        app.extensions["run_queue"] = queue  # "harvest now" wakes it at once
        try:
            server.run()  # returns on SIGTERM or Ctrl-C (catalogue.shutdown)
        finally:
            server.close()
    console.print("stopped; the indexer applied the last changes")


# -- demo ----------------------------------------------------------------------
