"""On PostgreSQL, pooled connections stay in autocommit: units of work begin their own transaction, reads do not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from strongroom.store.db import Database
from tests.conftest import postgres_database
from tests.store.notes import database_with_notes

TRANSACTION_ID = text("SELECT txid_current()")


@pytest.fixture
def database() -> Iterator[Database]:
    with postgres_database() as url, database_with_notes(url) as opened:
        yield opened


def _notes(database: Database) -> list[str]:
    with database.read_sessions() as session:
        return list(session.scalars(text("SELECT body FROM notes ORDER BY body")))


def test_a_unit_of_work_is_one_transaction(database: Database) -> None:
    with database.sessions() as session:
        first, second = session.scalar(TRANSACTION_ID), session.scalar(TRANSACTION_ID)
        session.commit()
    assert first == second


def test_a_unit_of_work_that_fails_leaves_nothing(database: Database) -> None:
    with database.sessions() as session:
        session.execute(text("INSERT INTO notes VALUES ('kept')"))
        session.commit()
    with pytest.raises(RuntimeError), database.sessions() as session:
        session.execute(text("INSERT INTO notes VALUES ('half-written')"))
        raise RuntimeError("the route failed before committing")
    assert _notes(database) == ["kept"]
    # The connection went back to the pool clean: the next unit of work does not inherit the insert.
    with database.sessions() as session:
        session.execute(text("INSERT INTO notes VALUES ('next')"))
        session.commit()
    assert _notes(database) == ["kept", "next"]


@pytest.mark.parametrize("kind", ["read_sessions", "autocommit_sessions"])
def test_reads_and_logins_commit_statement_by_statement(database: Database, kind: str) -> None:
    with getattr(database, kind)() as session:
        first, second = session.scalar(TRANSACTION_ID), session.scalar(TRANSACTION_ID)
    assert first != second
