"""Apply the Alembic migrations (at server start and by ``strongroom db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


# Any fixed 64-bit number, the same in every replica: the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK_ID = 0x5354524F4E47  # "STRONG"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe when several replicas start at once on one database.

    On PostgreSQL the first replica migrates while the others wait on an advisory
    lock, then find the schema current. (SQLite needs no lock: its migration
    transaction takes the database's write lock, see ``store.db``.)
    """
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as lock_holder:
        lock_holder.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK_ID})")
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock_holder.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK_ID})")
            lock_holder.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
