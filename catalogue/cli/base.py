"""What every command shares: the root group, its context (settings and store, opened
once per command) and the consoles."""

from __future__ import annotations

import logging
from typing import Any

import click
from rich.console import Console

from catalogue.config import Settings, SettingsError, load_settings
from catalogue.runtime import tune_gc
from catalogue.shutdown import stop_cleanly_on_signals
from catalogue.store import Store

console = Console(stderr=True)


class Context:
    """Settings and a lazily opened, migrated store shared by the subcommands."""

    def __init__(self) -> None:
        from catalogue.store.files import prepare_data_dir

        try:
            self.settings = load_settings()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        # First thing: whatever a command creates in it next (index, database), the data
        # directory is owner-only.
        prepare_data_dir(self.settings.data_dir)
        self._store: Store | None = None
        self._pool_size: int | None = None

    def size_pool(self, connections: int) -> None:
        """Let the store's pool keep ``connections`` open (the threads that use it at once),
        if the store is not open yet."""
        self._pool_size = connections

    @property
    def store(self) -> Store:
        if self._store is None:
            from sqlalchemy.exc import OperationalError

            try:
                self._store = open_store(self.settings, pool_size=self._pool_size)
            except OperationalError as exc:
                raise click.ClickException(database_unreachable(self.settings, exc)) from None
        return self._store


def database_unreachable(settings: Settings, exc: Exception) -> str:
    """One line for a store that cannot be opened: which database (password hidden), and
    the driver's first line (connection refused, no such database, authentication)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"cannot open the database {url} (CATALOGUE_DATABASE_URL): {reason}"


def open_store(settings: Settings, *, pool_size: int | None = None) -> Store:
    """The migrated store; ``pool_size``: connections its pool keeps (default 5)."""
    from catalogue.store import create_store_engine
    from catalogue.store.files import prepare_data_dir, prepare_database_file

    prepare_data_dir(settings.data_dir)
    prepare_database_file(settings.database_url)
    sizing = {} if pool_size is None else {"pool_size": pool_size}
    store = Store(create_store_engine(settings.database_url, **sizing))
    store.migrate()
    return store


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def table_console() -> Console:
    """stdout for tables: as wide as the terminal, or wide enough when piped."""
    import sys

    return Console(width=None if sys.stdout.isatty() else 220)


class CatalogueGroup(click.Group):
    """The root group: an error of the search engine that no command handles itself (a
    cluster of another major version answering 406, refused credentials) is one line."""

    def invoke(self, ctx: click.Context) -> Any:
        from catalogue.search.base import SearchError

        try:
            return super().invoke(ctx)
        except SearchError as exc:
            raise click.ClickException(f"{exc} (CATALOGUE_SEARCH_URL)") from exc


@click.group(cls=CatalogueGroup)
@click.version_option(package_name="catalogue", prog_name="catalogue")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Federated research-metadata catalogue."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # The cluster clients log every failed request with its traceback at WARNING; the
        # catalogue says itself, in one line, what failed and what it does about it.
        for client_logger in ("opensearch", "elastic_transport"):
            logging.getLogger(client_logger).setLevel(logging.ERROR)
    ctx.obj = Context()
    tune_gc()
    stop_cleanly_on_signals()


def run_listeners(ctx: Context) -> list[Any]:
    """What hears of finished runs: failure notices, when configured."""
    from catalogue.notices import listeners_from_settings

    return listeners_from_settings(ctx.store, ctx.settings)


def catch_up_index(ctx: Context) -> None:
    from catalogue.search.indexer import catch_up_if_free

    # None: another indexer (serve's) holds the index and applies the changes itself.
    catch_up_if_free(ctx.store, ctx.settings)
