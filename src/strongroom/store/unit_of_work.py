"""One request's database work: one pooled connection, one transaction, and an ORM session only if asked for.

Most requests are a secret read served from the rendered-read cache, and all
that takes is two Core statements: the token check and the access decision.
An ORM ``Session`` around them (its transaction bookkeeping, its begin and its
close) would cost more than both statements together, so the connection is
taken first, and a session is put on it when something needs the ORM. That
session then takes over the transaction already begun on the connection;
``commit`` commits the Core statements and the session's work together, and
``close`` rolls back whatever was not committed.

The unit of work also reads the change counters (``strongroom.store.generations``)
when first asked, and takes from and adds to the reads kept under them.
"""

from __future__ import annotations

from collections.abc import Hashable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from strongroom.store.generations import Generations, KeptAtGeneration, read_generations


class UnitOfWork:
    def __init__(self, connectable: Engine, sessions: sessionmaker[Session], kept: KeptAtGeneration) -> None:
        self._connectable = connectable
        self._sessions = sessions
        self._kept = kept
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._generations: Generations | None = None
        self._may_keep = False

    @property
    def connection(self) -> Connection:
        """For Core statements; it begins the transaction on first use, as a session would."""
        if self._connection is None:
            self._connection = self._connectable.connect()
        return self._connection

    @property
    def session(self) -> Session:
        """For the ORM: on the same connection and in the same transaction as the Core statements."""
        if self._session is None:
            self._session = self._sessions(bind=self.connection, join_transaction_mode="control_fully")
        return self._session

    @property
    def generations(self) -> Generations:
        """The change counters as this transaction first saw them (read again after a commit)."""
        if self._generations is None:
            connection = self.connection
            # Read first in its transaction, the counters cannot include a change this transaction made.
            self._may_keep = not connection.in_transaction()
            self._generations = read_generations(connection)
        return self._generations

    def kept(self, key: Hashable) -> Any | None:
        """What an earlier unit of work read and kept under ``key``, if no change to who may do what came since."""
        return self._kept.get(key, self.generations.access)

    def keep(self, key: Hashable, generation: int, value: Any) -> None:
        """Keep ``value``, read by a statement that also read the access generation as ``generation``.

        Kept only if that is the generation this transaction started at, read before anything
        else in it. Otherwise either another transaction committed a change meanwhile (the
        next read keeps it), or this one changed who may do what itself: what it read then
        must not outlive it, since if it rolls back its generation is reached again by some
        other change.
        """
        if generation == self.generations.access and self._may_keep:
            self._kept.keep(key, generation, value)

    def commit(self) -> None:
        """Commit what was done so far; further work begins a new transaction."""
        self._generations = None
        if self._session is not None:
            self._session.commit()
        # Core statements the session never saw (run before its first use, or after its last commit)
        # are in a transaction of the connection's own.
        if self._connection is not None and self._connection.in_transaction():
            self._connection.commit()

    def close(self) -> None:
        """Roll back what was not committed and return the connection to the pool."""
        try:
            if self._session is not None:
                self._session.close()
        finally:
            if self._connection is not None:
                self._connection.close()

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
