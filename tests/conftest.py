"""Shared fixtures: a real Strongroom over HTTP on SQLite and on PostgreSQL, and a local SPIRE stand-in."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from strongroom.app import Services, build_services, create_app
from strongroom.crypto.root_key import generate_root_key_text
from strongroom.settings import Settings
from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority

POSTGRES_ADMIN_URL = os.environ.get("STRONGROOM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SPIFFE_ID = "spiffe://example.org/workload/api-server"
AUDIENCE = "strongroom"


# -- databases ------------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test session, dropped afterwards."""
    name = f"strongroom_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - the machine starts PostgreSQL
        pytest.fail(f"PostgreSQL is required for the tests and is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- a real server ----------------------------------------------------------------


class RunningServer:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(create_app(services), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def start(self) -> "RunningServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.services.close()


def make_settings(tmp: Path, database_url: str | None, **overrides: Any) -> Settings:
    settings = Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp)})
    settings = replace(settings, root_key_b64=generate_root_key_text())
    if database_url:
        settings = replace(settings, database_url=database_url)
    return replace(settings, **overrides)


@dataclass
class Api:
    """An HTTP client for the server, holding the instance admin's token."""

    server: RunningServer
    client: httpx.Client
    admin_token: str
    org_id: str

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def create_identity(self, name: str | None = None, role: str = "no-access") -> str:
        response = self.admin(
            "POST", "/api/v1/identities",
            json={"name": name or f"workload-{uuid.uuid4().hex[:8]}", "organizationId": self.org_id, "role": role},
        )
        assert response.status_code == 200, response.text
        return response.json()["identity"]["id"]

    def attach_oidc(self, identity_id: str, provider: DiscoveryProvider, **fields: Any) -> httpx.Response:
        body = {
            "oidcDiscoveryUrl": provider.url,
            "boundIssuer": provider.issuer,
            "boundAudiences": AUDIENCE,
            "boundSubject": "spiffe://example.org/workload/*",
            "boundClaims": {},
        }
        body.update(fields)
        return self.admin("POST", f"/api/v1/auth/oidc-auth/identities/{identity_id}", json=body)

    def identity_with_oidc(self, provider: DiscoveryProvider, **fields: Any) -> str:
        identity_id = self.create_identity()
        response = self.attach_oidc(identity_id, provider, **fields)
        assert response.status_code == 200, response.text
        return identity_id

    def login(self, identity_id: str, token: str, **kwargs: Any) -> httpx.Response:
        return self.client.post("/api/v1/auth/oidc-auth/login", json={"identityId": identity_id, "jwt": token}, **kwargs)


def start_server(settings: Settings) -> RunningServer:
    return RunningServer(build_services(settings)).start()


def bootstrap(server: RunningServer) -> Api:
    client = httpx.Client(base_url=server.url, timeout=30)
    response = client.post(
        "/api/v1/admin/bootstrap",
        json={"email": "admin@example.org", "password": "correct horse battery staple", "organization": "Example"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Api(server, client, body["identity"]["credentials"]["token"], body["organization"]["id"])


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings for one database backend; every API test runs once per backend."""
    tmp = tmp_path_factory.mktemp(f"strongroom-{request.param}")
    if request.param == "sqlite":
        yield make_settings(tmp, None)
    else:
        with postgres_database() as url:
            yield make_settings(tmp, url)


@pytest.fixture(scope="session")
def api(backend: Settings) -> Iterator[Api]:
    """A bootstrapped server shared by the tests of one backend; tests create their own identities."""
    server = start_server(backend)
    api = bootstrap(server)
    yield api
    api.client.close()
    server.stop()


@pytest.fixture
def authority() -> JwtSvidAuthority:
    return JwtSvidAuthority(trust_domain="example.org")


@pytest.fixture
def provider(authority: JwtSvidAuthority) -> Iterator[DiscoveryProvider]:
    with DiscoveryProvider(authority) as running:
        # As a SPIRE Server with jwt_issuer set to the provider's public URL (the recommended setup).
        authority.issuer = running.url
        yield running
