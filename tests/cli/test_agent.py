"""``strongroom agent``: keeps a token valid (renew, then a fresh login), renders templates into files
atomically when secrets change, survives the server going away, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from strongroom.spiffe.dev_spire import DiscoveryProvider
from strongroom.spiffe.workload_api import WorkloadApiServer
from tests.cli.conftest import (
    SQLITE_ONLY,
    STRONGROOM,
    Workload,
    assert_one_line_error,
    clean_environment,
    free_port,
    new_workload,
    stop_process,
    strongroom,
    wait_until,
)
from tests.conftest import AUDIENCE, Api

TEMPLATE = "DSN=${DSN}\nKEY=${db.key}\nPRICE=$$5\n"


def agent_config(folder: Path, *, url: str, identity_id: str, socket: str, project_id: str,
                 template: str = TEMPLATE) -> Path:
    (folder / "app.tmpl").write_text(template)
    config = folder / "agent.toml"
    config.write_text(textwrap.dedent(f"""\
        [strongroom]
        url = "{url}"

        [auth]
        method = "oidc-auth"
        identity-id = "{identity_id}"
        spiffe-socket = "{socket}"
        token-file = "run/token"

        [retry]
        initial-backoff = "0.2s"
        max-backoff = "1s"

        [[templates]]
        project = "{project_id}"
        environment = "dev"
        source = "app.tmpl"
        destination = "out/app.env"
        poll-interval = "0.3s"
        """))
    return config


@dataclass
class RunningAgent:
    process: subprocess.Popen[bytes]
    log_path: Path
    output: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def rendered(self) -> str | None:
        try:
            return self.output.read_text()
        except FileNotFoundError:
            return None

    def wait_for_file(self, content: str, timeout: float = 20) -> None:
        wait_until(lambda: self.rendered() == content, timeout, f"{self.output} to read {content!r}\n{self.log()}")

    def wait_for_log(self, text: str, count: int = 1, timeout: float = 20) -> None:
        wait_until(lambda: self.log().count(text) >= count, timeout, f"{count}× {text!r} in the log:\n{self.log()}")


def start_agent(config: Path) -> RunningAgent:
    log_path = config.parent / "agent.log"
    process = subprocess.Popen([STRONGROOM, "agent", "--config", str(config)], env=clean_environment(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"))
    return RunningAgent(process, log_path, config.parent / "out" / "app.env")


@pytest.fixture
def agents() -> Iterator[list[RunningAgent]]:
    started: list[RunningAgent] = []
    yield started
    for agent in started:
        if agent.process.poll() is None:
            agent.process.kill()
            agent.process.wait(timeout=10)


def reads_secrets(api: Api, project_id: str, token: str) -> bool:
    response = api.call(token, "GET", "/api/v3/secrets/raw", params={"workspaceId": project_id, "environment": "dev"})
    return response.status_code == 200


@SQLITE_ONLY
def test_agent_renders_rerenders_on_change_and_keeps_its_token_fresh(
        api: Api, provider: DiscoveryProvider, workload_api: WorkloadApiServer, tmp_path: Path,
        agents: list[RunningAgent]) -> None:
    # Tokens live 2 s and may be renewed up to 4 s after login: the agent must renew, then log in again.
    workload = new_workload(api, provider, workload_api.endpoint, accessTokenTTL=2, accessTokenMaxTTL=4)
    workload.set_secrets(DSN="postgres://one", **{"db.key": "k1"})
    agent = start_agent(agent_config(tmp_path, url=api.server.url, identity_id=workload.identity_id,
                                     socket=workload.socket, project_id=workload.project_id))
    agents.append(agent)

    agent.wait_for_file("DSN=postgres://one\nKEY=k1\nPRICE=$5\n")
    assert stat.S_IMODE(os.stat(agent.output).st_mode) == 0o600
    first = os.stat(agent.output)

    # Unchanged secrets: polls answer 304 and the file is not touched.
    agent.wait_for_log("access token renewed")
    assert os.stat(agent.output).st_ino == first.st_ino and agent.log().count("rendered") == 1

    workload.set_secrets(DSN="postgres://two")
    agent.wait_for_file("DSN=postgres://two\nKEY=k1\nPRICE=$5\n")
    assert os.stat(agent.output).st_ino != first.st_ino  # replaced by rename, never rewritten in place

    # Past the max TTL no renewal helps: a fresh JWT-SVID from the Workload API and a new login.
    agent.wait_for_log("access token logged in", count=2)
    assert workload_api.calls["FetchJWTSVID"] >= 2
    token_file = tmp_path / "run" / "token"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert reads_secrets(api, workload.project_id, token_file.read_text().strip())

    # A rendered file removed behind the agent's back comes back at the next poll.
    agent.output.unlink()
    agent.wait_for_file("DSN=postgres://two\nKEY=k1\nPRICE=$5\n")

    assert stop_process(agent.process) == 0
    assert "received SIGTERM, stopping" in agent.log() and agent.log().rstrip().endswith("stopped")
    assert "Traceback" not in agent.log()
    assert not [name for name in os.listdir(agent.output.parent) if name.endswith(".tmp")]


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator["ServerProcess"]:
    server = ServerProcess(tmp_path / "data", free_port())
    yield server
    server.stop()


class ServerProcess:
    """``strongroom server`` as its own process, on a fixed port and data folder, so it can be stopped and restarted."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = clean_environment(STRONGROOM_DATA_DIR=str(self.data_dir), STRONGROOM_LOG_LEVEL="warning",
                                STRONGROOM_ALLOW_INTERNAL_ISSUERS="true")  # the SPIRE stand-in is on loopback
        self.process = subprocess.Popen([STRONGROOM, "server", "--port", str(self.port)], env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up() -> bool:
            assert self.process is not None and self.process.poll() is None, "the server exited"
            try:
                return httpx.get(f"{self.url}/api/status", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=30, what="the server to start", interval=0.1)

    def stop(self) -> None:
        if self.process is not None:
            # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -15 is its clean exit.
            assert stop_process(self.process) in (0, -signal.SIGTERM)
            self.process = None


def test_agent_recovers_when_the_server_is_stopped_and_restarted(
        server_process: ServerProcess, provider: DiscoveryProvider, workload_api: WorkloadApiServer,
        tmp_path: Path, agents: list[RunningAgent]) -> None:
    server_process.start()
    http = httpx.Client(base_url=server_process.url, timeout=10)
    admin = http.post("/api/v1/admin/bootstrap", json={
        "email": "admin@example.org", "password": "correct horse battery", "organization": "Example"}).json()
    headers = {"Authorization": f"Bearer {admin['identity']['credentials']['token']}"}
    identity_id = http.post("/api/v1/identities", headers=headers, json={
        "name": "agent", "organizationId": admin["organization"]["id"]}).json()["identity"]["id"]
    attached = http.post(f"/api/v1/auth/oidc-auth/identities/{identity_id}", headers=headers, json={
        "oidcDiscoveryUrl": provider.url, "boundIssuer": provider.issuer, "boundAudiences": AUDIENCE,
        "boundSubject": "spiffe://example.org/workload/*", "accessTokenTTL": 2, "accessTokenMaxTTL": 60})
    assert attached.status_code == 200, attached.text
    project_id = http.post("/api/v2/workspace", headers=headers, json={"projectName": "p"}).json()["project"]["id"]
    assert http.post(f"/api/v2/workspace/{project_id}/identity-memberships/{identity_id}", headers=headers,
                     json={"role": "viewer"}).status_code == 200

    def set_dsn(value: str) -> None:
        written = http.patch("/api/v3/secrets/batch/raw", headers=headers, json={
            "workspaceId": project_id, "environment": "dev", "mode": "upsert",
            "secrets": [{"secretKey": "DSN", "secretValue": value}, {"secretKey": "db.key", "secretValue": "k"}]})
        assert written.status_code == 200, written.text

    set_dsn("one")
    agent = start_agent(agent_config(tmp_path, url=server_process.url, identity_id=identity_id,
                                     socket=workload_api.endpoint, project_id=project_id))
    agents.append(agent)
    agent.wait_for_file("DSN=one\nKEY=k\nPRICE=$5\n")

    server_process.stop()
    # Every token the agent holds was issued or renewed before the server stopped, so each has expired
    # two seconds later. Waiting for that (not for a number of backoffs, which a fast machine gets
    # through sooner) makes the agent meet an expired token when the server is back and log in again.
    last_issue_possible = time.monotonic()
    agent.wait_for_log("cannot reach Strongroom", count=3)
    assert agent.process.poll() is None  # still running
    time.sleep(max(0.0, last_issue_possible + 2.5 - time.monotonic()))
    server_process.start()
    set_dsn("two")

    agent.wait_for_file("DSN=two\nKEY=k\nPRICE=$5\n", timeout=20)
    assert stop_process(agent.process) == 0
    log = agent.log()
    assert "Traceback" not in log
    assert log.count("access token logged in") + log.count("logged in again") >= 2
    http.close()


@SQLITE_ONLY
def test_once_renders_and_exits_and_a_missing_secret_leaves_no_file(
        workload: Workload, tmp_path: Path) -> None:
    workload.set_secrets(DSN="d", **{"db.key": "k"})
    good = tmp_path / "good"
    good.mkdir()
    config = agent_config(good, url=workload.api.server.url, identity_id=workload.identity_id,
                          socket=workload.socket, project_id=workload.project_id)
    result = strongroom("agent", "--config", str(config), "--once")
    assert result.returncode == 0, result.stderr
    assert (good / "out" / "app.env").read_text() == "DSN=d\nKEY=k\nPRICE=$5\n"

    bad = tmp_path / "bad"
    bad.mkdir()
    config = agent_config(bad, url=workload.api.server.url, identity_id=workload.identity_id,
                          socket=workload.socket, project_id=workload.project_id, template="X=${NOT_A_SECRET}\n")
    result = strongroom("agent", "--config", str(config), "--once")
    assert result.returncode == 1
    assert "NOT_A_SECRET" in result.stderr and "Traceback" not in result.stderr
    assert not (bad / "out" / "app.env").exists()


@pytest.mark.parametrize(("text", "complaint"), [
    ("[auth\n", "not valid TOML"),
    ("[[templates]]\nproject='p'\nenvironment='dev'\ntemplate='x'\ndestination='o'\n", "[auth] section is required"),
    ("[auth]\nidentity-id='i'\n[[templates]]\nproject='p'\nenvironment='dev'\ntemplate='${'\ndestination='o'\n",
     "malformed placeholder"),
    ("[auth]\nidentity-id='i'\nmethod='password'\n", "method must be one of"),
    ("[auth]\nidentity-id='i'\n[retry]\nmax-backoff='soon'\n", "not a duration"),
    ("[auth]\nidentity-id='i'\ncolour='blue'\n", "unknown setting colour"),
])
def test_a_bad_config_is_a_one_line_error(tmp_path: Path, text: str, complaint: str) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(text)
    assert_one_line_error(strongroom("agent", "--config", str(config)), complaint)


def test_sigterm_stops_an_agent_that_is_waiting_for_its_workload_api(tmp_path: Path, short_tmp: Path,
                                                                     agents: list[RunningAgent]) -> None:
    config = agent_config(tmp_path, url=f"http://127.0.0.1:{free_port()}", identity_id="i",
                          socket=f"unix://{short_tmp}/not-yet.sock", project_id="p")
    agent = start_agent(config)
    agents.append(agent)
    agent.wait_for_log("does not exist", count=2)
    agent.process.send_signal(signal.SIGTERM)
    assert agent.process.wait(timeout=10) == 0
