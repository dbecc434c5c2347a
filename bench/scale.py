"""``--scale``: a database as big as a busy instance's, loaded straight into the tables before measuring.

Issue 7 asks that the figures not depend on the size of the data: with
100,000 identities, 1,000,000 live access-token records and 10,000 secrets in
other projects, every scenario stays within 15% of its small-database rate.
Going through the API would take hours (each login is a signature check and
an insert), so the rows are written with SQLAlchemy Core bulk inserts
(executemany, 20,000 rows a batch, one transaction per table) into the
database of the harness's second, "scale" server, before any load runs. The
rows are complete and consistent (foreign keys hold, every identity has an
organisation membership and OIDC Auth, every token a live record), but they
are not usable by anyone: token hashes and sealed values are random bytes.

What is loaded, besides the benchmark's own instance:

- ``IDENTITIES`` identities in the benchmark's organisation, each with an
  organisation membership (role no-access) and OIDC Auth;
- ``TOKENS_PER_IDENTITY`` live access-token records per identity (not
  revoked, expiring in 30 days): ``IDENTITIES × TOKENS_PER_IDENTITY`` in all;
- ``PROJECTS`` other projects of that organisation, each with dev, staging
  and prod (one root folder each), ``SECRETS_PER_PROJECT`` secrets in dev at
  ``/`` (each with its first version row), and ``MEMBERS_PER_PROJECT`` of the
  identities as viewers.

Afterwards the database is analysed (PostgreSQL: ``VACUUM ANALYZE``, which
autovacuum would do on its own shortly after such a load, and which must not
run in the middle of a measurement instead; SQLite: ``ANALYZE`` and a WAL
checkpoint), so the planner knows the tables' sizes.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, func, insert, select, text

from strongroom.store.db import normalise_database_url
from strongroom.store.models import (
    Identity,
    IdentityAccessToken,
    IdentityOidcAuth,
    IdentityOrgMembership,
    IdentityProjectMembership,
    IdentityProjectMembershipRole,
    Project,
    ProjectEnvironment,
    Secret,
    SecretFolder,
    SecretVersion,
)

IDENTITIES = 100_000
TOKENS_PER_IDENTITY = 10
PROJECTS = 100
SECRETS_PER_PROJECT = 100
MEMBERS_PER_PROJECT = 100
BATCH_ROWS = 20_000
ENVIRONMENTS = (("Development", "dev"), ("Staging", "staging"), ("Production", "prod"))
TOKEN_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class ScaleLoad:
    """What was loaded, and how long it took."""

    rows: dict[str, int]
    seconds: float
    table_sizes: dict[str, int]  # rows per table afterwards, the benchmark's own included

    def as_json(self) -> dict[str, Any]:
        return {"inserted": self.rows, "seconds": round(self.seconds, 1), "rows_after": self.table_sizes}

    def describe(self) -> str:
        sizes = self.table_sizes
        return (
            f"{sizes['identities']:,} identities, {sizes['identity_access_tokens']:,} access-token records, "
            f"{sizes['secrets']:,} secrets in {sizes['projects']:,} projects (loaded in {self.seconds:.0f} s)"
        )


def _new_id() -> str:
    return str(uuid.uuid4())


def _batches(rows: Iterator[dict[str, Any]], size: int = BATCH_ROWS) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Loader:
    def __init__(self, engine: Engine, org_id: str, now: datetime, progress: Callable[[str], None]) -> None:
        self.engine = engine
        self.org_id = org_id
        self.now = now
        self.progress = progress
        self.counts: dict[str, int] = {}

    def insert(self, table: Table, rows: Iterator[dict[str, Any]]) -> None:
        started, count = time.monotonic(), 0
        with self.engine.begin() as connection:
            for batch in _batches(rows):
                connection.execute(insert(table), batch)  # executemany: no RETURNING, no ORM
                count += len(batch)
        self.counts[table.name] = self.counts.get(table.name, 0) + count
        self.progress(f"  {table.name}: {count:,} rows in {time.monotonic() - started:.1f} s")

    def stamps(self) -> dict[str, datetime]:
        return {"created_at": self.now, "updated_at": self.now}


def load(database_url: str, org_id: str, progress: Callable[[str], None], *, seed: int = 7) -> ScaleLoad:
    """Write the scale data set into the database at ``database_url``, next to organisation ``org_id``'s own rows."""
    rng = random.Random(seed)
    engine = create_engine(normalise_database_url(database_url))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _wait_for_locks(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.execute("PRAGMA busy_timeout=30000")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

    now = datetime.now(timezone.utc)
    loader = _Loader(engine, org_id, now, progress)
    started = time.monotonic()
    try:
        identity_ids = [_new_id() for _ in range(IDENTITIES)]
        _load_identities(loader, identity_ids)
        _load_tokens(loader, identity_ids, rng)
        _load_projects(loader, identity_ids, rng)
        _analyse(engine)
        sizes = _table_sizes(engine)
    finally:
        engine.dispose()
    return ScaleLoad(rows=loader.counts, seconds=time.monotonic() - started, table_sizes=sizes)


def _load_identities(loader: _Loader, identity_ids: list[str]) -> None:
    stamps = loader.stamps()
    loader.insert(Identity.__table__, (
        {"id": identity_id, "org_id": loader.org_id, "name": f"scale-workload-{n}", "has_delete_protection": False,
         **stamps}
        for n, identity_id in enumerate(identity_ids)
    ))
    loader.insert(IdentityOrgMembership.__table__, (
        {"id": _new_id(), "identity_id": identity_id, "org_id": loader.org_id, "role": "no-access",
         "last_login_auth_method": "oidc-auth", "last_login_time": loader.now, **stamps}
        for identity_id in identity_ids
    ))
    loader.insert(IdentityOidcAuth.__table__, (
        {"id": _new_id(), "identity_id": identity_id, "oidc_discovery_url": "https://oidc.scale.example.org",
         "ca_cert": "", "bound_issuer": "https://oidc.scale.example.org", "bound_audiences": "strongroom",
         "bound_claims": {}, "claim_metadata_mapping": None,
         "bound_subject": f"spiffe://scale.example.org/workload/{n}", "access_token_ttl": 600,
         "access_token_max_ttl": 3600, "access_token_num_uses_limit": 0, "access_token_trusted_ips": [], **stamps}
        for n, identity_id in enumerate(identity_ids)
    ))


def _load_tokens(loader: _Loader, identity_ids: list[str], rng: random.Random) -> None:
    expires_at = loader.now + TOKEN_LIFETIME

    def rows() -> Iterator[dict[str, Any]]:
        for identity_id in identity_ids:
            for _ in range(TOKENS_PER_IDENTITY):
                yield {
                    "id": _new_id(), "identity_id": identity_id, "auth_method": "oidc-auth",
                    "token_hash": os.urandom(32), "name": None, "access_token_ttl": 600,
                    "access_token_max_ttl": 3600, "access_token_num_uses": rng.randrange(50),
                    "access_token_num_uses_limit": 0, "access_token_last_used_at": loader.now,
                    "access_token_last_renewed_at": None, "expires_at": expires_at, "is_revoked": False,
                    "created_at": loader.now, "updated_at": loader.now,
                }

    loader.insert(IdentityAccessToken.__table__, rows())


def _load_projects(loader: _Loader, identity_ids: list[str], rng: random.Random) -> None:
    stamps = loader.stamps()
    projects, environments, folders, dev_roots = [], [], [], []
    for n in range(PROJECTS):
        project_id = _new_id()
        projects.append({
            "id": project_id, "org_id": loader.org_id, "name": f"scale project {n}", "slug": f"scale-project-{n}",
            "description": None, "type": "secret-manager", "auto_capitalization": False,
            "has_delete_protection": False, **stamps,
        })
        for position, (name, slug) in enumerate(ENVIRONMENTS, start=1):
            environment_id = _new_id()
            environments.append({
                "id": environment_id, "project_id": project_id, "name": name, "slug": slug, "position": position,
                **stamps,
            })
            root_id = _new_id()
            folders.append({
                "id": root_id, "env_id": environment_id, "parent_id": None, "name": "root", "description": None,
                "version": 1, **stamps,
            })
            if slug == "dev":
                dev_roots.append((project_id, root_id))
    loader.insert(Project.__table__, iter(projects))
    loader.insert(ProjectEnvironment.__table__, iter(environments))
    loader.insert(SecretFolder.__table__, iter(folders))

    secrets: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for _project_id, root_id in dev_roots:
        for n in range(SECRETS_PER_PROJECT):
            secret_id, key = _new_id(), f"SCALE_SECRET_{n:03d}"
            sealed_value, sealed_comment = b"\x01" + os.urandom(12 + 16 + 32), b"\x01" + os.urandom(12 + 16)
            common = {"key": key, "version": 1, "sealed_value": sealed_value, "sealed_comment": sealed_comment,
                      "skip_multiline_encoding": False, "reminder_note": None, "reminder_repeat_days": None,
                      "secret_metadata": []}
            secrets.append({"id": secret_id, "folder_id": root_id, "type": "shared", **common, **stamps})
            versions.append({"id": _new_id(), "secret_id": secret_id, **common, "created_at": loader.now})
    loader.insert(Secret.__table__, iter(secrets))
    loader.insert(SecretVersion.__table__, iter(versions))

    memberships: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    for project in projects:
        for identity_id in rng.sample(identity_ids, MEMBERS_PER_PROJECT):
            membership_id = _new_id()
            memberships.append({"id": membership_id, "project_id": project["id"], "identity_id": identity_id,
                                **stamps})
            roles.append({
                "id": _new_id(), "membership_id": membership_id, "role": "viewer", "is_temporary": False,
                "temporary_mode": None, "temporary_range": None, "temporary_access_start_time": None,
                "temporary_access_end_time": None, **stamps,
            })
    loader.insert(IdentityProjectMembership.__table__, iter(memberships))
    loader.insert(IdentityProjectMembershipRole.__table__, iter(roles))


def _analyse(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.commit()


def _table_sizes(engine: Engine) -> dict[str, int]:
    tables = [Identity, IdentityAccessToken, Project, Secret, SecretVersion, IdentityProjectMembership]
    with engine.connect() as connection:
        return {
            model.__tablename__: connection.scalar(select(func.count()).select_from(model.__table__))
            for model in tables
        }
