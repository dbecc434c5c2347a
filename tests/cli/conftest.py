"""The CLI under test: the real ``strongroom`` executable as a subprocess, a server, and a Workload API socket.

The CLI is the same on every database, so these tests run against the SQLite
server only (the server's behaviour on PostgreSQL is tested elsewhere).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from strongroom.spiffe.workload_api import WorkloadApiServer
from tests.conftest import SPIFFE_ID, Api

STRONGROOM = str(Path(sys.executable).parent / "strongroom")
COMMAND_TIMEOUT = 60


# The CLI is the same on every database: its tests run against the SQLite server only
# (each module that uses ``api`` sets ``pytestmark = SQLITE_ONLY``).
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def clean_environment(**extra: str) -> dict[str, str]:
    """The test process's environment without anything that would steer the CLI, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("STRONGROOM_") and key != "SPIFFE_ENDPOINT_SOCKET"}
    env.update(extra)
    return env


def strongroom(*args: str, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT,
               cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``strongroom`` command; its exit status and output."""
    return subprocess.run([STRONGROOM, *args], env=env if env is not None else clean_environment(),
                          capture_output=True, text=True, timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """A failure reported the CLI's way: non-zero exit, one ``error:`` line on stderr, no traceback."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), (fragment, lines[0])
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path, for unix sockets (sun_path holds about 100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="sr-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def workload_api(authority: JwtSvidAuthority, provider: DiscoveryProvider, short_tmp: Path) -> Iterator[WorkloadApiServer]:
    """The stand-in's Workload API over the same authority as the ``provider`` the server trusts."""
    with WorkloadApiServer(authority, short_tmp / "api.sock", spiffe_id=SPIFFE_ID) as server:
        yield server


@dataclass
class Workload:
    """A machine identity with OIDC Auth, a member of its own project, and the environment to run the CLI as it."""

    api: Api
    identity_id: str
    project_id: str
    socket: str

    def env(self, **extra: str) -> dict[str, str]:
        return clean_environment(**{"SPIFFE_ENDPOINT_SOCKET": self.socket, "STRONGROOM_API_URL": self.api.server.url,
                                    **extra})

    def args(self, *more: str) -> tuple[str, ...]:
        return ("--identity-id", self.identity_id, "--project", self.project_id, "--env", "dev", *more)

    def set_secrets(self, **values: str) -> None:
        response = self.api.admin("PATCH", "/api/v3/secrets/batch/raw", json={
            "workspaceId": self.project_id, "environment": "dev", "secretPath": "/", "mode": "upsert",
            "secrets": [{"secretKey": key, "secretValue": value} for key, value in values.items()],
        })
        assert response.status_code == 200, response.text

    def secret_values(self) -> dict[str, str]:
        response = self.api.admin("GET", "/api/v3/secrets/raw",
                                  params={"workspaceId": self.project_id, "environment": "dev"})
        assert response.status_code == 200, response.text
        return {secret["secretKey"]: secret["secretValue"] for secret in response.json()["secrets"]}


def new_workload(api: Api, provider: DiscoveryProvider, socket_endpoint: str, *, role: str = "member",
                 **oidc_fields: Any) -> Workload:
    identity_id = api.identity_with_oidc(provider, **oidc_fields)
    project = api.create_project(name=f"cli-{uuid.uuid4().hex[:8]}")
    added = api.add_to_project(project["id"], identity_id, role)
    assert added.status_code == 200, added.text
    return Workload(api, identity_id, project["id"], socket_endpoint)


@pytest.fixture
def workload(api: Api, provider: DiscoveryProvider, workload_api: WorkloadApiServer) -> Workload:
    return new_workload(api, provider, workload_api.endpoint)


def stop_process(process: subprocess.Popen[Any], timeout: float = 15) -> int:
    """SIGTERM, then SIGKILL if it does not end; its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
            raise
    return process.returncode
