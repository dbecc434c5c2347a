"""A unit of work: Core statements on its connection and the ORM on its session are one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from strongroom.store.db import Database
from tests.conftest import postgres_database
from tests.store.notes import database_with_notes


class _Base(DeclarativeBase):
    pass


class Note(_Base):
    __tablename__ = "notes"
    body: Mapped[str] = mapped_column(String(64), primary_key=True)


NOTES = Table("notes", MetaData(), Column("body", String(64), primary_key=True))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        with database_with_notes(f"sqlite:///{tmp_path / 'notes.db'}") as opened:
            yield opened
    else:
        with postgres_database() as url, database_with_notes(url) as opened:
            yield opened


def _notes(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.scalars(select(NOTES.c.body).order_by(NOTES.c.body)))


def test_core_then_orm_commit_together(database: Database) -> None:
    with database.unit_of_work() as work:
        work.connection.execute(insert(NOTES), {"body": "core"})
        work.session.add(Note(body="orm"))
        work.commit()
    assert _notes(database) == ["core", "orm"]


def test_the_session_sees_what_the_connection_wrote_before_it_existed(database: Database) -> None:
    with database.unit_of_work() as work:
        work.connection.execute(insert(NOTES), {"body": "core"})
        assert work.session.get(Note, "core") is not None


def test_nothing_is_kept_without_a_commit(database: Database) -> None:
    with pytest.raises(RuntimeError), database.unit_of_work() as work:
        work.connection.execute(insert(NOTES), {"body": "core"})
        work.session.add(Note(body="orm"))
        work.session.flush()
        raise RuntimeError("the route failed before committing")
    assert _notes(database) == []


def test_core_alone_commits(database: Database) -> None:
    with database.unit_of_work() as work:
        work.connection.execute(insert(NOTES), {"body": "core"})
        work.commit()
    assert _notes(database) == ["core"]


def test_work_after_a_commit_is_a_transaction_of_its_own(database: Database) -> None:
    with pytest.raises(RuntimeError), database.unit_of_work() as work:
        work.connection.execute(insert(NOTES), {"body": "counted"})
        work.commit()  # as a use-limited token's use is committed before its route runs
        work.session.add(Note(body="route"))
        work.session.flush()
        raise RuntimeError("the route failed")
    assert _notes(database) == ["counted"]


def test_core_work_after_the_session_was_made_commits(database: Database) -> None:
    with database.unit_of_work() as work:
        work.session  # made, but it has run nothing yet
        work.connection.execute(insert(NOTES), {"body": "core"})
        work.commit()
    assert _notes(database) == ["core"]


def test_core_work_after_the_sessions_commit_commits(database: Database) -> None:
    with database.unit_of_work() as work:
        work.session.add(Note(body="orm"))
        work.commit()
        work.connection.execute(insert(NOTES), {"body": "core"})
        work.commit()
    assert _notes(database) == ["core", "orm"]
