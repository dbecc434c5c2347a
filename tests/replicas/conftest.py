"""Three real ``strongroom server`` processes on one PostgreSQL database, with and without a shared Redis.

Every test in this folder runs against both sets. The replicas trust one
reverse proxy, 127.0.0.2: a client bound to that address is "the proxy" and
may state the client address in ``X-Forwarded-For``; a client on 127.0.0.1 is
an ordinary, untrusted peer. The throttling tests use that to speak as many
different client addresses.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from strongroom.crypto.root_key import generate_root_key_text
from strongroom.spiffe.dev_spire import DiscoveryProvider
from strongroom.store.db import normalise_database_url
from tests.conftest import AUDIENCE, postgres_database

STRONGROOM = Path(sys.executable).parent / "strongroom"
REDIS_URL = os.environ.get("STRONGROOM_TEST_REDIS", "redis://127.0.0.1:6379/13")  # a Redis db of its own
PROXY_ADDRESS = "127.0.0.2"
REPLICA_COUNT = 3

# Small numbers, so the tests see the limits and the cleanup within seconds.
MAX_FAILURES_PER_IDENTITY = 3
MAX_FAILURES_PER_IP = 5
FAILURE_WINDOW_SECONDS = 30
CLEANUP_INTERVAL_SECONDS = 0.5
RETENTION_SECONDS = 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def replica_environment(database_url: str, root_key: str, data_dir: Path, port: int,
                        redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("STRONGROOM_") and not key.lower().endswith("_proxy")}
    env.update({
        "STRONGROOM_DATABASE_URL": database_url,
        "STRONGROOM_ROOT_KEY": root_key,
        "STRONGROOM_DATA_DIR": str(data_dir),
        "STRONGROOM_HOST": "127.0.0.1",
        "STRONGROOM_PORT": str(port),
        "STRONGROOM_LOG_LEVEL": "warning",
        "STRONGROOM_ALLOW_INTERNAL_ISSUERS": "true",  # the SPIRE stand-in is on loopback
        "STRONGROOM_TRUSTED_PROXIES": f"{PROXY_ADDRESS}/32",
        "STRONGROOM_FORWARDED_HEADERS": "x-forwarded-for",
        "STRONGROOM_LOGIN_MAX_FAILURES_PER_IDENTITY": str(MAX_FAILURES_PER_IDENTITY),
        "STRONGROOM_LOGIN_MAX_FAILURES_PER_IP": str(MAX_FAILURES_PER_IP),
        "STRONGROOM_LOGIN_FAILURE_WINDOW_SECONDS": str(FAILURE_WINDOW_SECONDS),
        "STRONGROOM_TOKEN_CLEANUP_INTERVAL_SECONDS": str(CLEANUP_INTERVAL_SECONDS),
        "STRONGROOM_TOKEN_RETENTION_SECONDS": str(RETENTION_SECONDS),
        **extra,
    })
    if redis_url:
        env["STRONGROOM_REDIS_URL"] = redis_url
    return env


@dataclass
class ServerProcess:
    """One ``strongroom server`` this test run started; stopped with its whole process group."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path, *args: str) -> "ServerProcess":
        log = log_path.open("wb")
        process = subprocess.Popen(
            [str(STRONGROOM), "server", *args], env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        return cls(process, f"http://127.0.0.1:{env['STRONGROOM_PORT']}", log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"strongroom server exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if client.get(f"{self.url}/api/status").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"strongroom server did not answer within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def client_for(url: str, *, local_address: str | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    return httpx.Client(base_url=url, timeout=30, trust_env=False, transport=transport)


@dataclass
class ReplicaSet:
    """Three replicas on one database: ``replica(i)`` speaks to one of them directly from 127.0.0.1."""

    servers: list[ServerProcess]
    database_url: str
    root_key: str
    redis_url: str | None
    engine: Engine
    admin_token: str = ""
    org_id: str = ""
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def with_redis(self) -> bool:
        return self.redis_url is not None

    def replica(self, index: int) -> httpx.Client:
        return self._clients[index % len(self._clients)]

    def via_proxy(self, index: int) -> httpx.Client:
        """A client speaking from the trusted proxy's address (close it after use)."""
        return client_for(self.servers[index % len(self.servers)].url, local_address=PROXY_ADDRESS)

    def admin(self, index: int, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}", **kwargs.pop("headers", {})}
        return self.replica(index).request(method, path, headers=headers, **kwargs)

    def identity_with_oidc(self, provider: DiscoveryProvider, *, replica: int = 0, role: str = "member",
                           **fields: Any) -> str:
        created = self.admin(replica, "POST", "/api/v1/identities", json={
            "name": f"workload-{uuid.uuid4().hex[:8]}", "organizationId": self.org_id, "role": role,
        })
        assert created.status_code == 200, created.text
        identity_id = created.json()["identity"]["id"]
        body = {
            "oidcDiscoveryUrl": provider.url,
            "boundIssuer": provider.issuer,
            "boundAudiences": AUDIENCE,
            "boundSubject": "spiffe://example.org/workload/*",
            "boundClaims": {},
            **fields,
        }
        attached = self.admin(replica, "POST", f"/api/v1/auth/oidc-auth/identities/{identity_id}", json=body)
        assert attached.status_code == 200, attached.text
        return identity_id

    def login(self, index: int, identity_id: str, jwt: str, client: httpx.Client | None = None,
              **kwargs: Any) -> httpx.Response:
        return (client or self.replica(index)).post(
            "/api/v1/auth/oidc-auth/login", json={"identityId": identity_id, "jwt": jwt}, **kwargs
        )

    def access_token(self, index: int, identity_id: str, jwt: str) -> str:
        response = self.login(index, identity_id, jwt)
        assert response.status_code == 200, response.text
        return response.json()["accessToken"]

    def probe(self, index: int, token: str, client: httpx.Client | None = None, **kwargs: Any) -> httpx.Response:
        """One authenticated request a ``member`` may make: 200 means the token was accepted."""
        headers = httpx.Headers(kwargs.pop("headers", {}))  # a list of pairs may repeat a header
        headers["Authorization"] = f"Bearer {token}"
        return (client or self.replica(index)).get("/api/v1/identities", params={"limit": 1}, headers=headers,
                                                   **kwargs)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def row(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).one()


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# For tests whose subject has nothing to do with Redis: run them on one of the two sets only.
database_only = pytest.mark.parametrize("replicas", ["database-only"], indirect=True)


@pytest.fixture(scope="package", params=["database-only", "with-redis"])
def replicas(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaSet]:
    redis_url = REDIS_URL if request.param == "with-redis" else None
    if redis_url:
        _flush(redis_url)
    root_key = generate_root_key_text()
    with postgres_database() as database_url:
        tmp = tmp_path_factory.mktemp(f"replicas-{request.param}")
        # Started together on an empty database: they race for the migrations, as real replicas do.
        servers = [
            ServerProcess.start(
                replica_environment(database_url, root_key, tmp / f"data-{index}", free_port(), redis_url),
                tmp / f"replica-{index}.log",
            )
            for index in range(REPLICA_COUNT)
        ]
        engine = create_engine(normalise_database_url(database_url), pool_size=2)
        replica_set = ReplicaSet(servers, database_url, root_key, redis_url, engine)
        try:
            for server in servers:
                server.wait_until_ready()
            replica_set._clients = [client_for(server.url) for server in servers]
            bootstrapped = replica_set.replica(0).post("/api/v1/admin/bootstrap", json={
                "email": "admin@example.org", "password": "correct horse battery staple", "organization": "Example",
            })
            assert bootstrapped.status_code == 200, bootstrapped.text
            replica_set.admin_token = bootstrapped.json()["identity"]["credentials"]["token"]
            replica_set.org_id = bootstrapped.json()["organization"]["id"]
            yield replica_set
        finally:
            for client in replica_set._clients:
                client.close()
            for server in servers:
                server.stop()
            engine.dispose()
            if redis_url:
                _flush(redis_url)
        # No replica failed a request unexpectedly or lost a cleanup pass while the tests ran.
        for server in servers:
            for trouble in ("Traceback", "unhandled ", "token cleanup failed"):
                assert trouble not in server.log(), server.log()
