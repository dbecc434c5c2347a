"""Change counters that database triggers move forward, and reads kept under them.

Two counters, each moved by triggers in the transaction of the change itself,
so no write path (ORM, Core statement, cascade, an operator's SQL) and no
replica can change what they watch without moving them:

- the read generation (migration 0005): anything a secret read shows;
  rendered answers are kept under it (``strongroom.secrets.rendered``);
- the access generation (migrations 0006 and 0007): anything that decides who
  may do what (a token's record, an identity's organisation role, an auth
  method's settings, projects, project memberships and their roles).

A unit of work reads both, as last committed, before anything else
(``UnitOfWork.generations``). A row that the token check or the access
decision read at access generation g is the row a fresh query would return for
as long as the counter stays at g, so a later request that sees g takes the kept
row instead of running the query again; a cached secret read needs no other
statement, and no transaction. Only the rows are kept: every check
(revocation, expiry, the client's IP, roles in force now) is applied to them
on every request.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, select

from strongroom.store.loop_connection import LoopConnection
from strongroom.store.models import AccessGeneration, ReadGeneration

log = logging.getLogger("strongroom.store")


class Generations(NamedTuple):
    access: int
    read: int


# The access generation as a column: the token check, the access decision and a login read it in the same
# statement as their rows, which are kept under it (UnitOfWork.keep).
_ACCESS_COUNTER = select(AccessGeneration.value).where(AccessGeneration.id == 1)
ACCESS_GENERATION = _ACCESS_COUNTER.scalar_subquery().label("access_generation")

READ_GENERATIONS = select(
    ACCESS_GENERATION,
    select(ReadGeneration.value).where(ReadGeneration.id == 1).scalar_subquery(),
)

_SQL_BY_DIALECT: dict[str, str] = {}


def libpq_conninfo(engine: Engine) -> str:
    """The engine's PostgreSQL URL as psycopg takes it, for a connection made outside the engine's pool."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def generations_sql(engine: Engine) -> str:
    """READ_GENERATIONS as SQL for the engine's dialect, compiled once per dialect."""
    dialect = engine.dialect
    sql = _SQL_BY_DIALECT.get(dialect.name)
    if sql is None:
        sql = _SQL_BY_DIALECT[dialect.name] = str(
            READ_GENERATIONS.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return sql


def read_generations(engine: Engine) -> Generations:
    """Both counters as last committed, read on a pooled connection of their own.

    Pooled connections are in the driver's autocommit between units of work (store.db), so
    the one SELECT needs no BEGIN or COMMIT, and it runs on the driver's cursor: through
    SQLAlchemy's execution machinery it cost 15 times what the driver takes (30 µs against
    2 µs on the benchmark's machine), and a connection with a transaction around it another
    20 % of a cached secret read. The SQL is what SQLAlchemy compiles for the dialect. If the
    driver raises, the connection is discarded and the statement is run again through
    SQLAlchemy, which reports the error in its own terms.
    """
    sql = generations_sql(engine)
    pooled = engine.raw_connection()
    try:
        cursor = pooled.cursor()
        try:
            cursor.execute(sql)
            row = cursor.fetchone()
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error:
        pooled.invalidate()
        with engine.connect() as connection:
            return _or_never_seen(Generations(*connection.execute(READ_GENERATIONS).one()))
    finally:
        pooled.close()
    return _or_never_seen(Generations(*row))


# The access generation as it stands when a statement runs: a conditional row is written only if it is the
# value the row names (strongroom.store.grouped_inserts). On PostgreSQL read FOR SHARE: a change that moved
# the counter but has not committed yet makes the statement wait for it and see the new value, and a change
# that comes after waits for the statement's commit (the triggers update the counter's row). So the
# condition holds when the row commits, not only when its statement began. (SQLite reads it under BEGIN
# IMMEDIATE's lock, which does the same.) The row's foreign-key check then locks its identity: a delete of
# an identity locks the counter first (lock_access_generation), so the two queue instead of deadlocking.
_ACCESS_COUNTER_FOR_CONDITION = _ACCESS_COUNTER.with_for_update(read=True)


def access_generation_sql(engine: Engine) -> str:
    """_ACCESS_COUNTER_FOR_CONDITION as SQL for the engine's dialect."""
    return str(_ACCESS_COUNTER_FOR_CONDITION.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


def lock_access_generation(connection: Connection) -> None:
    """On PostgreSQL, take the access generation's row lock now, before the transaction locks any other row.

    A login's conditional write reads the counter FOR SHARE, then checks its foreign key on the identity
    (strongroom.store.grouped_inserts); deleting an identity locks the identity's row, then the counter
    (its triggers). Taken in that order the two could deadlock; a delete that takes the counter first
    makes them queue instead. (On SQLite a writer holds the whole database from BEGIN IMMEDIATE.)
    """
    if connection.dialect.name == "postgresql":
        connection.execute(_ACCESS_COUNTER.with_for_update())


class GenerationReader:
    """Reads the counters on a connection kept for that alone, else as ``read_generations`` does.

    Every authenticated request starts here, and most need nothing else from the database:
    their token row, access rows and rendered answer are kept. Taking a connection from the
    pool and giving it back cost three times the statement itself. So one connection, taken
    out of the pool for good (it opened with the pool's settings: autocommit, SQLite's
    pragmas), serves every read that finds it free; a read that finds it busy (another
    thread is reading) takes a pooled connection instead of waiting. If the driver raises
    on it (PostgreSQL restarted, say), the connection is dropped, the read goes the pooled
    way, and the next read opens a new one.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sql = generations_sql(engine)
        self._error = engine.dialect.loaded_dbapi.Error
        self._lock = threading.Lock()
        self._connection: Any = None  # the driver's connection
        self._cursor: Any = None

    def __call__(self) -> Generations:
        if not self._lock.acquire(blocking=False):
            return read_generations(self._engine)
        try:
            if self._cursor is None:
                self._open()
            self._cursor.execute(self._sql)
            row = self._cursor.fetchone()
        except self._error:
            self._drop()
            return read_generations(self._engine)
        finally:
            self._lock.release()
        return _or_never_seen(Generations(*row))

    def _open(self) -> None:
        pooled = self._engine.raw_connection()
        pooled.detach()  # closed for real when dropped; its place in the pool is free again
        self._connection = pooled
        self._cursor = pooled.cursor()  # if this raises, the caller's _drop closes the connection

    def _drop(self) -> None:
        connection, self._connection, self._cursor = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except self._error:
                pass  # already broken: nothing else to release

    def close(self) -> None:
        with self._lock:
            self._drop()


# Handed to a waiting request instead of counters: it issues the next read, for itself and those waiting with it.
_LEAD = object()
# Handed to the requests waiting on a read that failed: each reads on its own, and meets its own error.
_READ_ALONE = object()


class SharedGenerationReads:
    """On PostgreSQL: the counters for every request of the event loop that asks while a read is on the wire.

    The counters' round trip is a wait the event loop would otherwise spend idle,
    once per request. A request awaits it here instead, so the loop serves other
    requests meanwhile, and every request that asks during one read shares the
    next one, issued after the last of them asked: each still sees every change
    committed before it asked, exactly as a read of its own would. Under load a
    loop pays for one statement per round trip instead of one per request.

    The statement goes over an async connection of its own (psycopg). Anything
    going wrong there (no connection, a driver error, a call from another event
    loop) ends in ``fallback``, the synchronous reader, whose errors are those
    the request sees.
    """

    def __init__(self, conninfo: str, sql: str, fallback: Callable[[], Generations]) -> None:
        self._connection = LoopConnection(conninfo)
        self._sql = sql
        self._fallback = fallback
        self._reading = False
        self._waiting: list[asyncio.Future[Any]] = []
        self.statements = 0  # reads issued: fewer than the requests served, under load
        # What the last read returned: the counters as committed a round trip ago under load, but
        # possibly long ago when idle. Only a decision that is checked again when it is written may
        # start from it (strongroom.auth.logins).
        self.last_read: Generations | None = None

    async def __call__(self) -> Generations:
        if not self._connection.serves_this_loop():
            return self._fallback()
        loop = asyncio.get_running_loop()
        if self._reading:
            waiting = loop.create_future()
            self._waiting.append(waiting)
            try:
                outcome = await waiting
            except asyncio.CancelledError:
                if waiting.done() and not waiting.cancelled() and waiting.result() is _LEAD:
                    self._hand_over()  # cancelled as it was handed the lead: pass it on
                raise
            if outcome is _READ_ALONE:
                return self._fallback()
            if outcome is not _LEAD:
                return outcome  # type: ignore[no-any-return]
        self._reading = True
        # Everyone waiting now asked before the read below is issued: it answers them too.
        batch, self._waiting = self._waiting, []
        try:
            generations = await self._read()
        except Exception:
            for waiting in batch:
                if not waiting.done():
                    waiting.set_result(_READ_ALONE)  # each meets the error (or not) on its own
            raise
        except BaseException:  # cancelled, say: the batch is still unanswered
            self._waiting[:0] = batch  # the next read, issued later, answers them
            raise
        else:
            for waiting in batch:
                if not waiting.done():
                    waiting.set_result(generations)
        finally:
            self._hand_over()
        return generations

    def _hand_over(self) -> None:
        """The first request still waiting issues the next read; if none waits, the next to ask will."""
        while self._waiting:
            waiting = self._waiting.pop(0)
            if not waiting.done():  # not cancelled meanwhile
                waiting.set_result(_LEAD)
                return
        self._reading = False

    async def _read(self) -> Generations:
        import psycopg

        self.statements += 1
        try:
            cursor = await self._connection.cursor()
            await cursor.execute(self._sql)
            row = await cursor.fetchone()
        except (psycopg.Error, OSError):
            await self._connection.drop()
            return self._fallback()
        except asyncio.CancelledError:
            await self._connection.drop()  # the statement may still be on the wire: its state is unknown
            raise
        self.last_read = _or_never_seen(Generations(*row))
        return self.last_read

    async def close(self) -> None:
        """Close the async connection (on the loop that opened it, at shutdown)."""
        await self._connection.close()


# Negative: a counter starts at 1 and only moves up.
_never_seen = itertools.count(-1, -1)


def _or_never_seen(generations: Generations) -> Generations:
    """A missing counter row (deleted, or a restore without it) reads as NULL, which the triggers
    would never move again: it reads instead as a value no read was ever kept under, nor ever will
    be, so nothing kept is reused while it is missing."""
    if generations.access is not None and generations.read is not None:
        return generations
    log.warning("a change counter row is missing (access_generation or read_generation, id 1): "
                "nothing is reused until it is back")
    return Generations(generations.access if generations.access is not None else next(_never_seen),
                       generations.read if generations.read is not None else next(_never_seen))


# One entry per live token and per (identity, project) pair in use: a few hundred bytes each.
DEFAULT_CAPACITY = 16384


class KeptAtGeneration:
    """Values read at some access generation, by key, most recently used kept; at most ``capacity`` of them."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._highest = 0
        # Units of work run on the event loop and in worker threads alike.
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: int) -> Any | None:
        """The value kept under ``key`` if it was read at ``generation``; None otherwise."""
        with self._lock:
            if generation < self._highest:
                # The counter went backwards (the database was restored from a backup, or failed over
                # to a replica that lagged): the generations kept values were read at may be reached
                # again by other changes, so none of them is evidence of anything any more.
                self._entries.clear()
            self._highest = max(self._highest, generation)
            entry = self._entries.get(key)
            if entry is None or entry[0] != generation:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def keep(self, key: Hashable, generation: int, value: Any) -> None:
        with self._lock:
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            if len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    @property
    def highest(self) -> int:
        """The highest generation asked for: one lower would read as the counter gone backwards."""
        return self._highest

    def __len__(self) -> int:
        return len(self._entries)
