"""The `catalogue` command: sources, harvest, serve, reindex, demo."""

from __future__ import annotations

import json
import logging
import threading
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from catalogue.config import load_settings
from catalogue.model import LOCAL_SOURCE
from catalogue.runtime import tune_gc
from catalogue.shutdown import address_in_use, request_stop, stop_cleanly_on_signals
from catalogue.store import HarvestRun, SourceExists, SourceNotFound, Store
from harvester.harvest import SOURCE_TYPES
from harvester.messages import shorten
from harvester.url_policy import public_url

console = Console(stderr=True)


class Context:
    """Settings and a lazily opened, migrated store shared by the subcommands."""

    def __init__(self) -> None:
        from catalogue.store.files import prepare_data_dir

        self.settings = load_settings()
        # First thing: whatever a command creates in it next (index, database), the data
        # directory is owner-only.
        prepare_data_dir(self.settings["data_dir"])
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store


def open_store(settings: dict[str, Any]) -> Store:

    from catalogue.store.files import prepare_data_dir, prepare_database_file

    prepare_data_dir(settings["data_dir"])
    prepare_database_file(settings["database_url"])
    store = Store(settings["database_url"])
    store.migrate()
    return store


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def table_console() -> Console:
    """stdout for tables: as wide as the terminal, or wide enough when piped."""
    import sys

    return Console(width=None if sys.stdout.isatty() else 220)


@click.group()
@click.version_option(package_name="catalogue", prog_name="catalogue")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Federated research-metadata catalogue."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Context()
    tune_gc()
    stop_cleanly_on_signals()


# -- sources -------------------------------------------------------------------

SCHEDULE_OPTION_HELP = (
    'When the scheduler harvests it: cron in UTC ("0 3 * * *"), "every 6h" (s, m, h, d), or "none".'
)


@main.group()
def sources() -> None:
    """Register, list and remove harvest sources."""


@sources.command("add")
@click.argument("key")
@click.argument("url")
@click.option("--type", "type_", type=click.Choice(SOURCE_TYPES), default="oai", show_default=True)
@click.option("--prefix", help="OAI-PMH metadataPrefix; default: the best the source offers.")
@click.option("--set", "sets", multiple=True, help="OAI-PMH setSpec to harvest (repeatable).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON or TOML file with the options of a REST source type (checked now).",
)
@click.option("--schedule", help=SCHEDULE_OPTION_HELP)
@click.option("--check", is_flag=True, help="Contact the source first; refuse it if that fails.")
@pass_ctx
def sources_add(
    ctx: Context,
    key: str,
    url: str,
    type_: str,
    prefix: str | None,
    sets: tuple[str, ...],
    config_path: str | None,
    schedule: str | None,
    check: bool,
) -> None:
    """Register source KEY harvested from URL."""
    check_source_key(key)
    check_url(url, ctx.settings)
    check_sets(sets)
    schedule = check_schedule(schedule)
    config = source_config(type_, read_config_file(config_path) if config_path else None)
    if ctx.store.get_source(key) is not None:
        raise click.ClickException(f"source {key!r} already exists")
    if check:
        probe_or_fail(ctx, type_, url, config)
    try:
        ctx.store.add_source(
            key, type_, url, metadata_prefix=prefix, sets=sets, config=config, schedule=schedule
        )
    except SourceExists as exc:
        raise click.ClickException(str(exc)) from exc
    when = f", {schedule}" if schedule else ""
    console.print(f"added source [bold]{key}[/] ({type_}{when}) {public_url(url)}")


@sources.command("edit")
@click.argument("key")
@click.option("--url", help="A new URL of the source.")
@click.option("--prefix", help="OAI-PMH metadataPrefix ('' for the best the source offers).")
@click.option("--set", "sets", multiple=True, help="Harvest only these setSpecs (repeatable).")
@click.option("--all-sets", is_flag=True, help="Harvest every set again.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON or TOML file with the options of a REST source type (checked now).",
)
@click.option("--schedule", help=SCHEDULE_OPTION_HELP)
@click.option("--enabled/--disabled", default=None, help="Resume or pause its harvests.")
@pass_ctx
def sources_edit(
    ctx: Context,
    key: str,
    url: str | None,
    prefix: str | None,
    sets: tuple[str, ...],
    all_sets: bool,
    config_path: str | None,
    schedule: str | None,
    enabled: bool | None,
) -> None:
    """Change source KEY's settings; its records stay as they are (a changed URL, prefix
    or sets makes the next run a full one)."""
    from catalogue.source_fields import RESTART_FIELDS

    source = ctx.store.get_source(key)
    if source is None:
        raise click.ClickException(f"no source {key!r}")
    if sets and all_sets:
        raise click.UsageError("give --set or --all-sets, not both")
    values: dict[str, Any] = {}
    if url is not None:
        check_url(url, ctx.settings)
        values["url"] = url
    if prefix is not None:
        values["metadata_prefix"] = prefix.strip() or None
    if sets or all_sets:
        check_sets(sets)
        values["sets"] = list(dict.fromkeys(sets))
    if config_path is not None:
        values["config"] = source_config(source.type, read_config_file(config_path))
    if schedule is not None:
        values["schedule"] = check_schedule(schedule)
    if enabled is not None:
        values["enabled"] = enabled
    if not values:
        raise click.UsageError("nothing to change; see --help")
    changed = {k: v for k, v in values.items() if getattr(source, k) != v}
    if any(k in RESTART_FIELDS for k in changed):
        changed["harvest_from"] = None
    if changed:
        ctx.store.update_source(key, **changed)
    shown = ", ".join(f"{k}={v!r}" for k, v in changed.items() if k != "harvest_from")
    console.print(f"source [bold]{key}[/]: " + (shown or "unchanged"), soft_wrap=True)
    if "harvest_from" in changed:
        console.print("the next run is a full harvest (what is harvested changed)")


def check_sets(sets: tuple[str, ...] | list[str]) -> None:
    from harvester.sink import MAX_SET_SPEC_CHARS, SET_SPEC

    for spec in sets:
        if not SET_SPEC.fullmatch(spec) or len(spec) > MAX_SET_SPEC_CHARS:
            raise click.BadParameter(f"not OAI-PMH setSpec syntax: {spec!r}", param_hint="--set")


@sources.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def sources_import(ctx: Context, path: str) -> None:
    """Register every [[source]] of a TOML file (see config/sources.example.toml)."""
    import tomllib
    from pathlib import Path

    with open(path, "rb") as fh:
        try:
            entries = tomllib.load(fh).get("source", [])
        except tomllib.TOMLDecodeError as exc:
            raise click.ClickException(f"{path}: {exc}") from exc
    for n, entry in enumerate(entries, 1):
        unknown = set(entry) - {
            "key", "type", "url", "prefix", "sets", "config", "config_file", "schedule"
        }  # fmt: skip
        if (
            unknown
            or "key" not in entry
            or "url" not in entry
            or (entry.get("type", "oai") not in SOURCE_TYPES)
        ):
            raise click.ClickException(
                f"{path}: source #{n} needs key, url and a type in {SOURCE_TYPES}; "
                f"unknown keys: {sorted(unknown)}"
            )
    configs = []
    for n, entry in enumerate(entries, 1):
        check_source_key(entry["key"])
        check_url(entry["url"], ctx.settings)
        entry["schedule"] = check_schedule(entry.get("schedule"))
        config = entry.get("config")
        if "config_file" in entry:  # relative to the imported file
            config = read_config_file(str(Path(path).parent / entry["config_file"]))
        try:
            configs.append(source_config(entry.get("type", "oai"), config))
        except click.ClickException as exc:
            raise click.ClickException(f"{path}: source #{n} ({entry['key']}): {exc}") from exc
    for entry, config in zip(entries, configs, strict=True):
        if ctx.store.get_source(entry["key"]) is not None:
            console.print(f"source [bold]{entry['key']}[/] exists; left as it is")
            continue
        ctx.store.add_source(
            entry["key"],
            entry.get("type", "oai"),
            entry["url"],
            metadata_prefix=entry.get("prefix"),
            sets=entry.get("sets", ()),
            config=config,
            schedule=entry["schedule"],
        )
        console.print(f"added source [bold]{entry['key']}[/] {public_url(entry['url'])}")


@sources.command("list")
@pass_ctx
def sources_list(ctx: Context) -> None:
    """List sources with their record counts and last run."""
    from catalogue.scheduler import next_runs

    upcoming = next_runs(ctx.store)
    table = Table("key", "type", "url", "prefix", "sets", "schedule", "records", "last run")
    for source in ctx.store.list_sources():
        runs = ctx.store.list_runs(source.key, limit=1)
        last = f"{runs[0].status} {runs[0].started_at:%Y-%m-%d %H:%M}" if runs else "never"
        schedule = source.schedule or "manual"
        if not source.enabled:
            schedule += " (paused)"
        elif source.key in upcoming:
            schedule += f", next {upcoming[source.key]:%Y-%m-%d %H:%M}"
        table.add_row(
            source.key,
            source.type,
            source.url,
            source.metadata_prefix or "(auto)",
            " ".join(source.sets) or "(all)",
            schedule,
            str(ctx.store.count_records(source.key)),
            last,
        )
    Console().print(table)


@sources.command("remove")
@click.argument("key")
@pass_ctx
def sources_remove(ctx: Context, key: str) -> None:
    """Remove source KEY; its records become deleted (tombstones)."""
    try:
        n = ctx.store.remove_source(key)
    except SourceNotFound as exc:
        raise click.ClickException(f"no source {key!r}") from exc
    catch_up_index(ctx)
    console.print(f"removed source [bold]{key}[/]; {n} records marked deleted")


def read_config_file(path: str) -> Any:
    """A source config file: TOML when it ends in .toml, else JSON."""
    import json
    import tomllib

    try:
        if path.endswith(".toml"):
            with open(path, "rb") as fh:
                return tomllib.load(fh)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise click.ClickException(f"{path}: {exc}") from exc


def source_config(type_: str, config: Any) -> dict[str, Any]:
    """The checked config of a ``type_`` source (:func:`catalogue.source_fields.config_problem`)."""
    from catalogue.source_fields import config_problem

    checked, problem = config_problem(type_, config)
    if problem is not None:
        raise click.ClickException(problem)
    return checked


def check_source_key(key: str) -> None:
    from catalogue.source_fields import key_problem

    if (problem := key_problem(key)) is not None:
        raise click.BadParameter(problem, param_hint="KEY")


def check_url(url: str, settings: dict[str, Any] | None = None) -> None:
    """An http(s) URL without whitespace (a newline splits requests), outside the denied
    address ranges (checked now on the resolved addresses, again at every connection) and
    not this catalogue's own OAI-PMH endpoint."""
    from catalogue.source_fields import url_problem
    from harvester.url_policy import url_secrets

    settings = settings if settings is not None else load_settings()
    if (problem := url_problem(url, settings)) is not None:
        raise click.BadParameter(problem, param_hint="URL")
    if url_secrets(url):
        console.print(
            "[yellow]warning:[/] the URL carries credentials; they are never shown, but "
            "prefer a [source.config] auth with token_env (the token then stays in the "
            "environment, out of the database)",
            soft_wrap=True,
        )


def check_schedule(spec: str | None) -> str | None:
    from catalogue.schedules import BadSchedule, normalize_schedule

    try:
        return normalize_schedule(spec)
    except BadSchedule as exc:
        raise click.BadParameter(str(exc), param_hint="--schedule") from None


def probe_or_fail(ctx: Context, type_: str, url: str, config: dict[str, Any]) -> None:
    """``--check``: probe the source as the admin API's probe does; refuse it if it fails."""
    from harvester.probe import probe_source

    result = probe_source(type_, url, ctx.settings.get("harvest", {}), config)
    if not result.ok:
        raise click.ClickException(f"check failed: {result.error}")
    if type_ == "oai":
        formats = ", ".join(f["prefix"] for f in result.metadata_formats) or "none"
        console.print(
            f"check: [bold]{result.repository_name or '(unnamed)'}[/], OAI-PMH "
            f"{result.protocol_version}, formats {formats}, "
            f"{len(result.sets)}{'+' if result.more_sets else ''} sets",
            soft_wrap=True,
        )
    else:
        total = "?" if result.total_records is None else result.total_records
        console.print(f"check: {type_} API, {total} records listed", soft_wrap=True)


# -- harvest -------------------------------------------------------------------


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
            jobs = jobs or int(ctx.settings.get("scheduler", {}).get("workers", 4))
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


def catch_up_index(ctx: Context) -> None:
    from catalogue.search.indexer import catch_up_if_free

    # None: another indexer (serve's) holds the index and applies the changes itself.
    catch_up_if_free(ctx.store, ctx.settings)


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


def run_listeners(ctx: Context) -> list[Any]:
    """What hears of finished runs: failure notices, when configured."""
    from catalogue.notices import listeners_from_settings

    return listeners_from_settings(ctx.store, ctx.settings)


# -- index ---------------------------------------------------------------------


@main.command()
@pass_ctx
def reindex(ctx: Context) -> None:
    """Rebuild the search index from the store."""
    from catalogue.search.base import IndexLocked
    from catalogue.search.indexer import Indexer, open_index

    try:
        index = open_index(ctx.settings, writer=True)
    except IndexLocked as exc:
        raise click.ClickException(
            "the index is held by another indexer (is `catalogue serve` running?)"
        ) from exc
    try:
        n = Indexer(ctx.store, index).rebuild()
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
@pass_ctx
def indexer(ctx: Context) -> None:
    """Run the indexer alone (when several web workers serve the catalogue).

    Stops cleanly on SIGTERM or Ctrl-C: the changes read so far are applied and the index
    (its writer lock, or a search cluster's lease) is released at once.
    """
    import signal

    from catalogue.search.base import IndexLocked
    from catalogue.search.indexer import Indexer, open_index

    try:
        index = open_index(ctx.settings, writer=True)
    except IndexLocked as exc:
        raise click.ClickException("the index is held by another indexer") from exc
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        Indexer(ctx.store, index).run_forever(stop, ctx.settings["search"]["indexer_interval"])
    finally:
        index.close()


# -- serve ---------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
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

    indexing: AbstractContextManager[None] = nullcontext()
    if with_indexer and writer_is_free(ctx.settings):
        interval = ctx.settings["search"]["indexer_interval"]
        indexing = indexing_alongside(ctx.settings, interval=interval)
    elif with_indexer:
        console.print("index: another process runs the indexer; serving read-only")
    ctx.store  # noqa: B018 - migrate once, before any worker opens the store
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Harvest the demo sources, then exit.")
@pass_ctx
def demo(ctx: Context, host: str, port: int, no_serve: bool) -> None:
    """Replay recorded real OAI-PMH sources locally, harvest them over HTTP, serve the app."""
    from catalogue.demo.replay import DEMO_SOURCES, start_replay_server, stop_replay_server

    server, base_url = start_replay_server()
    console.print(f"replaying recorded OAI-PMH sources at [bold]{base_url}[/]")
    from catalogue.search.indexer import indexing_alongside

    failed = []
    with indexing_alongside(ctx.settings):
        for spec in DEMO_SOURCES:
            url = f"{base_url}{spec.path}"
            existing = ctx.store.get_source(spec.key)
            if existing is None:
                ctx.store.add_source(
                    spec.key,
                    spec.type,
                    url,
                    metadata_prefix=spec.metadata_prefix,
                    config=spec.config,
                )
            elif existing.url != url:
                # The replay server gets a new port each run; the records stay the same.
                ctx.store.update_source(spec.key, url=url)
            if not harvest_one(ctx, spec.key, full=False):
                failed.append(spec.key)
    catch_up_index(ctx)
    if failed:
        stop_replay_server(server)
        raise click.ClickException(f"demo harvest failed for: {', '.join(failed)}")
    total = ctx.store.count_records()
    console.print(f"[green]{total} records harvested[/]")
    if no_serve:
        stop_replay_server(server)
        return
    base = f"http://{host}:{port}"
    token = demo_token(ctx)
    console.print(
        "open:\n"
        f"  {base}/search                    search the records (start here)\n"
        f"  {base}/                          home: facets, newest records, sources\n"
        f"  {base}/api/records?q=data        search API (facets: type, year, subject, ...)\n"
        f"  {base}/api/sources               harvest sources and their last runs\n"
        f"  {base}/oai?verb=Identify         OAI-PMH provider (oai_dc, oai_datacite, datacite)\n"
        f"  {base}/api/docs                  ingest and search API (OpenAPI: /api/openapi.json)\n"
        "deposit a record with the demo's depositor token:\n"
        f"  curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"metadata": {{"titles": [{{"title": "My data"}}], '
        f'"types": {{"resourceTypeGeneral": "Dataset"}}}}}}\' {base}/api/records',
        soft_wrap=True,
    )
    serve_app(ctx, host, port, 8, with_indexer=True, with_scheduler=True)


def demo_token(ctx: Context) -> str:
    """The demo's depositor token, created once and kept (mode 0600) in the data directory,
    because the store keeps only token hashes and the demo prints it on every start."""
    path = Path(ctx.settings["data_dir"]) / "demo-depositor-token"
    if path.exists():
        secret = path.read_text().strip()
        if ctx.store.find_token(secret) is not None:
            return secret
    _, secret = ctx.store.create_token("demo", "depositor", created_by="catalogue demo")
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


# -- API tokens ----------------------------------------------------------------


@main.group()
def tokens() -> None:
    """Create, list and revoke bearer tokens of the ingest API."""


@tokens.command("create")
@click.option(
    "--role",
    type=click.Choice(("admin", "depositor", "reader")),
    required=True,
    help="admin: everything (registering schemas too); depositor: deposit and change records; "
    "reader: reads only.",
)
@click.option("--name", help="Who or what uses it (recorded as created_by/updated_by).")
@pass_ctx
def tokens_create(ctx: Context, role: str, name: str | None) -> None:
    """Create a token and print it, alone, on stdout (it is shown only this once)."""
    import getpass

    name = name or f"{role}-token"
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("1-200 characters", param_hint="--name")
    token, secret = ctx.store.create_token(name, role, created_by=getpass.getuser())
    console.print(f"created token {token.id} ({token.role}) named [bold]{token.name}[/]")
    click.echo(secret)


@tokens.command("list")
@pass_ctx
def tokens_list(ctx: Context) -> None:
    """List tokens (never their secrets)."""
    table = Table("id", "name", "role", "created", "last used", "revoked")
    for token in ctx.store.list_tokens():
        table.add_row(
            str(token.id),
            token.name,
            token.role,
            f"{token.created_at:%Y-%m-%d %H:%M}",
            f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
            f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
        )
    Console().print(table)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke token TOKEN_ID (see `tokens list`); it stops working at once."""
    token = ctx.store.revoke_token(token_id)
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    console.print(f"revoked token {token.id} ({token.name})")
