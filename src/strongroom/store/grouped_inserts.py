"""On PostgreSQL: rows that requests of one event loop insert at the same time go in one statement and one commit.

A login's one write is the INSERT of its token record. It commits by itself,
and that commit waits for PostgreSQL to flush its WAL to disk. Run
synchronously, that wait holds up the event loop and every request on it,
once per login. Here a request awaits its row instead, so the loop serves
other requests meanwhile. Rows handed in while a statement is on the wire
go in the next statement together: one round trip and one flush for all of
them (group commit). Each request still returns only after its own row is
committed.

The statement goes over an async connection of its own (psycopg). When it
fails (a lost connection, a row the database refuses, a call from another
event loop), each row of the failed statement is written alone by
``fallback``, a synchronous insert, whose error, if any, is that row's
request's own. A row whose statement broke off mid-way may have been
committed nonetheless; ``fallback`` must treat a row already there as
written (``on_conflict_do_nothing``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.engine import Dialect

from strongroom.store.loop_connection import LoopConnection

log = logging.getLogger(__name__)

Row = Mapping[str, Any]

# Rows per statement at most: a statement's size, and the time a row waits behind the others, stay bounded.
MAX_ROWS_PER_STATEMENT = 256

# Handed to the requests whose rows were in a statement that failed: each writes its row alone.
_WRITE_ALONE = object()


def insert_alone(engine: Engine, table: Table) -> Callable[[Row], None]:
    """The fallback: one row, one INSERT on a pooled connection of ``engine`` (in autocommit)."""
    # A row whose grouped statement broke off may be in already: then it is written, not a conflict.
    statement = postgresql_insert(table).on_conflict_do_nothing(index_elements=list(table.primary_key.columns))

    def insert(row: Row) -> None:
        with engine.connect() as connection:
            connection.execute(statement, dict(row))
            connection.commit()  # a no-op where the driver commits each statement; else the commit

    return insert


class GroupedInserts:
    def __init__(self, conninfo: str, table: Table, dialect: Dialect, fallback: Callable[[Row], None]) -> None:
        self._connection = LoopConnection(conninfo)
        self._table = table
        self._fallback = fallback
        self._columns = [column.name for column in table.columns]
        # Every column is written, so a row must name each one that has a default or may not be NULL:
        # this does not apply defaults as SQLAlchemy's INSERT would.
        self._required = frozenset(column.name for column in table.columns
                                   if column.default is not None or not column.nullable)
        # As SQLAlchemy converts them for this dialect (aware datetimes in UTC, bytes, booleans).
        self._processors = [column.type.bind_processor(dialect) for column in table.columns]
        self._sql_by_size: dict[int, str] = {}
        self._pending: list[tuple[tuple[Any, ...], Row, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self.statements = 0  # statements issued: fewer than the rows written, under load

    async def insert(self, row: Row) -> None:
        """Return once ``row`` is committed; raise what inserting it alone raised, if it failed."""
        missing = self._required - row.keys()
        if missing:
            raise ValueError(f"a row of {self._table.name} lacks {', '.join(sorted(missing))}")
        if self._closed or not self._connection.serves_this_loop():
            self._fallback(row)
            return
        loop = asyncio.get_running_loop()
        written = loop.create_future()
        self._pending.append((self._values(row), row, written))
        if self._writer is None:
            # Started on the loop's next turn, so the rows handed in before it go in its first statement.
            self._writer = loop.create_task(self._write_pending())
        # A request cancelled here leaves its row to be written all the same: as a token record committed
        # just before its request was cancelled, it is never handed out.
        if await written is _WRITE_ALONE:
            self._fallback(row)

    def _values(self, row: Row) -> tuple[Any, ...]:
        return tuple(value if process is None or value is None else process(value)
                     for value, process in zip(map(row.get, self._columns), self._processors))

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_ROWS_PER_STATEMENT]
                del self._pending[:MAX_ROWS_PER_STATEMENT]
                outcome: Any = None
                try:
                    await self._write([values for values, _, _ in batch])
                except Exception as exc:
                    log.warning("a grouped insert into %s failed (%s); its %d row(s) are written one by one",
                                self._table.name, type(exc).__name__, len(batch))
                    outcome = _WRITE_ALONE
                except BaseException:  # cancelled (the loop is closing): the rows may or may not be in
                    self._answer(batch, _WRITE_ALONE)
                    raise
                self._answer(batch, outcome)
        finally:
            self._writer = None

    @staticmethod
    def _answer(batch: list[tuple[tuple[Any, ...], Row, asyncio.Future[Any]]], outcome: Any) -> None:
        for _, _, written in batch:
            if not written.done():  # not cancelled meanwhile
                written.set_result(outcome)

    async def _write(self, rows: list[tuple[Any, ...]]) -> None:
        import psycopg

        self.statements += 1
        try:
            connection = await self._connection.get()
            await connection.execute(self._sql(connection, len(rows)), [value for row in rows for value in row])
        except psycopg.Error:
            connection = self._connection.current
            # A refused row leaves the connection idle and fit for the next statement; anything else drops it.
            if connection is not None and (connection.broken or connection.closed
                                           or connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE):
                await self._connection.drop()
            raise
        except BaseException:  # cancelled, or the network: the statement may still be on the wire
            await self._connection.drop()
            raise

    def _sql(self, connection: Any, rows: int) -> str:
        sql = self._sql_by_size.get(rows)
        if sql is None:
            from psycopg import sql as psql

            one_row = psql.SQL("({})").format(psql.SQL(", ").join([psql.Placeholder()] * len(self._columns)))
            sql = self._sql_by_size[rows] = psql.SQL("INSERT INTO {} ({}) VALUES {}").format(
                psql.Identifier(self._table.name),
                psql.SQL(", ").join(map(psql.Identifier, self._columns)),
                psql.SQL(", ").join([one_row] * rows),
            ).as_string(connection)
        return sql

    async def close(self) -> None:
        """Write what is pending, then close the async connection (on the loop that opened it, at shutdown).
        Rows handed in afterwards are written by ``fallback``."""
        if not self._connection.serves_this_loop():
            return
        self._closed = True
        if self._writer is not None:
            with suppress(Exception):
                await asyncio.shield(self._writer)
        await self._connection.close()
