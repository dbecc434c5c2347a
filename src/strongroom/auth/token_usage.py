"""Uses of access tokens that have no use limit, counted in memory and written in batches.

A token limited to N uses is counted by a conditional UPDATE on every request
(``AccessTokens._spend_one_use``): that count decides, so it may never lag. A
token without a limit only needs its use count and last-used time for the
operator's eyes, and those may lag by a second: counting them here keeps
every read request a pure read (on SQLite, no write lock; on PostgreSQL, no
row lock that all requests with one token would queue on). Revocation and
expiry are still checked against the database on every request.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import bindparam, case, update

from strongroom.background import PeriodicJob
from strongroom.store.db import Database
from strongroom.store.models import IdentityAccessToken, UtcDateTime

FLUSH_INTERVAL_SECONDS = 1.0

_column = IdentityAccessToken.access_token_last_used_at
_stamp = bindparam("used_at", type_=UtcDateTime())
_ADD_USES = (
    update(IdentityAccessToken)
    .where(IdentityAccessToken.id == bindparam("token_id"))
    .values(
        access_token_num_uses=IdentityAccessToken.access_token_num_uses + bindparam("uses"),
        # Never backwards: another replica may have written a later use already.
        access_token_last_used_at=case((_column.is_(None), _stamp), (_column < _stamp, _stamp), else_=_column),
    )
)


class TokenUsage:
    def __init__(self, database: Database, interval_seconds: float = FLUSH_INTERVAL_SECONDS) -> None:
        self._database = database
        self._pending: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()
        self._job = PeriodicJob("token-usage", interval_seconds, self.flush)

    def record(self, token_id: str, moment: datetime) -> None:
        with self._lock:
            uses, last = self._pending.get(token_id, (0, moment))
            self._pending[token_id] = (uses + 1, max(last, moment))

    def flush(self) -> int:
        """Write what was counted since the last flush; returns how many tokens were updated."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        rows = [{"token_id": token_id, "uses": uses, "used_at": last} for token_id, (uses, last) in pending.items()]
        # Sorted, so two replicas flushing at once lock rows in the same order and cannot deadlock.
        rows.sort(key=lambda row: row["token_id"])
        with self._database.engine.begin() as connection:
            connection.execute(_ADD_USES.execution_options(synchronize_session=False), rows)
        return len(rows)

    def start(self) -> None:
        self._job.start()

    def stop(self) -> None:
        self._job.stop()
        self.flush()
