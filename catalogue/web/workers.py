"""Several web worker processes behind one port: ``catalogue serve --workers N``.

gunicorn's pre-fork master with N ``gthread`` workers (each with ``threads`` threads).
Every worker builds its own app after the fork (no preload): a database pool, a tantivy
reader or a search-cluster client must never be shared across a fork. The indexer is not
a worker's business: ``catalogue serve`` runs it in a child process of its own, or
``catalogue indexer`` runs it apart (``--no-indexer`` here).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

if TYPE_CHECKING:
    from catalogue.config import Settings


class WorkerPool(BaseApplication):
    """A gunicorn application serving ``create_app(settings)`` from N processes."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from catalogue.store import Store, create_store_engine
        from catalogue.web.app import create_app

        # the serving process migrated the store already; workers only open it, with a
        # pooled connection per thread (fewer made the pool open and close them all along)
        engine = create_store_engine(self.settings.database_url, pool_size=self.options["threads"])
        return create_app(self.settings, store=Store(engine))


def _json_error(sock: Any, status: int, reason: str, message: str) -> None:
    """gunicorn's answer to a request it cannot parse, in the API's JSON error shape."""
    body = json.dumps(
        {"status": status, "message": reason, "errors": [{"field": "", "message": message[:300]}]}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker whose protocol errors (raw non-ASCII bytes in the
    request target, bad headers) are JSON like every other error of the API, as waitress's
    are (catalogue.web.server). gunicorn renders them with ``util.write_error`` and has no
    setting for it, so this worker process replaces that function for itself."""

    def init_process(self) -> None:
        util.write_error = _json_error
        super().init_process()


def serve_workers(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    """Serve until the master is stopped (SIGINT/SIGTERM); blocks."""
    WorkerPool(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "catalogue.web.workers.JsonErrorWorker",
            "threads": threads,
            "timeout": 120,
            "graceful_timeout": 10,
            "loglevel": "warning",
            "accesslog": None,
            "proc_name": "catalogue-web",
        },
    ).run()
