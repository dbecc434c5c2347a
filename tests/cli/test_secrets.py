"""``strongroom secrets list|get|set|delete`` and ``strongroom export``, logged in with JWT-SVIDs from the
Workload API socket, against a running server."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from strongroom.spiffe.dev_spire import DiscoveryProvider
from strongroom.spiffe.workload_api import WorkloadApiServer
from tests.cli.conftest import (
    SQLITE_ONLY,
    Workload,
    assert_one_line_error,
    clean_environment,
    new_workload,
    strongroom,
)
from tests.conftest import Api

pytestmark = SQLITE_ONLY

TRICKY = "it's a \"quoted\" \\ value\nwith a second line $HOME"


def test_list_shows_expanded_secrets_with_imports(workload: Workload) -> None:
    workload.set_secrets(USER="app", PASSWORD="s3cret", DSN="postgres://${USER}:${PASSWORD}@db/app")
    result = strongroom("secrets", "list", "--json", *workload.args(), env=workload.env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"USER": "app", "PASSWORD": "s3cret", "DSN": "postgres://app:s3cret@db/app"}

    raw = strongroom("secrets", "list", "--json", "--no-expand", *workload.args(), env=workload.env())
    assert json.loads(raw.stdout)["DSN"] == "postgres://${USER}:${PASSWORD}@db/app"

    table = strongroom("secrets", "list", *workload.args(), env=workload.env())
    assert table.returncode == 0
    for text in ("SECRET NAME", "USER", "postgres://app:s3cret@db/app"):
        assert text in table.stdout


def test_a_folders_own_secret_overrides_an_imported_one(workload: Workload) -> None:
    api = workload.api
    for body in ({"secretKey": "SHARED", "secretValue": "from-staging"},
                 {"secretKey": "ONLY_STAGING", "secretValue": "yes"}):
        response = api.admin("POST", f"/api/v3/secrets/raw/{body['secretKey']}", json={
            "workspaceId": workload.project_id, "environment": "staging", "secretValue": body["secretValue"]})
        assert response.status_code == 200, response.text
    imported = api.admin("POST", "/api/v1/secret-imports", json={
        "workspaceId": workload.project_id, "environment": "dev", "path": "/",
        "import": {"environment": "staging", "path": "/"}})
    assert imported.status_code == 200, imported.text
    workload.set_secrets(SHARED="from-dev")
    result = strongroom("secrets", "list", "--json", *workload.args(), env=workload.env())
    assert json.loads(result.stdout) == {"SHARED": "from-dev", "ONLY_STAGING": "yes"}
    without = strongroom("secrets", "list", "--json", "--no-include-imports", *workload.args(), env=workload.env())
    assert json.loads(without.stdout) == {"SHARED": "from-dev"}


def test_get_prints_a_bare_value_or_key_value_lines(workload: Workload) -> None:
    workload.set_secrets(A="alpha", B="beta")
    one = strongroom("secrets", "get", "A", *workload.args(), env=workload.env())
    assert (one.returncode, one.stdout) == (0, "alpha\n")
    two = strongroom("secrets", "get", "A", "B", *workload.args(), env=workload.env())
    assert two.stdout == "A=alpha\nB=beta\n"
    missing = strongroom("secrets", "get", "NOPE", *workload.args(), env=workload.env())
    assert_one_line_error(missing, "NOPE", "not found")


def test_set_creates_and_updates_in_one_request_and_reads_files(workload: Workload, tmp_path: Path) -> None:
    workload.set_secrets(EXISTING="old")
    pem = tmp_path / "key.pem"
    pem.write_text("-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
    result = strongroom("secrets", "set", "EXISTING=new", "NEW=fresh", f"TLS_KEY=@{pem}", *workload.args(),
                        env=workload.env())
    assert result.returncode == 0, result.stderr
    assert workload.secret_values() == {"EXISTING": "new", "NEW": "fresh", "TLS_KEY": pem.read_text()}

    bad = strongroom("secrets", "set", "NO_EQUALS_SIGN", *workload.args(), env=workload.env())
    assert_one_line_error(bad, "NAME=value")


def test_delete_removes_all_or_nothing(workload: Workload) -> None:
    workload.set_secrets(A="1", B="2", C="3")
    refused = strongroom("secrets", "delete", "A", "MISSING", *workload.args(), env=workload.env())
    assert_one_line_error(refused, "MISSING")
    assert set(workload.secret_values()) == {"A", "B", "C"}
    deleted = strongroom("secrets", "delete", "A", "B", *workload.args(), env=workload.env())
    assert deleted.returncode == 0, deleted.stderr
    assert set(workload.secret_values()) == {"C"}


def test_a_viewer_cannot_write(api: Api, provider: DiscoveryProvider, workload_api: WorkloadApiServer) -> None:
    viewer = new_workload(api, provider, workload_api.endpoint, role="viewer")
    result = strongroom("secrets", "set", "A=1", *viewer.args(), env=viewer.env())
    assert_one_line_error(result, "403")


def test_export_formats(workload: Workload) -> None:
    workload.set_secrets(PLAIN="simple", TRICKY=TRICKY, NUMBERLIKE="0123", BOOLLIKE="yes")
    dotenv = strongroom("export", "--format", "dotenv", *workload.args(), env=workload.env())
    assert dotenv.returncode == 0, dotenv.stderr
    assert dotenv.stdout == (
        "BOOLLIKE='yes'\n"
        "NUMBERLIKE='0123'\n"
        "PLAIN='simple'\n"
        "TRICKY='it\\'s a \"quoted\" \\\\ value\nwith a second line $HOME'\n"
    )
    as_json = strongroom("export", "--format", "json", *workload.args(), env=workload.env())
    assert json.loads(as_json.stdout) == {"BOOLLIKE": "yes", "NUMBERLIKE": "0123", "PLAIN": "simple",
                                          "TRICKY": TRICKY}
    yaml = strongroom("export", "--format", "yaml", *workload.args(), env=workload.env())
    assert yaml.stdout.splitlines() == [
        '"BOOLLIKE": "yes"',  # quoted: YAML 1.1 would read a bare yes as true
        '"NUMBERLIKE": "0123"',
        '"PLAIN": "simple"',
        '"TRICKY": ' + json.dumps(TRICKY),
    ]
    # Each YAML line is a JSON-quoted key and value, which YAML's double-quoted scalars read the same way.
    assert {json.loads(k): json.loads(v) for k, v in (line.split(": ", 1) for line in yaml.stdout.splitlines())} \
        == json.loads(as_json.stdout)


def test_export_to_a_file_is_private(workload: Workload, tmp_path: Path) -> None:
    workload.set_secrets(A="1")
    target = tmp_path / "out" / "app.env"
    result = strongroom("export", "--output", str(target), *workload.args(), env=workload.env())
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "A='1'\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_an_expired_access_token_is_replaced_without_the_user_noticing(
        api: Api, provider: DiscoveryProvider, workload_api: WorkloadApiServer) -> None:
    workload = new_workload(api, provider, workload_api.endpoint, accessTokenTTL=1, accessTokenMaxTTL=1)
    workload.set_secrets(A="alpha")
    login = strongroom("login", "--identity-id", workload.identity_id, "--plain", env=workload.env())
    token = login.stdout.strip()
    time.sleep(1.5)
    assert workload.api.call(token, "GET", "/api/v3/secrets/raw", params={
        "workspaceId": workload.project_id, "environment": "dev"}).status_code == 403  # expired indeed

    # STRONGROOM_TOKEN from an earlier `strongroom login`, now expired: with an identity to log in as,
    # the CLI logs in again with a fresh JWT-SVID and the command just works.
    renewed = strongroom("secrets", "get", "A", *workload.args(), env=workload.env(STRONGROOM_TOKEN=token))
    assert (renewed.returncode, renewed.stdout, renewed.stderr) == (0, "alpha\n", "")
    assert workload_api.calls["FetchJWTSVID"] == 2

    # Without one, the user is told in one line.
    stuck = strongroom("secrets", "get", "A", "--project", workload.project_id,
                       env=clean_environment(STRONGROOM_API_URL=api.server.url, STRONGROOM_TOKEN=token))
    assert_one_line_error(stuck, "expired")
