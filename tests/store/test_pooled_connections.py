"""PostgreSQL connections are pinged only after sitting idle, and a dead one is replaced, not handed out."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from strongroom.store import db as store_db
from strongroom.store.db import Database, open_database
from tests.conftest import POSTGRES_ADMIN_URL, postgres_database


@pytest.fixture
def database() -> Iterator[Database]:
    with postgres_database() as url:
        opened = open_database(url, pool_size=1)
        try:
            yield opened
        finally:
            opened.dispose()


def _backend_pid(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_dropped_while_idle_is_replaced_before_use(database: Database,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first = _backend_pid(database)
    _terminate(first)  # a server restart, or a firewall dropping the idle connection
    monkeypatch.setattr(store_db, "IDLE_SECONDS_BEFORE_PING", 0.0)
    second = _backend_pid(database)  # would fail if the dead connection were handed out
    assert second != first


def test_a_connection_in_steady_use_is_used_without_a_ping(database: Database) -> None:
    # No round trip before a connection used moments ago: if it died meanwhile, that one statement
    # fails (and the pool drops it), the price of not pinging before every request.
    first = _backend_pid(database)
    _terminate(first)
    with pytest.raises(OperationalError):
        _backend_pid(database)
    assert _backend_pid(database) != first
