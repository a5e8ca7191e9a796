"""Fetch the next page while the current one is mapped and stored.

Waiting for the source and parsing its XML (lxml releases the GIL while parsing) overlap
with the CPU work of mapping and storing, so a harvest is bounded by the slower of the two
instead of their sum. At most ``depth`` pages wait in memory, so memory stays flat; after a
large page (``large``: a ListRecords page of many MB) none is fetched until it was taken,
as such a page costs more memory than its fetch time is worth hiding.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from harvester import stop as stop_request

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetched(
    pages: Iterator[T], depth: int = 2, large: Callable[[T], bool] | None = None
) -> Iterator[T]:
    """Yield the items of ``pages``, produced by a background thread ``depth`` ahead
    (one ahead after an item that is ``large``).

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
                big = large is not None and large(item)
                if not put(item):
                    return
                del item  # the consumer's now: not kept alive while the next one is read
                if big:
                    while not buffer.empty():  # taken: then the next one is fetched
                        if stop.wait(0.05):
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
