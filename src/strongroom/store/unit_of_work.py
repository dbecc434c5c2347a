"""One request's database work: one pooled connection, one transaction, and an ORM session only if asked for.

Most requests are a secret read served from the rendered-read cache, and all
that takes is two Core statements: the token check and the access decision.
An ORM ``Session`` around them (its transaction bookkeeping, its begin and its
close) would cost more than both statements together, so the connection is
taken first, and a session is put on it when something needs the ORM. That
session then takes over the transaction already begun on the connection;
``commit`` commits the Core statements and the session's work together, and
``close`` rolls back whatever was not committed.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    def __init__(self, connectable: Engine, sessions: sessionmaker[Session]) -> None:
        self._connectable = connectable
        self._sessions = sessions
        self._connection: Connection | None = None
        self._session: Session | None = None

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

    def commit(self) -> None:
        """Commit what was done so far; further work begins a new transaction."""
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
