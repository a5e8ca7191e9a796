"""Several web worker processes behind one port: ``catalogue serve --workers N``.

gunicorn's pre-fork master with N ``gthread`` workers (each with ``threads`` threads).
Every worker builds its own app after the fork (no preload): a database pool, a tantivy
reader or a search-cluster client must never be shared across a fork. The indexer is not
a worker's business: ``catalogue serve`` runs it in a child process of its own, or
``catalogue indexer`` runs it apart (``--no-indexer`` here).
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class WorkerPool(BaseApplication):
    """A gunicorn application serving ``create_app(settings)`` from N processes."""

    def __init__(self, settings: dict[str, Any], options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from catalogue.store import Store
        from catalogue.web.app import create_app

        # the serving process migrated the store already; workers only open it
        return create_app(self.settings, store=Store(self.settings["database_url"]))


def serve_workers(
    settings: dict[str, Any], host: str, port: int, workers: int, threads: int
) -> None:
    """Serve until the master is stopped (SIGINT/SIGTERM); blocks."""
    WorkerPool(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 120,
            "graceful_timeout": 10,
            "loglevel": "warning",
            "accesslog": None,
            "proc_name": "catalogue-web",
        },
    ).run()
