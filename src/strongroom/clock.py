"""The one clock. Everything that compares against "now" takes a Clock so expiry is testable."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def timestamp(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def timestamp(self) -> float:
        return time.time()


def iso(moment: datetime | None) -> str | None:
    """JavaScript ``Date.toJSON`` form (milliseconds, ``Z``), which Infisical's clients parse."""
    if moment is None:
        return None
    if moment.tzinfo is not timezone.utc:  # what the store hands back already is
        moment = moment.astimezone(timezone.utc)
    # isoformat truncates to milliseconds, as toJSON does; the first 23 characters leave out the "+00:00".
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"
