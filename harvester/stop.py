"""A process-wide request to stop harvesting, for harvests that run in threads.

A signal reaches the main thread only. ``catalogue harvest`` harvests there, so SIGTERM
interrupts it at once; the scheduler and ``serve`` harvest in worker threads, which would
notice only at their next page, after waiting for it (a slow source: minutes). Whoever
handles the signal calls :func:`request_stop`; every wait of a harvest (for the next page,
between the reads of a body, between retries, for a rate limit, for a request made with
:func:`interruptible`) then ends in :class:`Stopped`, which a run records as interrupted
(it resumes from its checkpoint).

A thread blocked in a socket read (a server that took the request and never answers) would
notice only at its socket timeout, so the stop also shuts down the socket of every
connection registered with :func:`cut_at_stop` (every harvester connection is:
:mod:`harvester.url_policy`): the read fails at once and :mod:`harvester.http` reports
the failure as :class:`Stopped`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_requested = threading.Event()
# Reentrant: request_stop runs in a signal handler, which may interrupt the main thread
# while it holds the lock in cut_at_stop.
_lock = threading.RLock()
# Weak: a connection the pool dropped is forgotten with it.
_connections: weakref.WeakSet[Any] = weakref.WeakSet()


class Stopped(KeyboardInterrupt):
    """The process is stopping: handled as Ctrl-C is (the run in progress is recorded as
    interrupted and the exception goes on up)."""


def request_stop() -> None:
    """Stop every harvest of this process at its next wait, and cut its connections."""
    _requested.set()
    with _lock:
        connections = list(_connections)
    for connection in connections:
        _cut(connection)


def cut_at_stop(connection: Any) -> None:
    """Shut the socket of ``connection`` (its ``sock``: an ``http.client`` or urllib3
    connection) down when a stop is requested (now, when it already was). Call it once the
    connection is connected; registering it again is harmless."""
    with _lock:
        _connections.add(connection)
    if _requested.is_set():
        _cut(connection)


def _cut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    # Closed already, or not a socket: nothing is blocked on it.
    with contextlib.suppress(OSError, TypeError, ValueError):
        # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop the TLS
        # state under the thread reading. SHUT_RDWR ends a recv blocked in another thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


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


def interruptible(call: Callable[[], T], poll: float = 0.2) -> T:
    """``call()``, given up at a stop request (then :class:`Stopped`) even while it waits
    on a socket: outside the main thread it runs in a daemon thread, left to end on its own
    (a request: it only reads; its connection is cut). In the main thread a signal
    interrupts it anyway."""
    check()
    if threading.current_thread() is threading.main_thread():
        return call()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, if it still waits
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="harvest-request", daemon=True).start()
    while not done.wait(poll):
        check()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
