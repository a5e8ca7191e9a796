"""Fetch the next page while the current one is mapped and stored.

Waiting for the source and parsing its XML (lxml releases the GIL while parsing) overlap
with the CPU work of mapping and storing, so a harvest is bounded by the slower of the two
instead of their sum. At most ``depth`` pages wait in memory, so memory stays flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

from harvester import stop as stop_request

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetched(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield the items of ``pages``, produced by a background thread ``depth`` ahead.

    An exception raised by ``pages`` is re-raised here, in the consumer, at the point the
    failing page would have been yielded. Closing this generator stops the producer.
    Waiting for a page ends in :class:`harvester.stop.Stopped` when the process stops.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        """Queue ``item`` unless the consumer has gone; False when it has."""
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in pages:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, not swallowed
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name="harvest-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = buffer.get(timeout=0.2)
            except queue.Empty:
                stop_request.check()  # a slow page must not hold a stopping process up
                continue
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        # A producer blocked on the socket ends at its timeout; a stopping process does not
        # wait for it (a daemon thread: it only reads, never writes).
        thread.join(timeout=0.5 if stop_request.stop_requested() else 5)
