"""`catalogue sources`: register, edit, import, list and remove harvest sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from catalogue.cli.base import Context, catch_up_index, console, main, pass_ctx
from catalogue.config import Settings, load_settings
from catalogue.store import SourceExists, SourceHeld, SourceNotFound
from harvester.harvest import SOURCE_TYPES
from harvester.url_policy import public_url

# -- sources -------------------------------------------------------------------

SCHEDULE_OPTION_HELP = (
    'When the scheduler harvests it: cron in UTC ("0 3 * * *"), "every 6h" (s, m, h, d), or "none".'
)


@main.group()
def sources() -> None:
    """Register, list and remove harvest sources."""


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON or TOML file with the options of a REST source type (checked now).",
)


@sources.command("add")
@click.argument("key")
@click.argument("url")
@click.option("--type", "type_", type=click.Choice(SOURCE_TYPES), default="oai", show_default=True)
@click.option("--prefix", help="OAI-PMH metadataPrefix; default: the best the source offers.")
@click.option("--set", "sets", multiple=True, help="OAI-PMH setSpec to harvest (repeatable).")
@config_option
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
@config_option
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
        n = ctx.store.remove_idle_source(key)
    except SourceNotFound as exc:
        raise click.ClickException(f"no source {key!r}") from exc
    except SourceHeld as exc:
        raise click.ClickException(f"{exc}; remove it when the run has ended") from exc
    catch_up_index(ctx)
    console.print(f"removed source [bold]{key}[/]; {n} records marked deleted")


def read_config_file(path: str) -> Any:
    """A source config file: TOML when it ends in .toml, else JSON."""
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


def check_url(url: str, settings: Settings | None = None) -> None:
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

    result = probe_source(type_, url, ctx.settings.harvest, config)
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
