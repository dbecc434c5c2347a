"""Bookkeeping flushed on the event loop: every batch each time, and a failing one does not stop the others."""

from __future__ import annotations

import asyncio
import logging

import pytest

from strongroom.background import BatchedWrites, flush_periodically


class Counts(BatchedWrites[str, int]):
    def __init__(self, fail: bool = False) -> None:
        super().__init__(lambda previous, new: (previous or 0) + new)
        self.fail = fail
        self.written: list[dict[str, int]] = []

    def add(self, key: str) -> None:
        self._record(key, 1)

    def _write(self, pending: dict[str, int]) -> None:
        if self.fail:
            raise RuntimeError("database down")
        self.written.append(pending)


def test_records_are_merged_until_the_flush_writes_them_once() -> None:
    counts = Counts()
    for key in ("a", "a", "b", "a"):
        counts.add(key)
    assert counts.flush() == 2
    assert counts.written == [{"a": 3, "b": 1}]
    assert counts.flush() == 0 and len(counts.written) == 1


def test_the_loop_flushes_every_batch_and_goes_on_past_a_failing_one(caplog: pytest.LogCaptureFixture) -> None:
    failing, healthy = Counts(fail=True), Counts()

    async def run() -> None:
        flushing = asyncio.create_task(flush_periodically(0.01, failing, healthy))
        for round_number in range(3):
            failing.add("x")
            healthy.add(f"key-{round_number}")
            await asyncio.sleep(0.05)
        flushing.cancel()

    with caplog.at_level(logging.WARNING, logger="strongroom.background"):
        asyncio.run(run())
    assert [key for batch in healthy.written for key in batch] == ["key-0", "key-1", "key-2"]
    assert "Counts flush failed: RuntimeError" in caplog.text
