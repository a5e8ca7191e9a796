"""Work run beside the calling thread: a search's facets while it reads its hits.

tantivy releases the GIL while it searches and aggregates, so on a machine with a core to
spare the facets (the larger half of a faceted search) cost no extra wait. The pool is
per process: a worker forked from a process that had one (gunicorn's pre-fork workers)
gets its own, since threads do not survive ``fork``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

# Enough for every core; a search waits for its facets anyway, so more threads than cores
# would only queue the same work.
_WORKERS = max(2, os.cpu_count() or 2)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def beside(fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """``fn(*args)`` started on another thread; ``.result()`` returns or raises its outcome."""
    global _pool, _pool_pid
    pid = os.getpid()
    if _pool is None or _pool_pid != pid:
        with _lock:
            if _pool is None or _pool_pid != pid:
                _pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="search-beside")
                _pool_pid = pid
    return _pool.submit(fn, *args)
