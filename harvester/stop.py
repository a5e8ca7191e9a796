"""A process-wide request to stop harvesting, for harvests that run in threads.

A signal reaches the main thread only. ``catalogue harvest`` harvests there, so SIGTERM
interrupts it at once; the scheduler and ``serve`` harvest in worker threads, which would
notice only at their next page, after waiting for it (a slow source: minutes). Whoever
handles the signal calls :func:`request_stop`; every wait of a harvest (for the next page,
between the reads of a body, between retries, for a rate limit) then ends in
:class:`Stopped`, which a run records as interrupted (it resumes from its checkpoint).
A socket read that is blocked still ends only at its ``timeout``.
"""

from __future__ import annotations

import threading

_requested = threading.Event()


class Stopped(KeyboardInterrupt):
    """The process is stopping: handled as Ctrl-C is (the run in progress is recorded as
    interrupted and the exception goes on up)."""


def request_stop() -> None:
    """Stop every harvest of this process at its next wait."""
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise :class:`Stopped` when a stop was requested."""
    if _requested.is_set():
        raise Stopped("the process is stopping")


def pause(seconds: float) -> None:
    """``time.sleep(seconds)``, cut short by a stop request (then :class:`Stopped`)."""
    if _requested.wait(max(0.0, seconds)):
        raise Stopped("the process is stopping")
