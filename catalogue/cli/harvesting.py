"""`catalogue harvest` and `catalogue runs`: harvest sources now, read their runs."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from catalogue.cli.base import (
    Context,
    catch_up_index,
    console,
    main,
    pass_ctx,
    run_listeners,
    table_console,
)
from catalogue.store import HarvestRun
from harvester.messages import shorten


@main.command()
@click.argument("key", required=False)
@click.option("--all", "all_", is_flag=True, help="Harvest every enabled source.")
@click.option("--full", is_flag=True, help="Ignore the last run and harvest everything.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="With --all: sources harvested at once (default: [scheduler] workers).",
)
@pass_ctx
def harvest(ctx: Context, key: str | None, all_: bool, full: bool, jobs: int | None) -> None:
    """Harvest source KEY (or --all, several at once, with a table of outcomes at the end);
    exits non-zero when a run fails."""
    if bool(key) == all_:
        raise click.UsageError("give a source KEY or --all")
    if all_:
        keys = [s.key for s in ctx.store.list_sources() if s.enabled]
    else:
        if ctx.store.get_source(key) is None:
            raise click.ClickException(f"no source {key!r}")
        keys = [key]
    from catalogue.search.indexer import indexing_alongside

    with indexing_alongside(ctx.settings):
        if all_:
            jobs = jobs or ctx.settings.scheduler.workers
            failed = harvest_all(ctx, keys, full, jobs)
        else:
            failed = [k for k in keys if not harvest_one(ctx, k, full)]
    catch_up_index(ctx)
    if failed:
        raise click.ClickException(f"harvest failed for: {', '.join(failed)}")


def harvest_all(ctx: Context, keys: list[str], full: bool, jobs: int) -> list[str]:
    """Harvest ``keys``, ``jobs`` at a time (a blackholed host delays only its own run), one
    progress bar each; a table of every source's outcome at the end. The failed keys."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from catalogue.harvesting import SourceHeld
    from catalogue.harvesting import run_harvest as harvest_under_lease

    outcomes: dict[str, tuple[str, HarvestRun | None, str, float]] = {}
    listeners = run_listeners(ctx)
    columns = (TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("records"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=False) as bar:

        def one(key: str) -> None:
            task = bar.add_task(key, total=None)
            started = time.monotonic()

            def advance(n: int, total: int | None = None) -> None:
                bar.update(task, advance=n, total=total)

            try:
                run = harvest_under_lease(ctx.store, key, ctx.settings, full=full,
                                          progress=advance, purpose="cli",
                                          listeners=listeners)  # fmt: skip
                outcomes[key] = (run.status, run, run.message or "", time.monotonic() - started)
            except SourceHeld as exc:
                outcomes[key] = ("not run", None, str(exc), time.monotonic() - started)
            except Exception as exc:  # noqa: BLE001 - one source's crash fails only it
                logging.getLogger(__name__).exception("harvest of %s crashed", key)
                outcomes[key] = ("failed", None, f"internal error: {exc}", 0.0)
            bar.update(task, total=bar.tasks[task].completed)

        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="harvest") as pool:
            list(pool.map(one, keys))
    table = Table("source", "outcome", "added", "updated", "unchanged", "deleted", "failed",
                  "warnings", "took", "message")  # fmt: skip
    for key in keys:
        status, run, message, took = outcomes[key]
        c = run.counts if run else None
        numbers = [str(getattr(c, n)) if c else "" for n in
                   ("added", "updated", "unchanged", "deleted", "failed", "warnings")]  # fmt: skip
        style = "green" if status == "succeeded" else "red"
        table.add_row(key, Text(status, style=style), *numbers, f"{took:.1f} s",
                      Text(shorten(message, 200)))  # fmt: skip
    table_console().print(table)
    return [key for key in keys if outcomes[key][0] != "succeeded"]


def harvest_one(ctx: Context, key: str, full: bool) -> bool:
    """Harvest one source; an unexpected error fails this source, not the ones after it."""
    from catalogue.harvesting import SourceHeld

    try:
        return run_harvest(ctx, key, full).status == "succeeded"
    except SourceHeld as exc:
        console.print(Text(f"{key}: not run ", style="red") + Text(str(exc)), soft_wrap=True)
        return False
    except Exception as exc:
        logging.getLogger(__name__).exception("harvest of %s crashed", key)
        console.print(
            Text(f"{key}: failed", style="red") + Text(f" internal error: {shorten(str(exc))}"),
            soft_wrap=True,
            highlight=False,
        )
        return False


def run_harvest(ctx: Context, key: str, full: bool) -> HarvestRun:
    from catalogue.harvesting import run_harvest as harvest_under_lease

    with harvest_progress(key) as progress:
        run = harvest_under_lease(
            ctx.store, key, ctx.settings, full=full, progress=progress, purpose="cli",
            listeners=run_listeners(ctx),
        )  # fmt: skip
    c = run.counts
    style = "green" if run.status == "succeeded" else "red"
    # The message is the source's text: shown short and as it is, never read as rich markup
    # nor highlighted (the highlighter is quadratic on long tokens: minutes for 100 KB).
    line = Text(f"{key}: {run.status}", style=style)
    line.append(
        f" added {c.added}, updated {c.updated}, unchanged {c.unchanged}, deleted {c.deleted}, "
        f"failed {c.failed}, warnings {c.warnings}"
        + (f" - {shorten(run.message)}" if run.message else "")
    )
    console.print(line, soft_wrap=True, highlight=False)
    return run


@contextmanager
def harvest_progress(key: str):
    columns = (
        TextColumn(f"[bold]{key}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(key, total=None)

        def advance(n: int, total: int | None = None) -> None:
            bar.update(task, advance=n, total=total)

        yield advance


@main.command()
@click.argument("key")
@click.argument("run_id", type=int, required=False)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@pass_ctx
def runs(ctx: Context, key: str, run_id: int | None, limit: int) -> None:
    """List source KEY's runs, newest first; with RUN_ID, that run and its errors."""
    if ctx.store.get_source(key) is None and not ctx.store.list_runs(key, limit=1):
        raise click.ClickException(f"no source {key!r}")
    if run_id is None:
        table = Table("run", "status", "mode", "started", "took", "added", "updated",
                      "unchanged", "deleted", "failed", "warnings", "message")  # fmt: skip
        for run in ctx.store.list_runs(key, limit=limit):
            c = run.counts
            took = f"{(run.finished_at - run.started_at).total_seconds():.0f} s" if (
                run.finished_at and run.status != "queued") else ""  # fmt: skip
            table.add_row(str(run.id), run.status, run.mode, f"{run.started_at:%Y-%m-%d %H:%M:%S}",
                          took, str(c.added), str(c.updated), str(c.unchanged), str(c.deleted),
                          str(c.failed), str(c.warnings), (run.message or "")[:120])  # fmt: skip
        table_console().print(table)
        return
    run = ctx.store.get_run(run_id)
    if run is None or run.source != key:
        raise click.ClickException(f"no run {run_id} of source {key!r}")
    c = run.counts
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S")
    click.echo(
        f"run {run.id} of {key}: {run.status} ({run.mode}), started {started}, "
        f"finished {run.finished_at or '-'}; added {c.added}, updated {c.updated}, "
        f"unchanged {c.unchanged}, deleted {c.deleted}, failed {c.failed}, warnings {c.warnings}"
    )
    if run.message:
        click.echo(f"message: {run.message}")
    errors = ctx.store.run_errors(run_id)
    if not errors:
        click.echo("no errors")
        return
    table = Table("severity", "stage", "record", "reason")
    for error in errors[:1000]:
        table.add_row(error.severity, error.stage, error.source_id or "", error.reason[:300])
    table_console().print(table)
    if len(errors) > 1000:
        click.echo(f"... and {len(errors) - 1000} more")
