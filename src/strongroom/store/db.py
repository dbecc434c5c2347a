"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from strongroom.store.generations import (
    GenerationReader, Generations, KeptAtGeneration, SharedGenerationReads, generations_sql, libpq_conninfo,
)
from strongroom.store.grouped_inserts import GroupedInserts, grouped_inserts
from strongroom.store.unit_of_work import UnitOfWork


def normalise_database_url(url: str) -> str:
    """Accept URLs as people write them: ``postgresql://user@host/db`` means psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# Execution options marking sessions that only read, and sessions whose statements commit one by one
# (see Database.read_sessions and Database.autocommit_sessions).
READS_ONLY = "strongroom_reads_only"
STATEMENTS_COMMIT_ONE_BY_ONE = "strongroom_statements_commit_one_by_one"


def _begin_on_sqlite(connection, statement: str) -> None:  # type: ignore[no-untyped-def]
    # Straight to the driver: through SQLAlchemy's execution machinery a BEGIN costs about 15 µs,
    # and an embedded database has no lost connection for SQLAlchemy to notice.
    connection.connection.driver_connection.execute(statement)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        if connection.get_execution_options().get(READS_ONLY):
            # Readers never wait in WAL mode: many read transactions run side by side.
            _begin_on_sqlite(connection, "BEGIN")
            return
        # A transaction that may write takes the write lock up front. A deferred one that
        # reads and then writes fails with SQLITE_BUSY (not a wait) when another writer
        # committed in between; IMMEDIATE makes concurrent writers queue on busy_timeout instead.
        _begin_on_sqlite(connection, "BEGIN IMMEDIATE")


def _configure_postgresql(engine: Engine) -> None:
    # Every pooled connection is in autocommit at the driver, set once when it opens; sessions that
    # need a transaction begin one here. Switching a connection's isolation level on every checkout
    # and back on every return costs more than the statement of a typical request.
    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        if not connection.get_execution_options().get(STATEMENTS_COMMIT_ONE_BY_ONE):
            # Through SQLAlchemy, which notices a lost connection and drops it from the pool.
            connection.exec_driver_sql("BEGIN")


# A pooled PostgreSQL connection idle for longer than this is checked with a round trip before use
# (the server may have restarted, or a firewall dropped the connection, meanwhile). One in steady
# use is not: pinging on every checkout would add a round trip to every request.
IDLE_SECONDS_BEFORE_PING = 10.0


def _ping_connections_that_sat_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_SECONDS_BEFORE_PING:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # in autocommit (see _configure_postgresql): nothing to roll back
        except Exception as exc:
            # The pool discards this connection and tries a fresh one.
            raise DisconnectionError("pooled connection did not answer") from exc


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    # For work that only reads (GET and HEAD requests, their token check included): on SQLite these
    # begin a deferred transaction and so do not queue behind writers; on PostgreSQL they run in autocommit.
    read_sessions: sessionmaker[Session]
    # For work that reads, then writes at most one statement (a login, which takes only the connection
    # of its unit of work): on PostgreSQL every statement commits by itself, with no BEGIN and COMMIT
    # round trips; on SQLite, where a transaction costs nothing and a writer must take the lock up
    # front, these are ordinary sessions.
    autocommit_sessions: sessionmaker[Session]
    # Token records and access decisions read from this database, kept under its access generation.
    kept: KeptAtGeneration = field(default_factory=KeptAtGeneration)
    _generation_reader: GenerationReader = field(init=False, repr=False)
    _shared_reads: SharedGenerationReads | None = field(init=False, repr=False)
    _grouped_inserts: dict[Table, GroupedInserts] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        engine = self.read_sessions.kw["bind"]
        self._generation_reader = GenerationReader(engine)
        self._shared_reads = None
        if not self.is_sqlite:
            # An embedded database has no round trip to wait on: there the synchronous read is the cheaper.
            self._shared_reads = SharedGenerationReads(libpq_conninfo(engine), generations_sql(engine),
                                                       self.read_generations)

    def unit_of_work(self, sessions: sessionmaker[Session] | None = None, *, kept_only: bool = False) -> UnitOfWork:
        """A unit of work with the engine and session settings of ``sessions`` (one of the three above);
        ``kept_only``: one that may use kept rows and nothing else (UnitOfWork)."""
        sessions = sessions or self.sessions
        return UnitOfWork(sessions.kw["bind"], sessions, reads_only=sessions is self.read_sessions, kept=self.kept,
                          read_generations=self.read_generations, kept_only=kept_only)

    def read_generations(self) -> Generations:
        """The change counters as last committed (strongroom.store.generations)."""
        return self._generation_reader()

    async def await_generations(self) -> Generations:
        """The same, awaited on the event loop: on PostgreSQL the loop serves other requests meanwhile,
        and requests asking at once share a read issued after all of them asked (SharedGenerationReads)."""
        if self._shared_reads is None:
            return self.read_generations()
        return await self._shared_reads()

    def generations_last_read(self) -> Generations | None:
        """On PostgreSQL, the counters as the last awaited read found them, without a read; None on SQLite
        (where a read costs less than anything built on this would save) or before any read."""
        return self._shared_reads.last_read if self._shared_reads is not None else None

    def grouped_inserts(self, table: Table) -> GroupedInserts:
        """Inserts into ``table`` awaited on the event loop, those made at about the same time written
        in one statement and one commit (strongroom.store.grouped_inserts)."""
        grouped = self._grouped_inserts.get(table)
        if grouped is None:
            grouped = self._grouped_inserts[table] = grouped_inserts(self.autocommit_sessions.kw["bind"], table)
        return grouped

    async def close_async(self) -> None:
        """What belongs to the event loop (at the end of the lifespan, on that loop)."""
        for grouped in self._grouped_inserts.values():
            await grouped.close()
        if self._shared_reads is not None:
            await self._shared_reads.close()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self._generation_reader.close()
        self.engine.dispose()


def open_database(url: str, pool_size: int = 10) -> Database:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=16)
        _configure_sqlite(engine)
        reads = engine.execution_options(**{READS_ONLY: True})
        single_statements = engine
    else:
        # Each process holds up to 3 × pool_size connections, two more that read the change counters
        # (GenerationReader, SharedGenerationReads) and one that writes token records (GroupedInserts):
        # replicas × workers × that must fit PostgreSQL's max_connections
        # (STRONGROOM_DATABASE_POOL_SIZE, README "Running several replicas").
        engine = create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size, isolation_level="AUTOCOMMIT")
        _configure_postgresql(engine)
        _ping_connections_that_sat_idle(engine)
        # Under PostgreSQL's READ COMMITTED every statement sees its own snapshot, in a transaction or
        # not; so a read, or a read and one write, needs no BEGIN and COMMIT, which are a round trip each.
        reads = single_statements = engine.execution_options(**{STATEMENTS_COMMIT_ONE_BY_ONE: True})
    return Database(
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(reads, expire_on_commit=False),
        autocommit_sessions=sessionmaker(single_statements, expire_on_commit=False),
    )
