"""Where Strongroom keeps its data during a benchmark: a temporary SQLite file or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
import psycopg

# Trust auth on loopback, as in the test setup (README: "PostgreSQL on 127.0.0.1:5432, database `test`").
POSTGRES_ADMIN_URL = os.environ.get("STRONGROOM_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database for one benchmark, dropped afterwards (connections to it are ended first)."""
    name = f"strongroom_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); start it (.ci/run does) "
            f"or run with --backend sqlite"
        ) from None
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_settings(backend: str) -> Iterator[dict[str, str]]:
    """The STRONGROOM_* variables that put the server on ``backend``, valid inside the block."""
    if backend == "sqlite":
        # The embedded default: <DATA_DIR>/strongroom.db.
        yield {}
    elif backend == "postgresql":
        with postgres_database() as url:
            yield {"STRONGROOM_DATABASE_URL": url}
    else:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
