"""Bootstrapping a fresh instance: ``POST /api/v1/admin/bootstrap`` and ``strongroom bootstrap``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from strongroom.settings import Settings
from strongroom.store.models import Organization, ServerConfig, User
from tests.conftest import RunningServer, make_settings, postgres_database, start_server
from tests.support import assert_api_error, bearer, unverified_payload

BOOTSTRAP = "/api/v1/admin/bootstrap"
PASSWORD = "correct horse battery staple"
STRONGROOM_CLI = Path(sys.executable).parent / "strongroom"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    """A server that has never been bootstrapped, on each database backend."""
    if request.param == "sqlite":
        server = start_server(make_settings(tmp_path, None))
        yield server
        server.stop()
    else:
        with postgres_database() as url:
            server = start_server(make_settings(tmp_path, url))
            yield server
            server.stop()


@pytest.fixture
def fresh_sqlite_server(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(make_settings(tmp_path, None))
    yield server
    server.stop()


@pytest.fixture
def client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    server_fixture = "fresh_server" if "fresh_server" in request.fixturenames else "fresh_sqlite_server"
    server: RunningServer = request.getfixturevalue(server_fixture)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def bootstrap_body(email: str = "admin@example.org") -> dict[str, str]:
    return {"email": email, "password": PASSWORD, "organization": "Example Org"}


def users(server: RunningServer) -> list[User]:
    with server.services.database.sessions() as session:
        return list(session.scalars(select(User)))


def test_bootstrap_sets_up_a_fresh_instance_once(fresh_server: RunningServer, client: httpx.Client) -> None:
    assert client.get("/api/v1/admin/config").json()["config"]["initialized"] is False

    response = client.post(BOOTSTRAP, json=bootstrap_body())

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "user", "organization", "identity"}
    assert body["message"] == "Successfully bootstrapped instance"
    assert body["user"] == {
        "username": "admin@example.org", "firstName": "Admin", "lastName": "User", "email": "admin@example.org",
        "id": body["user"]["id"], "superAdmin": True,
    }
    assert set(body["organization"]) == {"id", "name", "slug"}
    assert body["organization"]["name"] == "Example Org"
    assert body["organization"]["slug"].startswith("example-org-")
    assert set(body["identity"]) == {"id", "name", "credentials"}
    assert body["identity"]["name"] == "Instance Admin Identity"
    token = body["identity"]["credentials"]["token"]
    assert client.get("/api/v1/admin/config").json()["config"]["initialized"] is True

    # The token administers the organisation.
    listed = client.get("/api/v1/identities", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    assert [(item["identityId"], item["role"]) for item in listed.json()["identities"]] == [(body["identity"]["id"], "admin")]
    created = client.post("/api/v1/identities", headers=bearer(token),
                          json={"name": "first-workload", "organizationId": body["organization"]["id"]})
    assert created.status_code == 200, created.text

    # A second bootstrap changes nothing.
    again = client.post(BOOTSTRAP, json=bootstrap_body("intruder@example.org"))
    assert_api_error(again, 400, "Instance initialization", "already been set up")
    assert [user.email for user in users(fresh_server)] == ["admin@example.org"]
    assert client.get("/api/v1/identities", headers=bearer(token)).status_code == 200


def test_bootstrap_stores_the_password_as_an_argon2_hash(fresh_sqlite_server: RunningServer, client: httpx.Client) -> None:
    assert client.post(BOOTSTRAP, json=bootstrap_body()).status_code == 200
    [user] = users(fresh_sqlite_server)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, PASSWORD)


def test_bootstrap_token_never_expires(fresh_sqlite_server: RunningServer, client: httpx.Client) -> None:
    token = client.post(BOOTSTRAP, json=bootstrap_body()).json()["identity"]["credentials"]["token"]
    payload = unverified_payload(token)
    assert "exp" not in payload
    assert payload["authTokenType"] == "identityAccessToken"


def test_bootstrap_normalises_the_email(fresh_sqlite_server: RunningServer, client: httpx.Client) -> None:
    response = client.post(BOOTSTRAP, json=bootstrap_body("  Admin@Example.ORG "))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == "admin@example.org"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD, "organization": "Example"},
        {"email": "admin@example.org", "password": "   ", "organization": "Example"},
        {"email": "admin@example.org", "password": PASSWORD, "organization": "  "},
        {"email": "admin@example.org", "password": PASSWORD},
        {},
    ],
    ids=["bad-email", "blank-password", "blank-organization", "no-organization", "empty"],
)
def test_invalid_bootstrap_is_a_422_and_leaves_the_instance_uninitialised(
    fresh_sqlite_server: RunningServer, client: httpx.Client, body: dict[str, str]
) -> None:
    error = assert_api_error(client.post(BOOTSTRAP, json=body), 422, "ValidationFailure")
    assert isinstance(error["message"], list)
    assert client.get("/api/v1/admin/config").json()["config"]["initialized"] is False
    assert users(fresh_sqlite_server) == []
    assert client.post(BOOTSTRAP, json=bootstrap_body()).status_code == 200


def test_concurrent_bootstraps_set_up_the_instance_exactly_once(fresh_server: RunningServer) -> None:
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def race(number: int) -> None:
        with httpx.Client(base_url=fresh_server.url, timeout=30) as client:
            barrier.wait()
            statuses.append(client.post(BOOTSTRAP, json=bootstrap_body(f"admin{number}@example.org")).status_code)

    threads = [threading.Thread(target=race, args=(number,)) for number in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200, 400, 400, 400, 400]
    with fresh_server.services.database.sessions() as session:
        assert len(session.scalars(select(User)).all()) == 1
        assert len(session.scalars(select(Organization)).all()) == 1
        assert len(session.scalars(select(ServerConfig)).all()) == 1


def test_cli_bootstrap_prints_a_working_token(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRONGROOM_")}
    env["STRONGROOM_DATA_DIR"] = str(tmp_path)
    command = [str(STRONGROOM_CLI), "bootstrap", "--email", "ops@example.org", "--organization", "Ops",
               "--password", PASSWORD]

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.count(".") == 2 and "\n" not in token
    # A server on the same data directory (database and generated root key) accepts the token.
    server = start_server(Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path)}))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/api/v1/admin/config").json()["config"]["initialized"] is True
            response = client.get("/api/v1/identities", headers=bearer(token))
            assert response.status_code == 200, response.text
            assert response.json()["identities"][0]["identity"]["name"] == "Instance Admin Identity"
    finally:
        server.stop()

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert again.returncode == 1
    assert "already been set up" in again.stderr
    assert again.stdout == ""
