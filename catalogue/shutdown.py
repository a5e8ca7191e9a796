"""Clean shutdown of the long-running commands (serve, harvest, scheduler, indexer).

SIGTERM is what service managers and container runtimes send; by default it ends Python at
once, skipping every ``finally``: a harvest's run stayed "running" and ``serve``'s indexer
child was left to notice its parent gone. Here SIGTERM raises :class:`Terminated` (a
``KeyboardInterrupt``, so everything that cleans up after Ctrl-C cleans up after it too):
the run in progress rolls its page back and is recorded as interrupted (the next run
resumes from its checkpoint), child processes are told to stop and waited for, leases are
released. A second signal while shutting down is ignored, so the cleanup is not cut short.
Harvests running in other threads (the scheduler's, ``serve``'s queued runs) stop at their
next wait (:mod:`harvester.stop`: for a page, between retries) and
:class:`catalogue.harvesting.LeasedSink` refuses to write once :func:`stopping` is true.
"""

from __future__ import annotations

import errno
import signal
import threading
from types import FrameType

from harvester import stop


class Terminated(stop.Stopped):
    """SIGTERM received (handled as Ctrl-C is)."""


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    if stop.stop_requested():
        return  # already shutting down: let the cleanup finish
    stop.request_stop()
    if signum == signal.SIGTERM:
        raise Terminated("SIGTERM")
    raise KeyboardInterrupt


def stop_cleanly_on_signals() -> None:
    """SIGTERM and SIGINT raise in the main thread (once); call from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def request_stop() -> None:
    """Ask every harvest of this process to stop at its next page (a scheduler's own
    signal handler calls it; the harvests run in its threads)."""
    stop.request_stop()


def stopping() -> bool:
    """Whether a stop signal arrived."""
    return stop.stop_requested()


def address_in_use(exc: OSError) -> bool:
    """Whether ``exc`` says a listening address is taken."""
    return exc.errno in (errno.EADDRINUSE, errno.EACCES)
