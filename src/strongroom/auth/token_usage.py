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

from datetime import datetime

from sqlalchemy import bindparam, case, update

from strongroom.background import BatchedWrites
from strongroom.store.db import Database
from strongroom.store.models import IdentityAccessToken, UtcDateTime

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

Uses = tuple[int, datetime]  # how many, and the latest


def _one_more(pending: Uses | None, use: Uses) -> Uses:
    if pending is None:
        return use
    return pending[0] + use[0], max(pending[1], use[1])


class TokenUsage(BatchedWrites[str, Uses]):
    def __init__(self, database: Database) -> None:
        super().__init__(_one_more)
        self._database = database

    def record(self, token_id: str, moment: datetime) -> None:
        self._record(token_id, (1, moment))

    def _write(self, pending: dict[str, Uses]) -> None:
        rows = [{"token_id": token_id, "uses": uses, "used_at": last} for token_id, (uses, last) in pending.items()]
        # Sorted, so two replicas flushing at once lock rows in the same order and cannot deadlock.
        rows.sort(key=lambda row: row["token_id"])
        with self._database.engine.begin() as connection:
            connection.execute(_ADD_USES.execution_options(synchronize_session=False), rows)
