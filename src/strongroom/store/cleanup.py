"""Deleting expired and revoked access-token records in the background, so the table stays bounded.

Every login inserts a record; without this, the table grows by the login rate
forever. Each process runs one ``TokenCleanup`` thread (started with the app,
see ``strongroom.app``), so requests never wait for it. Each pass deletes in
batches, each batch its own short transaction. On PostgreSQL a batch is chosen
``FOR UPDATE SKIP LOCKED``: replicas cleaning at the same moment take disjoint
batches, and none waits on a record a request is updating. On SQLite the batch
waits for the database's write lock like any other writer.

A record is deleted ``retention`` after its token expired, or after it was
revoked (its last update). Deleting earlier would change nothing a client sees
(an expired token is refused by its JWT ``exp`` before its record is read, and
a revoked or missing record both answer 401 "No identity access token found");
the retention keeps them for the operator's eyes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select

from strongroom.background import PeriodicJob
from strongroom.clock import Clock
from strongroom.store.db import Database
from strongroom.store.models import IdentityAccessToken

log = logging.getLogger("strongroom.cleanup")

# Small enough that a batch holds its locks for milliseconds, large enough to keep up with
# thousands of logins a second at one batch per few milliseconds.
BATCH_SIZE = 500


def _expired_before(cutoff: datetime) -> ColumnElement[bool]:
    return IdentityAccessToken.expires_at < cutoff


def _revoked_before(cutoff: datetime) -> ColumnElement[bool]:
    # Written as the partial index ix_identity_access_tokens_revoked_updated_at is (migration 0004).
    return (IdentityAccessToken.is_revoked == True) & (IdentityAccessToken.updated_at < cutoff)  # noqa: E712


class TokenCleanup:
    def __init__(self, database: Database, clock: Clock, *, interval_seconds: float, retention_seconds: float,
                 batch_size: int = BATCH_SIZE) -> None:
        self.database = database
        self.clock = clock
        self.retention_seconds = retention_seconds
        self.batch_size = batch_size
        self._job = PeriodicJob("token-cleanup", interval_seconds, self._run_and_report)

    def start(self) -> None:
        self._job.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._job.stop(timeout)

    def run_once(self) -> int:
        """One pass: delete, batch after batch, every record past its retention. Returns how many were deleted."""
        cutoff = self.clock.now() - timedelta(seconds=self.retention_seconds)
        deleted = 0
        for condition in (_expired_before(cutoff), _revoked_before(cutoff)):
            while not self._job.stopping:
                batch = self._delete_batch(condition)
                deleted += batch
                if batch < self.batch_size:
                    break
        return deleted

    def _run_and_report(self) -> None:
        deleted = self.run_once()
        if deleted:
            log.debug("token cleanup deleted %d records", deleted)

    def _delete_batch(self, condition: ColumnElement[bool]) -> int:
        chosen = (
            select(IdentityAccessToken.id)
            .where(condition)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no row locks and renders nothing
        )
        statement = delete(IdentityAccessToken).where(IdentityAccessToken.id.in_(chosen.scalar_subquery()))
        with self.database.engine.begin() as connection:
            return connection.execute(statement).rowcount
