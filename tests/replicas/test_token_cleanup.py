"""Expired and revoked token records are deleted in the background, so the table stays bounded under login load.

The replicas clean every 0.5 s and keep a dead record for 1 s (tests/replicas/conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from strongroom.app import Services, build_services
from strongroom.clock import SystemClock
from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from strongroom.store.cleanup import TokenCleanup
from strongroom.store.models import Identity, IdentityAccessToken, IdentityOrgMembership, Organization
from tests.conftest import AUDIENCE, SPIFFE_ID, make_settings, postgres_database
from tests.replicas.conftest import (
    CLEANUP_INTERVAL_SECONDS,
    REPLICA_COUNT,
    RETENTION_SECONDS,
    ReplicaSet,
    database_only,
)
from tests.support import unverified_payload

LOAD_SECONDS = 3.0
LOGIN_THREADS = 4
# A dead record may outlive its retention by one cleanup interval (with its jitter), plus a pass's own time.
GRACE_SECONDS = RETENTION_SECONDS + 1.2 * CLEANUP_INTERVAL_SECONDS + 1.5


def count_tokens(replicas: ReplicaSet, identity_id: str, *, expired_for_more_than: float | None = None) -> int:
    if expired_for_more_than is None:
        return replicas.scalar("SELECT count(*) FROM identity_access_tokens WHERE identity_id = :id", id=identity_id)
    return replicas.scalar(
        "SELECT count(*) FROM identity_access_tokens WHERE identity_id = :id"
        " AND expires_at < now() - make_interval(secs => :seconds)",
        id=identity_id, seconds=expired_for_more_than,
    )


def wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@database_only
def test_the_token_table_stays_bounded_under_many_short_lived_logins(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider, accessTokenTTL=1, accessTokenMaxTTL=1)
    svid = authority.mint(SPIFFE_ID, [AUDIENCE], ttl_seconds=120)
    stop = threading.Event()
    lingering: list[int] = []
    logins = [0] * LOGIN_THREADS

    def log_in(thread: int) -> None:
        while not stop.is_set():
            response = replicas.login((thread + logins[thread]) % REPLICA_COUNT, identity_id, svid)
            assert response.status_code == 200, response.text
            logins[thread] += 1

    with ThreadPoolExecutor(LOGIN_THREADS) as pool:
        running = [pool.submit(log_in, thread) for thread in range(LOGIN_THREADS)]
        started = time.monotonic()
        while time.monotonic() - started < LOAD_SECONDS:
            time.sleep(0.5)
            lingering.append(count_tokens(replicas, identity_id, expired_for_more_than=GRACE_SECONDS))
        stop.set()
        for future in running:
            future.result()

    total = sum(logins)
    assert total > 50, f"only {total} logins in {LOAD_SECONDS} s"
    # While logins went on, nothing stayed long past its retention...
    assert lingering == [0] * len(lingering), lingering
    # ...and once they stop, every record goes: none had a reason to stay.
    assert wait_for(lambda: count_tokens(replicas, identity_id) == 0, timeout=GRACE_SECONDS + 2), (
        count_tokens(replicas, identity_id), total)


@database_only
def test_revoked_records_are_deleted_after_their_retention_and_live_ones_stay(
        replicas: ReplicaSet, provider: DiscoveryProvider, authority: JwtSvidAuthority) -> None:
    identity_id = replicas.identity_with_oidc(provider, accessTokenTTL=3600, accessTokenMaxTTL=3600)
    revoked = replicas.access_token(0, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    live = replicas.access_token(1, identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert replicas.replica(2).post("/api/v1/auth/token/revoke", json={"accessToken": revoked}).status_code == 200
    revoked_id = unverified_payload(revoked)["identityAccessTokenId"]

    assert wait_for(lambda: replicas.scalar("SELECT count(*) FROM identity_access_tokens WHERE id = :id",
                                            id=revoked_id) == 0, timeout=GRACE_SECONDS + 2)
    assert count_tokens(replicas, identity_id) == 1
    assert replicas.probe(0, live).status_code == 200
    # A deleted record answers as a revoked one did.
    assert replicas.probe(1, revoked).status_code == 401


# -- several cleaners at once, in-process ---------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    if request.param == "sqlite":
        built = build_services(make_settings(tmp_path, None))
        yield built
        built.close()
    else:
        with postgres_database() as url:
            built = build_services(make_settings(tmp_path, url))
            yield built
            built.close()


def test_cleaners_running_at_once_delete_each_dead_record_once_and_keep_the_rest(services: Services) -> None:
    now = datetime.now(timezone.utc)
    long_ago, recently, later = now - timedelta(hours=2), now - timedelta(seconds=10), now + timedelta(hours=1)
    with services.database.sessions() as session:
        organization = Organization(name="Cleanup", slug="cleanup")
        session.add(organization)
        session.flush()
        identity = Identity(org_id=organization.id, name="busy")
        identity.membership = IdentityOrgMembership(org_id=organization.id, role="member")
        session.add(identity)
        session.flush()

        def token(expires_at: datetime | None, revoked: bool = False, touched: datetime = now) -> IdentityAccessToken:
            return IdentityAccessToken(
                identity_id=identity.id, auth_method="oidc-auth", token_hash=b"\0" * 32, access_token_ttl=1,
                access_token_max_ttl=1, expires_at=expires_at, is_revoked=revoked, created_at=touched,
                updated_at=touched,
            )

        session.add_all([token(long_ago) for _ in range(2400)])  # expired long ago: deleted
        session.add_all([token(later, revoked=True, touched=long_ago) for _ in range(600)])  # revoked long ago: deleted
        session.add_all([token(later) for _ in range(40)])  # live: kept
        session.add_all([token(None) for _ in range(5)])  # never expires: kept
        session.add_all([token(recently) for _ in range(30)])  # expired within the retention: kept
        session.add_all([token(later, revoked=True, touched=now) for _ in range(25)])  # revoked just now: kept
        session.commit()

    cleaners = [TokenCleanup(services.database, SystemClock(), interval_seconds=60, retention_seconds=60,
                             batch_size=100) for _ in range(4)]
    start = threading.Barrier(len(cleaners))

    def clean(cleaner: TokenCleanup) -> int:
        start.wait()
        return cleaner.run_once()

    with ThreadPoolExecutor(len(cleaners)) as pool:
        deleted = list(pool.map(clean, cleaners))

    assert sum(deleted) == 3000, deleted
    with services.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IdentityAccessToken)) == 100
