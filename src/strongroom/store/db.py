"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_database_url(url: str) -> str:
    """Accept URLs as people write them: ``postgresql://user@host/db`` means psycopg 3 here."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# Execution option marking sessions that only read (see Database.read_sessions).
READS_ONLY = "strongroom_reads_only"


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
            connection.exec_driver_sql("BEGIN")
            return
        # A transaction that may write takes the write lock up front. A deferred one that
        # reads and then writes fails with SQLITE_BUSY (not a wait) when another writer
        # committed in between; IMMEDIATE makes concurrent writers queue on busy_timeout instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    # For work that only reads (GET requests, token checks): on SQLite these begin a deferred
    # transaction and so do not queue behind writers; on PostgreSQL they are ordinary sessions.
    read_sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, pool_size: int = 10) -> Database:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=8, max_overflow=16)
        _configure_sqlite(engine)
    else:
        # Each process holds up to 3 × pool_size connections: replicas × workers × that must fit
        # PostgreSQL's max_connections (STRONGROOM_DATABASE_POOL_SIZE, README "Running several replicas").
        engine = create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size, pool_pre_ping=True)
    return Database(
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(engine.execution_options(**{READS_ONLY: True}), expire_on_commit=False),
    )
