"""Validation against registered JSON Schemas, bounded in time and memory and off the web
process.

A registered schema is code a client wrote that runs on every deposit naming it. Measured
here: the Python ``jsonschema`` validator took 16 s (holding the GIL, so every other
request waited) for ``^(a+)+$`` on 29 characters and 2 minutes for ``uniqueItems`` over
6,000 objects. ``jsonschema-rs`` with the ``regex`` crate's engine (linear-time matching,
no backtracking: patterns that need lookaround or backreferences are refused at
registration) does both in under a millisecond, but nested ``anyOf`` still costs
exponential time in the depth of the data (depth 18: 42 s), and the Rust code holds the
GIL while it runs.

So validation runs in worker processes (``python -m catalogue.web.schema_worker``, JSON
lines over pipes): the web thread waits on a pipe without the GIL, a worker that takes
longer than ``ingest.schema_timeout`` seconds is killed (the deposit gets a 422) and
replaced, and each worker's address space is capped (:data:`WORKER_MEMORY_BYTES`).
At most ``ingest.schema_workers`` validations run at once; a deposit waits for a free
worker up to the timeout, then gets a 503.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import queue
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from typing import Any

# A worker's address space; well above a validator of a 1 MiB schema on a 1 MiB record.
WORKER_MEMORY_BYTES = 1 << 30
# Errors reported per record (the response caps them again).
MAX_ERRORS = 100
_COMPILED_PER_WORKER = 64
IDLE_EXIT_SECONDS = 300


class SchemaValidationError(Exception):
    """Validation did not finish: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def compile_schema(schema: Any) -> Any:
    """A jsonschema-rs validator for ``schema`` with the linear-time regex engine; raises
    ValueError when the schema cannot be compiled that way."""
    import jsonschema_rs

    try:
        return jsonschema_rs.validator_for(
            schema,
            validate_formats=True,
            pattern_options=jsonschema_rs.RegexOptions(),
            retriever=_no_retrieval,
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(message) from None


def _no_retrieval(uri: str) -> Any:
    # Registered schemas are self-contained: nothing is ever fetched.
    raise ValueError(f"{uri}: registered schemas must be self-contained")


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "catalogue.web.schema_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        line = json.dumps(request, ensure_ascii=True).encode() + b"\n"
        deadline = time.monotonic() + timeout
        try:
            self.process.stdin.write(line)
            self.process.stdin.flush()
        except OSError as exc:
            raise SchemaValidationError(500, "the schema validator stopped") from exc
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, remaining))
        if not ready:
            raise TimeoutError
        answer = self.process.stdout.readline()
        if not answer:
            raise SchemaValidationError(
                422, "validation against this schema needs more memory than a record may use"
            )
        return json.loads(answer)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class SchemaValidators:
    """A small pool of validator processes, started on first use."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.size = max(1, int(workers))
        self.timeout = float(timeout)
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(self.size):
            self._idle.put(None)  # a slot: a worker is started when the slot is first used
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        atexit.register(self.close)

    def errors(self, sha256: str, content: str, instance: Any) -> list[tuple[list[Any], str]]:
        """(instance path, message) of each violation; SchemaValidationError when the
        validation times out, cannot run, or no worker frees up in time."""
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise SchemaValidationError(
                503, "every schema validator is busy; try again shortly"
            ) from None
        try:
            if worker is not None and worker.process.poll() is not None:
                self._discard(worker)  # it exited while idle
                worker = None
            if worker is None:
                worker = _Worker()
                with self._lock:
                    self._all.add(worker)
            request = {"sha": sha256, "schema": content, "instance": instance}
            try:
                answer = worker.ask(request, self.timeout)
            except (TimeoutError, SchemaValidationError) as exc:
                self._discard(worker)
                worker = None
                if isinstance(exc, SchemaValidationError):
                    raise
                raise SchemaValidationError(
                    422,
                    f"validation against this schema took longer than {self.timeout:g} s "
                    "(the schema is too costly for this record)",
                ) from None
        finally:
            self._idle.put(worker)
        if "unusable" in answer:
            raise SchemaValidationError(422, f"the schema cannot be applied: {answer['unusable']}")
        return [(path, message) for path, message in answer["errors"]]

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.kill()


_POOL_LOCK = threading.Lock()


def validators(extensions: dict[str, Any], ingest: dict[str, Any]) -> SchemaValidators:
    """The app's pool (in ``app.extensions``), made on first use from ``ingest`` settings."""
    pool = extensions.get("schema_validators")
    if pool is None:
        with _POOL_LOCK:
            pool = extensions.get("schema_validators")
            if pool is None:
                pool = SchemaValidators(
                    ingest.get("schema_workers", 2), ingest.get("schema_timeout", 2.0)
                )
                extensions["schema_validators"] = pool
    return pool


def _serve() -> None:
    """The worker loop: one JSON request per line in, one JSON answer per line out."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ImportError, ValueError, OSError):
        pass
    compiled: OrderedDict[str, Any] = OrderedDict()
    while True:
        # An idle worker exits (the pool starts another when needed): apps that come and
        # go (tests, reloads) leave no processes behind.
        ready, _, _ = select.select([sys.stdin], [], [], IDLE_EXIT_SECONDS)
        if not ready:
            return
        line = sys.stdin.buffer.readline()
        if not line:
            return
        request = json.loads(line)
        sha = request["sha"]
        try:
            validator = compiled.get(sha)
            if validator is None:
                validator = compile_schema(json.loads(request["schema"]))
                compiled[sha] = validator
                if len(compiled) > _COMPILED_PER_WORKER:
                    compiled.popitem(last=False)
            compiled.move_to_end(sha)
            found = []
            for error in validator.iter_errors(request["instance"]):
                found.append([list(error.instance_path), error.message[:1000]])
                if len(found) >= MAX_ERRORS:
                    break
            answer: dict[str, Any] = {"errors": found}
        except (ValueError, RecursionError) as exc:
            answer = {"unusable": str(exc)[:500]}
        sys.stdout.write(json.dumps(answer, ensure_ascii=True) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
