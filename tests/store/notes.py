"""A database opened as Strongroom opens its own, holding one table of notes, for the store's tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from strongroom.store.db import Database, open_database


@contextmanager
def database_with_notes(url: str) -> Iterator[Database]:
    database = open_database(url, pool_size=1)
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body varchar(64) PRIMARY KEY)"))
    try:
        yield database
    finally:
        database.dispose()
