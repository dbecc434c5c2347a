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
from fastapi import FastAPI
from sqlalchemy import func, select

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
    def __init__(self, services: Services, app: FastAPI | None = None) -> None:
        """Strongroom's app on ``services``, or ``app`` (a test's own, built on them), served over real HTTP."""
        self.services = services
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        # As `strongroom server` runs it: uvicorn's own proxy-header handling would rewrite the
        # client address from X-Forwarded-For sent by 127.0.0.1, before strongroom.web.client_ip decides.
        config = uvicorn.Config(
            app or create_app(services), log_level="warning", access_log=False, lifespan="off", proxy_headers=False
        )
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
    # The SPIRE stand-in listens on loopback, which production refuses by default.
    settings = replace(settings, root_key_b64=generate_root_key_text(), allow_internal_issuers=True)
    # The suite sends hundreds of refused logins from 127.0.0.1; tests/replicas tests the limits themselves.
    settings = replace(settings, login_max_failures_per_identity=0, login_max_failures_per_ip=0)
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

    def count_rows(self, model: type[Any], **where: Any) -> int:
        """Rows of ``model`` in the server's database (optionally filtered by column values)."""
        query = select(func.count()).select_from(model).filter_by(**where)
        with self.server.services.database.sessions() as session:
            return session.scalar(query) or 0

    def is_healthy(self) -> bool:
        return self.client.get("/api/status").status_code == 200

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

    def identity_with_oidc(self, provider: DiscoveryProvider, role: str = "no-access", **fields: Any) -> str:
        identity_id = self.create_identity(role=role)
        response = self.attach_oidc(identity_id, provider, **fields)
        assert response.status_code == 200, response.text
        return identity_id

    def login(self, identity_id: str, token: str, **kwargs: Any) -> httpx.Response:
        return self.client.post("/api/v1/auth/oidc-auth/login", json={"identityId": identity_id, "jwt": token}, **kwargs)

    def access_token(self, identity_id: str, token: str) -> str:
        response = self.login(identity_id, token)
        assert response.status_code == 200, response.text
        return response.json()["accessToken"]

    def as_token(self, access_token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {access_token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def probe(self, access_token: str, **kwargs: Any) -> httpx.Response:
        """One authenticated request that a ``member`` may make: 200 means the token was accepted."""
        return self.as_token(access_token, "GET", "/api/v1/identities", params={"limit": 1}, **kwargs)

    # -- projects and secrets (tests/projects, tests/secrets) ------------------------------

    def call(self, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request made with ``token`` as the bearer (a workload's, or the admin's)."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def create_project(self, token: str | None = None, name: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"projectName": name or f"project-{uuid.uuid4().hex[:8]}", **fields}
        response = self.call(token or self.admin_token, "POST", "/api/v2/workspace", json=body)
        assert response.status_code == 200, response.text
        return response.json()["project"]

    def add_to_project(self, project_id: str, identity_id: str, role: str, token: str | None = None) -> httpx.Response:
        return self.call(
            token or self.admin_token, "POST", f"/api/v2/workspace/{project_id}/identity-memberships/{identity_id}",
            json={"role": role},
        )

    def workload_login(self, provider: DiscoveryProvider, authority: JwtSvidAuthority, org_role: str = "no-access"
                       ) -> tuple[str, str]:
        """A new identity with OIDC Auth that logs in with a JWT-SVID: (identity id, access token)."""
        identity_id = self.create_identity(role=org_role)
        attached = self.attach_oidc(identity_id, provider)
        assert attached.status_code == 200, attached.text
        response = self.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
        assert response.status_code == 200, response.text
        return identity_id, response.json()["accessToken"]


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


_PROVIDER_URLS_USED: set[str] = set()


@pytest.fixture
def provider(authority: JwtSvidAuthority) -> Iterator[DiscoveryProvider]:
    # Every test gets a port no earlier provider of the session had: a server caches key sets by
    # URL, so a reused port would be a key rotation seen within the refetch cooldown, and refused.
    fresh = DiscoveryProvider(authority)
    while fresh.url in _PROVIDER_URLS_USED:
        fresh.discard()
        fresh = DiscoveryProvider(authority)
    _PROVIDER_URLS_USED.add(fresh.url)
    with fresh as running:
        # As a SPIRE Server with jwt_issuer set to the provider's public URL (the recommended setup).
        authority.issuer = running.url
        yield running


@pytest.fixture(scope="session")
def ca_pem() -> str:
    """A self-signed CA certificate in PEM form."""
    from strongroom.spiffe.dev_spire import ServerCertificate

    return ServerCertificate.for_hosts("127.0.0.1").ca_pem
