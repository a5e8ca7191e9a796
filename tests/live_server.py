"""The real WSGI app on a real localhost port, in a thread: shared by the web, OAI-PMH and
ingest tests (importable from any test module: tests/ is on sys.path through its conftest)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from werkzeug.serving import make_server


def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` until the generator is closed; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
