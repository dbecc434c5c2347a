"""Bad input to the CLI gets one ``error:`` line and a non-zero exit status, never a traceback."""

from __future__ import annotations

import uuid
from pathlib import Path

from strongroom.spiffe.workload_api import WorkloadApiServer
from tests.cli.conftest import (
    SQLITE_ONLY,
    Workload,
    assert_one_line_error,
    clean_environment,
    free_port,
    strongroom,
)

pytestmark = SQLITE_ONLY


def test_no_workload_api_socket_configured(workload: Workload) -> None:
    env = clean_environment(STRONGROOM_API_URL=workload.api.server.url)
    assert_one_line_error(strongroom("login", "--identity-id", workload.identity_id, env=env),
                          "no SPIFFE Workload API socket", "SPIFFE_ENDPOINT_SOCKET")
    assert_one_line_error(strongroom("secrets", "list", *workload.args(), env=env), "no SPIFFE Workload API socket")


def test_workload_api_socket_that_does_not_exist(workload: Workload, short_tmp: Path) -> None:
    env = workload.env(SPIFFE_ENDPOINT_SOCKET=f"unix://{short_tmp}/absent.sock")
    assert_one_line_error(strongroom("login", "--identity-id", workload.identity_id, env=env),
                          "does not exist", "absent.sock")


def test_workload_api_socket_that_is_not_a_unix_socket(workload: Workload) -> None:
    env = workload.env(SPIFFE_ENDPOINT_SOCKET="tcp://127.0.0.1:8081")
    assert_one_line_error(strongroom("login", "--identity-id", workload.identity_id, env=env), "only unix sockets")


def test_wrong_audience(workload: Workload, workload_api: WorkloadApiServer) -> None:
    result = strongroom("login", "--identity-id", workload.identity_id, "--audience", "not-strongroom",
                        env=workload.env())
    assert_one_line_error(result, "401", "audience")
    assert workload_api.calls["FetchJWTSVID"] == 1  # the SVID was fetched; the server refused it


def test_unknown_project(workload: Workload) -> None:
    unknown = str(uuid.uuid4())
    result = strongroom("secrets", "list", "--identity-id", workload.identity_id, "--project", unknown,
                        env=workload.env())
    assert_one_line_error(result, "404", unknown)
    run = strongroom("run", "--identity-id", workload.identity_id, "--project", unknown, "--", "true",
                     env=workload.env())
    assert_one_line_error(run, "404")


def test_server_down(workload: Workload) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for args in (("login", "--identity-id", workload.identity_id),
                 ("secrets", "list", *workload.args()),
                 ("export", *workload.args()),
                 ("run", *workload.args(), "--domain", down, "--", "true")):
        result = strongroom(*args, env=workload.env(STRONGROOM_API_URL=down))
        assert_one_line_error(result, f"cannot reach Strongroom at {down}")


def test_unknown_identity_and_login_method(workload: Workload) -> None:
    assert_one_line_error(strongroom("login", "--identity-id", str(uuid.uuid4()), env=workload.env()), "404")
    assert_one_line_error(strongroom("login", "--identity-id", workload.identity_id, "--method", "password",
                                     env=workload.env()), "unknown login method")


def test_no_credentials_at_all(workload: Workload) -> None:
    result = strongroom("secrets", "list", "--project", workload.project_id,
                        env=clean_environment(STRONGROOM_API_URL=workload.api.server.url))
    assert_one_line_error(result, "no credentials", "--token", "--identity-id")


def test_unreadable_jwt_file_and_unknown_export_format(workload: Workload, tmp_path: Path) -> None:
    assert_one_line_error(strongroom("login", "--identity-id", workload.identity_id,
                                     "--jwt-file", str(tmp_path / "missing.jwt"), env=workload.env()),
                          "cannot read the JWT-SVID file")
    assert_one_line_error(strongroom("export", "--format", "xml", *workload.args(), env=workload.env()),
                          "unknown format")
