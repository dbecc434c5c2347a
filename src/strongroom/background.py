"""A job a process runs every few seconds on a daemon thread, off the request path."""

from __future__ import annotations

import logging
import random
import threading
from typing import Callable

log = logging.getLogger("strongroom.background")


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
