"""Rows that requests of one event loop insert at about the same time go in one statement and one commit.

A login's one write is the INSERT of its token record, committed by itself.
On PostgreSQL that commit waits for the WAL to be flushed to disk; run
synchronously, the wait holds up the event loop and every request on it,
once per login. On SQLite the commit is the work itself: a pooled
connection, ``BEGIN IMMEDIATE``, the statement and the commit cost more than
the row. Here a request awaits its row instead. Rows handed in while a write
is under way (on PostgreSQL, on the wire; on SQLite, before the loop's next
turn) go in the next write together: one statement and one commit for all of
them (group commit). Each request still returns only after its own row is
committed.

When a write fails (a lost connection, a row the database refuses), each of
its rows is written alone by ``fallback``, a synchronous insert run in a
worker thread, whose error, if any, is that row's request's own. A row whose
statement broke off mid-way may have been committed nonetheless;
``fallback`` treats a row already there as written (``ON CONFLICT DO
NOTHING`` on the primary key).
A call from an event loop other than the first one's is written by
``fallback`` too.

A row may be handed in on a condition: that the access generation
(``strongroom.store.generations``) is still at a given value when its
statement runs. A login that decided on rows kept under that generation
hands its token record in so (``strongroom.auth.logins``): if anything that
decides who may do what changed since, the record is not written, and the
login decides again. The statement checks the counter itself, so the answer
holds at the moment the row is committed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

import anyio
from sqlalchemy import Engine, Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from strongroom.store.generations import access_generation_sql, libpq_conninfo
from strongroom.store.loop_connection import LoopConnection
from strongroom.store.models import AccessGeneration

log = logging.getLogger(__name__)

Row = Mapping[str, Any]

# Rows per statement at most: a statement's size, and the time a row waits behind the others, stay bounded.
MAX_ROWS_PER_STATEMENT = 256

# How long closing waits for a write under way.
CLOSE_TIMEOUT_SECONDS = 10.0

# Handed to the requests whose rows were in a statement that failed: each writes its row alone.
_WRITE_ALONE = object()


def insert_alone(engine: Engine, table: Table) -> Callable[[Row], None]:
    """The fallback: one row, one INSERT on a pooled connection of ``engine``, committed."""
    dialect_insert = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert
    # A row whose grouped statement broke off may be in already: then it is written, not a conflict.
    statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(table.primary_key.columns))

    def insert(row: Row) -> None:
        with engine.connect() as connection:
            connection.execute(statement, dict(row))
            connection.commit()  # a no-op where the driver commits each statement; else the commit

    return insert


def already_written(engine: Engine, table: Table) -> Callable[[Row], bool]:
    """For a conditional row whose statement failed: whether the statement committed it nonetheless.
    (Not written again: its condition may no longer hold, and only its statement checked it.) A statement
    still on the wire of a dropped connection may commit after this answered False: its row is then a
    record whose token was never handed out, which nothing can present."""
    (key,) = table.primary_key.columns
    statement = select(key).where(key == bindparam("key"))

    def written(row: Row) -> bool:
        with engine.connect() as connection:
            return connection.execute(statement, {"key": row[key.name]}).first() is not None

    return written


class GroupedInserts:
    """What both databases share: rows queued with a future each, one writer task, answers, fallback."""

    def __init__(self, engine: Engine, table: Table) -> None:
        self._table = table
        self._fallback = insert_alone(engine, table)
        self._already_written = already_written(engine, table)
        self._columns = [column.name for column in table.columns]
        self._known = frozenset(self._columns)
        (self._key,) = [column.name for column in table.primary_key.columns]
        # Every column is written, so a row must name each one that has a default or may not be NULL:
        # no defaults are applied here.
        self._required = frozenset(column.name for column in table.columns
                                   if column.default is not None or not column.nullable)
        # As SQLAlchemy converts them for this dialect (aware datetimes in UTC, bytes, booleans): both
        # databases take the rows through the driver, not SQLAlchemy's execution machinery.
        self._processors = [column.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
                            for column in table.columns]
        self._access_generation_sql = access_generation_sql(engine)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[Row, int | None, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self.statements = 0  # statements issued: fewer than the rows written, under load

    async def insert(self, row: Row, *, if_access_generation: int | None = None) -> bool:
        """Return once ``row`` is committed; raise what inserting it alone raised, if it failed.

        With ``if_access_generation``, the row is written only if the access generation is still at
        that value when its statement runs; False if it was not written for that reason (or, rarely,
        because its statement failed and the condition could not be checked again), True otherwise.
        """
        missing = self._required - row.keys()
        unknown = row.keys() - self._known
        if missing or unknown:
            raise ValueError(f"a row of {self._table.name} lacks {', '.join(sorted(missing)) or 'nothing'} "
                             f"and has unknown {', '.join(sorted(unknown)) or 'nothing'}")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        if self._closed or loop is not self._loop:
            if if_access_generation is not None:
                return False  # the caller decides again and writes its row unconditionally
            self._fallback(row)
            return True
        written = loop.create_future()
        self._pending.append((row, if_access_generation, written))
        if self._writer is None:
            # Started on the loop's next turn, so the rows handed in before it go in its first statement.
            self._writer = loop.create_task(self._write_pending())
        # A request cancelled here leaves its row in the write it was handed to (if that write fails, the
        # row is not written again: nobody waits for it). Either way its token is never handed out.
        outcome = await written
        if outcome is not _WRITE_ALONE:
            return bool(outcome)
        # In a worker thread: a failed group may hand many rows back, and each alone waits for a
        # commit (or, with the database away, for a connection attempt) that must not stall the loop.
        if if_access_generation is not None:
            return await anyio.to_thread.run_sync(self._already_written, row)
        await anyio.to_thread.run_sync(self._fallback, row)
        return True

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_ROWS_PER_STATEMENT]
                del self._pending[:MAX_ROWS_PER_STATEMENT]
                self.statements += 1
                try:
                    written = await self._write([(row, condition) for row, condition, _ in batch])
                except Exception as exc:
                    log.warning("a grouped insert into %s failed (%s); its %d row(s) are written one by one",
                                self._table.name, type(exc).__name__, len(batch))
                    self._answer(batch, lambda _row: _WRITE_ALONE)
                except BaseException:  # cancelled (the loop is closing): the rows may or may not be in
                    # Nobody is left waiting for a writer.
                    self._answer(batch + self._pending, lambda _row: _WRITE_ALONE)
                    self._pending = []
                    raise
                else:
                    self._answer(batch, lambda row: row[self._key] in written)
        finally:
            self._writer = None

    def _values(self, row: Row) -> list[Any]:
        """The row's values in column order, converted for the driver."""
        return [value if process is None or value is None else process(value)
                for value, process in zip(map(row.get, self._columns), self._processors)]

    @staticmethod
    def _answer(batch: list[tuple[Row, int | None, asyncio.Future[Any]]], outcome: Callable[[Row], Any]) -> None:
        for row, _, written in batch:
            if not written.done():  # not cancelled meanwhile
                written.set_result(outcome(row))

    async def _write(self, rows: list[tuple[Row, int | None]]) -> set[Any]:
        """Write each row whose condition holds (None: no condition), in one statement and commit; return
        the primary keys of the rows written."""
        raise NotImplementedError

    async def _close_connection(self) -> None:
        pass

    async def close(self) -> None:
        """Write what is pending, then close what the writes went over (on the loop they ran on, at shutdown).
        Rows handed in afterwards are written by ``fallback``."""
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            return
        self._closed = True
        if self._writer is not None:
            # Bounded: a database that stopped answering must not hold up the process's exit for good.
            with suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), CLOSE_TIMEOUT_SECONDS)
        await self._close_connection()


# psycopg keeps a statement's placeholders converted only up to this many parameters; a larger statement
# is parsed again on every run (psycopg 3.3's MAX_CACHED_STATEMENT_PARAMS).
PSYCOPG_CACHED_PARAMETERS = 50


class PostgresqlGroupedInserts(GroupedInserts):
    """One INSERT in autocommit, awaited on an async connection of its own (psycopg).

    A few rows go as a ``VALUES`` list. More go as one binary array per column, unnested by the
    server: one statement whatever their number, whose conversion psycopg keeps. (Parsing a
    ``VALUES`` list of eight token records again on every write cost more than the write; setting
    up an array dumper per column costs more than a ``VALUES`` list of up to three records.)
    """

    def __init__(self, engine: Engine, table: Table) -> None:
        super().__init__(engine, table)
        self._connection = LoopConnection(libpq_conninfo(engine))
        # Each row's values and its condition (NULL: none).
        self._most_rows_as_values = max(1, PSYCOPG_CACHED_PARAMETERS // (len(self._columns) + 1))
        # Each value cast to its column's type as SQLAlchemy names it for PostgreSQL, the condition to the
        # counter's; a VARCHAR without its length: an explicit cast to VARCHAR(36) cuts a longer text to
        # fit, where the insert's own conversion refuses it.
        self._types = [re.sub(r"^VARCHAR\(\d+\)$", "VARCHAR", column.type.compile(dialect=engine.dialect))
                       for column in [*table.columns, AccessGeneration.__table__.c.value]]
        self._sql_by_size: dict[int, str] = {}
        self._unnest_sql: str | None = None

    async def _write(self, rows: list[tuple[Row, int | None]]) -> set[Any]:
        import psycopg

        try:
            cursor = await self._connection.cursor()
            values = [[*self._values(row), condition] for row, condition in rows]
            if len(rows) <= self._most_rows_as_values:
                await cursor.execute(self._values_sql(cursor.connection, len(rows)),
                                     [value for row in values for value in row])
            else:
                await cursor.execute(self._unnest(cursor.connection), [list(column) for column in zip(*values)])
            return {key for (key,) in await cursor.fetchall()}
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

    def _insert_from(self, rows: Any, connection: Any) -> str:
        """INSERT of the rows of ``rows`` (each row's values, then its condition) whose condition holds."""
        from psycopg import sql as psql

        columns = psql.SQL(", ").join(map(psql.Identifier, self._columns))
        return psql.SQL(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM {rows} AS given ({columns}, {condition}) "
            "WHERE given.{condition} IS NULL OR given.{condition} = ({access_generation}) RETURNING {key}"
        ).format(table=psql.Identifier(self._table.name), columns=columns, rows=rows,
                 condition=psql.Identifier("if_access_generation"),
                 access_generation=psql.SQL(self._access_generation_sql),
                 key=psql.Identifier(self._key)).as_string(connection)

    def _values_sql(self, connection: Any, rows: int) -> str:
        sql = self._sql_by_size.get(rows)
        if sql is None:
            from psycopg import sql as psql

            # Typed: a VALUES list in FROM takes its column types from its values, and a NULL has none.
            one_row = psql.SQL("({})").format(psql.SQL(", ").join(
                psql.SQL("{}::{}").format(psql.Placeholder(), psql.SQL(name)) for name in self._types))
            sql = self._sql_by_size[rows] = self._insert_from(
                psql.SQL("(VALUES {})").format(psql.SQL(", ").join([one_row] * rows)), connection)
        return sql

    def _unnest(self, connection: Any) -> str:
        if self._unnest_sql is None:
            from psycopg import sql as psql
            from psycopg.adapt import PyFormat

            # Binary: a text array would escape every element with a regular expression.
            arrays = psql.SQL(", ").join(psql.SQL("{}::{}[]").format(psql.Placeholder(format=PyFormat.BINARY),
                                                                     psql.SQL(name))
                                         for name in self._types)
            self._unnest_sql = self._insert_from(psql.SQL("unnest({})").format(arrays), connection)
        return self._unnest_sql

    async def _close_connection(self) -> None:
        await self._connection.close()


class SqliteGroupedInserts(GroupedInserts):
    """The rows in one transaction, run on the loop (SQLite has no round trip to await), on a connection
    of the engine's taken out of its pool for this alone, through the driver.

    Through SQLAlchemy (a pooled connection's checkout and return, its BEGIN, the statement's execution
    context, the commit) a group of one row cost four times the statements themselves. The connection
    opened with the pool's settings (WAL, busy_timeout, foreign keys; autocommit at the driver), so
    ``BEGIN IMMEDIATE`` queues behind another process's writer as every writer here does.
    """

    def __init__(self, engine: Engine, table: Table) -> None:
        super().__init__(engine, table)
        self._engine = engine
        quote = engine.dialect.identifier_preparer.quote
        self._sql = (f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, self._columns))}) "
                     f"VALUES ({', '.join('?' * len(self._columns))})")
        self._connection: Any = None  # the driver's (sqlite3) connection

    async def _write(self, rows: list[tuple[Row, int | None]]) -> set[Any]:
        if self._connection is None:
            pooled = self._engine.raw_connection()
            self._connection = pooled.driver_connection
            pooled.detach()  # closed for real by close(); its place in the pool is free again
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            if any(condition is not None for _, condition in rows):
                # Read under the write lock: no change can come between this and the commit.
                (now,) = connection.execute(self._access_generation_sql).fetchone() or (None,)
                rows = [(row, condition) for row, condition in rows if condition is None or condition == now]
            connection.executemany(self._sql, [self._values(row) for row, _ in rows])
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    await self._close_connection()  # in doubt: the next write opens a new one
            raise
        return {row[self._key] for row, _ in rows}

    async def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(sqlite3.Error):
                connection.close()


def grouped_inserts(engine: Engine, table: Table) -> GroupedInserts:
    if engine.dialect.name == "sqlite":
        return SqliteGroupedInserts(engine, table)
    return PostgresqlGroupedInserts(engine, table)
