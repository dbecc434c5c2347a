"""Work a process does in the background: jobs on a daemon thread (the token cleanup), and
bookkeeping recorded in memory and flushed on the event loop (token uses, last logins)."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from typing import Any, Callable, Generic, TypeVar

log = logging.getLogger("strongroom.background")

K = TypeVar("K")
V = TypeVar("V")


class PeriodicJob:
    def __init__(self, name: str, interval_seconds: float, job: Callable[[], object]) -> None:
        self.name = name
        self.interval_seconds = interval_seconds
        self._job = job
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        if self.interval_seconds <= 0 or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"strongroom-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        # Jitter, so replicas started together do not run in lockstep.
        while not self._stopping.wait(self.interval_seconds * random.uniform(0.8, 1.2)):
            try:
                self._job()
            except Exception as exc:  # noqa: BLE001 - the next run tries again; requests are unaffected
                # Only the type: a database error's text can quote parameters.
                log.warning("%s failed: %s", self.name, type(exc).__name__)


class BatchedWrites(Generic[K, V]):
    """Bookkeeping that may lag a little: recorded in memory, written in one batch at each ``flush``.

    A subclass records with ``_record(key, value)``, where ``merge(previous, new)`` folds a new value
    into what is pending for its key (``previous`` is None for the first), and writes a batch in
    ``_write(pending)``. The server flushes every second on its event loop (``flush_periodically``).
    A batch whose write fails is dropped with a warning: these are counters and times for people to
    read, never what a decision rests on.
    """

    def __init__(self, merge: Callable[[V | None, V], V]) -> None:
        self._merge = merge
        self._pending: dict[K, V] = {}
        self._lock = threading.Lock()

    def _record(self, key: K, value: V) -> None:
        with self._lock:
            self._pending[key] = self._merge(self._pending.get(key), value)

    def _write(self, pending: dict[K, V]) -> None:
        raise NotImplementedError

    def flush(self) -> int:
        """Write what was recorded since the last flush; returns how many keys were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            self._write(pending)
        return len(pending)


async def flush_periodically(interval_seconds: float, *batches: BatchedWrites[Any, Any]) -> None:
    """Flush ``batches`` every ``interval_seconds`` until cancelled.

    On the event loop, like the requests, and not on a thread of its own: a flush is a few
    milliseconds of writes that run between two requests, so it never waits on a request's
    transaction nor a request on its (a thread's flush would hold SQLite's write lock while
    waiting for the GIL, and every writing request would sleep in SQLite's busy handler).
    """
    while True:
        await asyncio.sleep(interval_seconds)
        for batch in batches:
            try:
                batch.flush()
            except Exception as exc:  # noqa: BLE001 - the next flush tries again; requests are unaffected
                log.warning("%s flush failed: %s", type(batch).__name__, type(exc).__name__)
