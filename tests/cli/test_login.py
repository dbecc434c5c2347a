"""``strongroom login``: a JWT-SVID from the Workload API (or --jwt, --jwt-file) traded for an access token."""

from __future__ import annotations

import json
from pathlib import Path

import jwt

from strongroom.spiffe.dev_spire import JwtSvidAuthority
from strongroom.spiffe.workload_api import WorkloadApiServer
from tests.cli.conftest import SQLITE_ONLY, Workload, clean_environment, strongroom
from tests.conftest import AUDIENCE, SPIFFE_ID, Api

pytestmark = SQLITE_ONLY


def reads_secrets(workload: Workload, token: str) -> bool:
    response = workload.api.call(token, "GET", "/api/v3/secrets/raw",
                                 params={"workspaceId": workload.project_id, "environment": "dev"})
    return response.status_code == 200


def test_login_gets_its_svid_from_the_workload_api_and_prints_a_working_token(
        workload: Workload, workload_api: WorkloadApiServer) -> None:
    result = strongroom("login", "--identity-id", workload.identity_id, env=workload.env())
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout.count("\n") == 1 and reads_secrets(workload, token)
    assert "Logged in" in result.stderr and workload.identity_id in result.stderr
    assert workload_api.calls["FetchJWTSVID"] == 1
    assert jwt.decode(token, options={"verify_signature": False})["authMethod"] == "oidc-auth"


def test_plain_prints_only_the_token_and_json_prints_the_login_answer(workload: Workload) -> None:
    plain = strongroom("login", "--identity-id", workload.identity_id, "--plain", env=workload.env())
    assert plain.returncode == 0 and plain.stderr == ""
    assert reads_secrets(workload, plain.stdout.strip())

    as_json = strongroom("login", "--identity-id", workload.identity_id, "--json", env=workload.env())
    answer = json.loads(as_json.stdout)
    assert set(answer) == {"accessToken", "expiresIn", "accessTokenMaxTTL", "tokenType"}
    assert answer["tokenType"] == "Bearer" and answer["expiresIn"] > 0
    assert reads_secrets(workload, answer["accessToken"])


def test_socket_flag_takes_a_bare_path_or_a_unix_url(workload: Workload, workload_api: WorkloadApiServer) -> None:
    env = clean_environment(STRONGROOM_API_URL=workload.api.server.url)  # no SPIFFE_ENDPOINT_SOCKET
    for socket in (str(workload_api.socket_path), workload_api.endpoint):
        result = strongroom("login", "--identity-id", workload.identity_id, "--plain", "--spiffe-socket", socket,
                            env=env)
        assert result.returncode == 0, result.stderr
        assert reads_secrets(workload, result.stdout.strip())


def test_login_with_a_given_jwt_or_a_jwt_file(workload: Workload, authority: JwtSvidAuthority,
                                              tmp_path: Path) -> None:
    env = clean_environment(STRONGROOM_API_URL=workload.api.server.url)
    given = strongroom("login", "--identity-id", workload.identity_id, "--plain",
                       "--jwt", authority.mint(SPIFFE_ID, [AUDIENCE]), env=env)
    assert given.returncode == 0, given.stderr
    svid_file = tmp_path / "svid.jwt"
    svid_file.write_text(authority.mint(SPIFFE_ID, [AUDIENCE]) + "\n")
    from_file = strongroom("login", "--identity-id", workload.identity_id, "--plain", "--jwt-file", str(svid_file),
                           env=env)
    assert from_file.returncode == 0, from_file.stderr
    assert reads_secrets(workload, given.stdout.strip()) and reads_secrets(workload, from_file.stdout.strip())


def test_domain_flag_accepts_infisicals_api_suffix(workload: Workload) -> None:
    env = clean_environment(SPIFFE_ENDPOINT_SOCKET=workload.socket)
    result = strongroom("login", "--identity-id", workload.identity_id, "--plain",
                        "--domain", workload.api.server.url + "/api", env=env)
    assert result.returncode == 0, result.stderr


def test_spiffe_auth_login(api: Api, authority: JwtSvidAuthority, workload_api: WorkloadApiServer) -> None:
    identity_id = api.create_identity()
    attached = api.admin("POST", f"/api/v1/auth/spiffe-auth/identities/{identity_id}", json={
        "trustDomain": "example.org",
        "allowedSpiffeIds": "spiffe://example.org/workload/*",
        "allowedAudiences": AUDIENCE,
        "trustBundleDistribution": {"profile": "static", "bundle": json.dumps(authority.spiffe_bundle())},
    })
    assert attached.status_code == 200, attached.text
    env = clean_environment(SPIFFE_ENDPOINT_SOCKET=workload_api.endpoint, STRONGROOM_API_URL=api.server.url)
    result = strongroom("login", "--method", "spiffe-auth", "--identity-id", identity_id, "--json", env=env)
    assert result.returncode == 0, result.stderr
    token = json.loads(result.stdout)["accessToken"]
    assert jwt.decode(token, options={"verify_signature": False})["authMethod"] == "spiffe-auth"
