"""One request's database work: one pooled connection, one transaction, and an ORM session only if asked for.

Most requests are a secret read served from the rendered-read cache, and all
that takes is the change counters (``strongroom.store.generations``), read on
a connection of their own, and the rows kept under them; failing those, two
Core statements: the token check and the access decision. An ORM ``Session``
around them (its transaction bookkeeping, its begin and its close) would cost
more than both statements together, so the connection is taken only when a
statement needs it, and a session is put on it when something needs the ORM. That
session then takes over the transaction already begun on the connection;
``commit`` commits the Core statements and the session's work together, and
``close`` rolls back whatever was not committed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from strongroom.store.generations import Generations, KeptAtGeneration


class NotKept(Exception):
    """A unit of work limited to kept rows needed the database."""


class UnitOfWork:
    def __init__(self, connectable: Engine, sessions: sessionmaker[Session], *, reads_only: bool,
                 kept: KeptAtGeneration, read_generations: Callable[[], Generations], kept_only: bool = False) -> None:
        self._connectable = connectable
        # Limited to rows kept under the generations it is given: its first statement, or read of the
        # counters, raises NotKept instead. What it decides rests on those rows alone, and so on nothing
        # but those generations, which the caller may then check as it writes (strongroom.auth.logins).
        self._kept_only = kept_only
        self._sessions = sessions
        self._reads_only = reads_only
        self._kept = kept
        self._read_generations = read_generations
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._generations: Generations | None = None

    @property
    def connection(self) -> Connection:
        """For Core statements; it begins the transaction on first use, as a session would."""
        if self._connection is None:
            if self._kept_only:
                raise NotKept("this unit of work may use kept rows only")
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
        """The change counters as last committed when first asked (asked again after a commit).

        Read outside this unit's transaction, on a connection of their own: a cached
        secret read then takes no connection and begins no transaction at all.
        """
        if self._generations is None:
            if self._kept_only:
                raise NotKept("this unit of work may use kept rows only, under the generations it was given")
            self._generations = self._read_generations()
        return self._generations

    def use_generations(self, generations: Generations) -> None:
        """Counters the caller has just read (awaited, on the event loop) stand for the first ask."""
        if self._generations is None:
            self._generations = generations

    def kept(self, key: Hashable) -> Any | None:
        """What an earlier unit of work read and kept under ``key``, if no change to who may do what came since.

        None also once a unit that may write has taken its connection: from then on it decides on
        rows read in its own transaction (on SQLite under the write lock), which show the changes
        it made itself and leave no moment for another to change them before it writes.
        """
        if not self._reads_only and self._connection is not None:
            return None
        return self._kept.get(key, self.generations.access)

    def keep(self, key: Hashable, generation: int, value: Any) -> None:
        """Keep ``value``, read by a statement that also read the access generation as ``generation``.

        Kept only if that is the generation this unit saw committed. A statement that sees a
        change this unit's own transaction made reads a higher one (the triggers ran in that
        transaction), and what it read must not outlive the transaction: if it rolls back, its
        generation is reached again by some other change. A higher one committed meanwhile by
        another transaction is kept by the next read instead.
        """
        if generation == self.generations.access:
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
